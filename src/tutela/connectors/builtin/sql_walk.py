"""Finding a person's rows: identity seeds, then references, breadth-first.

The walk starts with the tables that have identity fields (``email IN (…)``),
then follows each link from the rows found to the rows they lead to, until no new
values turn up. Values go to the database in IN-lists of ``chunk`` values (never one
query per row) and rows come back in batches of ``batch`` through a streaming
cursor, so memory holds only the link values still to follow — not the rows.
"""

from __future__ import annotations

from collections.abc import Generator, Iterable, Iterator, Mapping, Sequence
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tutela.connectors.base import StoreError
from tutela.connectors.builtin.sql_schema import BoundSchema, BoundTable, coerce
from tutela.connectors.identities import IdentitySet

__all__ = ["ConditionKey", "Walk", "pack", "where_clause"]

ConditionKey = tuple[str, bool]
"""A column and whether it is compared case-insensitively."""
_CACHE = "tutela.walk.statements"


def pack(
    conditions: Mapping[ConditionKey, Iterable[Any]], chunk: int
) -> list[dict[ConditionKey, list[Any]]]:
    """Split the values of several columns into groups of at most ``chunk`` values."""
    groups: list[dict[ConditionKey, list[Any]]] = []
    current: dict[ConditionKey, list[Any]] = {}
    size = 0
    for key, values in conditions.items():
        for value in values:
            if size >= chunk:
                groups.append(current)
                current, size = {}, 0
            current.setdefault(key, []).append(value)
            size += 1
    if current:
        groups.append(current)
    return groups


def selection(
    bound: BoundTable, columns: Sequence[sa.Column[Any]], keys: tuple[ConditionKey, ...]
) -> sa.Select[Any]:
    """``SELECT columns WHERE key_1 IN :v0 OR …``, built once per table, columns and keys.

    The values go in as expanding parameters ``v0``, ``v1`` … in the order of ``keys``;
    the statement is kept in the table's ``info`` so later walks skip building it.
    """
    cache: dict[tuple[Any, ...], sa.Select[Any]] = bound.table.info.setdefault(_CACHE, {})
    wanted = (tuple(column.name for column in columns), keys)
    statement = cache.get(wanted)
    if statement is None:
        parts: list[sa.ColumnElement[bool]] = []
        for position, (column, casefold) in enumerate(keys):
            target: sa.ColumnElement[Any] = bound.column(column)
            if casefold:
                target = sa.func.lower(target)
            parts.append(target.in_(sa.bindparam(f"v{position}", expanding=True)))
        statement = sa.select(*columns).where(sa.or_(*parts))
        cache[wanted] = statement
    return statement


def values_of(
    keys: tuple[ConditionKey, ...], group: Mapping[ConditionKey, list[Any]]
) -> dict[str, list[Any]]:
    """The parameters of :func:`selection` for one group of values."""
    return {f"v{position}": list(group[key]) for position, key in enumerate(keys)}


def where_clause(
    bound: BoundTable, group: Mapping[ConditionKey, list[Any]]
) -> sa.ColumnElement[bool]:
    """``col_a IN (…) OR lower(col_b) IN (…)`` for one group of values."""
    parts: list[sa.ColumnElement[bool]] = []
    for (column, casefold), values in group.items():
        target: sa.ColumnElement[Any] = bound.column(column)
        if casefold:
            target = sa.func.lower(target)
        parts.append(target.in_(values))
    return sa.or_(*parts)


class Walk:
    """One search for a person's rows in one store (use once).

    ``full`` selects whole rows (access); otherwise only the key and link columns
    (erasure, rectification, restriction). After :meth:`rows` is exhausted,
    :attr:`conditions` holds, per table, the column values that select the person's
    rows and :attr:`found` the number of rows per table.
    """

    def __init__(
        self,
        conn: Connection,
        schema: BoundSchema,
        identities: IdentitySet,
        *,
        full: bool,
        chunk: int = 500,
        batch: int = 1000,
    ) -> None:
        self.conn = conn
        self.schema = schema
        self.full = full
        self.chunk = chunk
        self.batch = batch
        self.conditions: dict[str, dict[ConditionKey, set[Any]]] = {}
        self.found: dict[str, int] = {}
        self._pending: dict[str, dict[ConditionKey, set[Any]]] = {}
        self._seen: dict[str, set[tuple[Any, ...]]] = {}
        self._multi = self._tables_with_several_keys()
        self._seed(identities)
        self._check_one_person()

    def _tables_with_several_keys(self) -> set[str]:
        keys: dict[str, set[ConditionKey]] = {}
        for name in self.schema.walk_order:
            for spec in self.schema.tables[name].spec.identity_fields:
                keys.setdefault(name, set()).add((spec.name, spec.casefold))
        for link in self.schema.dataset.links:
            keys.setdefault(link.target_table, set()).add((link.target_column, False))
        return {name for name, found in keys.items() if len(found) > 1}

    def _seed(self, identities: IdentitySet) -> None:
        for name in self.schema.walk_order:
            bound = self.schema.tables[name]
            for spec in bound.spec.identity_fields:
                values = identities.get(spec.identity or "")
                if not values:
                    continue
                column = bound.column(spec.name)
                for value in values:
                    wanted = value.casefold() if spec.casefold else coerce(column, value)
                    if wanted is not None:
                        self._add(name, (spec.name, spec.casefold), wanted)

    def _check_one_person(self) -> None:
        """Refuse identities that select more than one record of a table others hang on.

        A table whose primary key other tables follow (customers → orders) holds one
        row per person; when the identities match two of its rows (a shared phone
        number, an email of one customer and a phone of another), the walk would
        gather two people's data. It stops instead, so staff decide.
        """
        for name, pending in self._pending.items():
            bound = self.schema.tables[name]
            keys = bound.primary_key
            followed = {link.source_column for link in self.schema.dataset.links_from(name)}
            if not keys or not followed & set(keys):
                continue
            columns = [bound.column(key) for key in keys]
            group = {key: list(values) for key, values in pending.items()}
            order = tuple(group)
            statement = selection(bound, columns, order).limit(2)
            if len(self.conn.execute(statement, values_of(order, group)).all()) > 1:
                raise StoreError(
                    f"The identities given match more than one record of table {name!r}; "
                    "they do not name one person. Staff must decide which record the "
                    "request is about before anything is read or changed."
                )

    def _add(self, table: str, key: ConditionKey, value: Any) -> None:
        if value in self.conditions.get(table, {}).get(key, ()):
            return
        self._pending.setdefault(table, {}).setdefault(key, set()).add(value)

    def _next_table(self) -> str | None:
        for name in self.schema.walk_order:
            if self._pending.get(name):
                return name
        return None

    def _columns(self, bound: BoundTable) -> list[sa.Column[Any]]:
        if self.full:
            return list(bound.table.columns)
        names = dict.fromkeys(bound.primary_key)
        for link in self.schema.dataset.links_from(bound.name):
            names[link.source_column] = None
        if not names:
            names[next(iter(bound.table.c.keys()))] = None
        return [bound.column(name) for name in names]

    def rows(self) -> Iterator[tuple[str, Mapping[str, Any]]]:
        """Yield ``(table, row)`` for every row found (whole rows only when ``full``)."""
        while (name := self._next_table()) is not None:
            bound = self.schema.tables[name]
            new = self._pending.pop(name)
            known = self.conditions.setdefault(name, {})
            for key, values in new.items():
                known.setdefault(key, set()).update(values)
            yield from self._query(bound, new)

    def run(self) -> None:
        for _ in self.rows():
            pass

    def _fetch(
        self, statement: sa.Select[Any], values: dict[str, list[Any]]
    ) -> Generator[sa.Row[Any], None, None]:
        """Rows of ``statement``: one round trip when they fit in a batch, else streamed.

        A first query asks for one row more than a batch; most people have few rows
        per table, so that is all. If it comes back full, the query runs again through
        a streaming (server-side) cursor, so memory never holds more than a batch.
        """
        probe = self.conn.execute(statement.limit(self.batch + 1), values).all()
        if len(probe) <= self.batch:
            yield from probe
            return
        del probe
        result = self.conn.execute(statement.execution_options(yield_per=self.batch), values)
        try:
            yield from result
        finally:
            result.close()

    def _query(
        self, bound: BoundTable, new: Mapping[ConditionKey, set[Any]]
    ) -> Iterator[tuple[str, Mapping[str, Any]]]:
        name = bound.name
        links = self.schema.dataset.links_from(name)
        dedup = name in self._multi and bool(bound.primary_key)
        seen = self._seen.setdefault(name, set()) if dedup else None
        columns = self._columns(bound)
        for group in pack(new, self.chunk):
            order = tuple(group)
            rows = self._fetch(selection(bound, columns, order), values_of(order, group))
            try:
                for row in rows:
                    mapping = cast("Mapping[str, Any]", row._mapping)
                    if seen is not None:
                        identity = tuple(mapping[column] for column in bound.primary_key)
                        if identity in seen:
                            continue
                        seen.add(identity)
                    self.found[name] = self.found.get(name, 0) + 1
                    for link in links:
                        value = mapping[link.source_column]
                        if value is not None:
                            target = self.schema.tables[link.target_table]
                            wanted = coerce(target.column(link.target_column), value)
                            if wanted is not None:
                                self._add(link.target_table, (link.target_column, False), wanted)
                    if self.full:
                        yield name, mapping
            finally:
                rows.close()


def _matches(value: Any, key: ConditionKey, values: set[Any]) -> bool:
    if value is None:
        return False
    if key[1] and isinstance(value, str):
        value = value.casefold()
    return value in values


def release_shared(walk: Walk) -> list[tuple[str, str, int]]:
    """Drop rows that other people's rows also point at from ``walk.conditions``.

    A link such as ``orders.shipping_address_id → address.id`` may lead to a row that
    another person's order uses too; erasing or changing it would change their data.
    Returns ``(table, "source.column", rows)`` for every table with rows left out.
    """
    released: list[tuple[str, str, int]] = []
    for link in walk.schema.dataset.links:
        key: ConditionKey = (link.target_column, False)
        values = walk.conditions.get(link.target_table, {}).get(key)
        target = walk.schema.tables[link.target_table]
        if not values or not target.spec.personal_fields:
            continue
        source = walk.schema.tables[link.source_table]
        mine = walk.conditions.get(link.source_table, {})
        keys = list(mine)
        pointer = source.column(link.source_column)
        columns = [pointer, *(source.column(column) for column, _ in keys)]
        shared: set[Any] = set()
        for group in pack({key: values}, walk.chunk):
            for row in walk.conn.execute(sa.select(*columns).where(pointer.in_(group[key]))):
                if not any(_matches(row[i + 1], k, mine[k]) for i, k in enumerate(keys)):
                    shared.add(coerce(target.column(link.target_column), row[0]))
        shared &= values
        if not shared:
            continue
        values -= shared
        if not values:
            del walk.conditions[link.target_table][key]
        rows = 0
        for group in pack({key: shared}, walk.chunk):
            statement = sa.select(sa.func.count()).select_from(target.table)
            rows += int(
                walk.conn.execute(statement.where(where_clause(target, group))).scalar_one()
            )
        released.append((link.target_table, f"{link.source_table}.{link.source_column}", rows))
    return released
