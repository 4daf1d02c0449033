"""The connected SQL stores a sweep reaches, and their tables bound to the real schema.

:func:`sweep_stores` reads the stores file (validated by :func:`tutela.dsr.stores.load_stores`)
and keeps, for each ``sql`` store, its dataset, its URL and the connector itself (the
connector finds a held person's rows). :func:`bind_store` reflects the dataset's
tables once per sweep, picks each field's erasure strategy the way an erasure
request does (:func:`~tutela.connectors.builtin.sql_erase.plan_store`) and finds
every foreign key that points at a table, so that a parent row is never deleted
while a child row still refers to it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import sqlalchemy as sa
import yaml
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Engine

from tutela.config import Settings
from tutela.connectors import Connector, Dataset, StoreUnavailable, create
from tutela.connectors.builtin.sql_erase import TablePlan, plan_store
from tutela.connectors.builtin.sql_errors import described
from tutela.connectors.builtin.sql_schema import BoundSchema, BoundTable, bind_schema
from tutela.connectors.strategy import ErasureKey
from tutela.crypto import MasterKey
from tutela.dsr.stores import load_stores
from tutela.errors import ConfigurationError, StorageUnavailable
from tutela.retention.rules import Rule
from tutela.storage import make_engine

__all__ = ["BoundStore", "Child", "SweepStore", "bind_store", "column_problems", "sweep_stores"]


@dataclass(frozen=True, slots=True)
class SweepStore:
    """One SQL store as a sweep sees it."""

    name: str
    url: str
    dataset: Dataset
    connector: Connector
    db_schema: str | None = None
    key: ErasureKey | None = None

    @classmethod
    def sql(
        cls,
        *,
        name: str,
        url: str,
        dataset: Dataset | str | Path,
        master: MasterKey | None,
        schema: str | None = None,
    ) -> SweepStore:
        config: dict[str, Any] = {"name": name, "url": url, "dataset": dataset}
        if master is not None:
            config["master_key"] = master
        if schema is not None:
            config["schema"] = schema
        connector = create("sql", config)
        found = _dataset_of(connector)
        key = ErasureKey.for_store(master, name) if master is not None else None
        return cls(name, url, found, connector, schema, key)


def _dataset_of(connector: Connector) -> Dataset:
    dataset = getattr(connector, "dataset", None)
    if not isinstance(dataset, Dataset):
        raise ConfigurationError(
            f"The store {connector.name!r} is of kind sql but has no dataset; name one in "
            "the stores file.",
            field="stores_file",
        )
    return dataset


def sweep_stores(settings: Settings, *, master: MasterKey) -> tuple[SweepStore, ...]:
    """The ``sql`` stores of the stores file (others hold no tables a sweep could reach)."""
    connectors = {store.name: store for store in load_stores(settings, master=master)}
    path = settings.resolved_stores_file.expanduser()
    entries = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    stores: list[SweepStore] = []
    for entry in entries:
        if entry.get("kind") != "sql":
            continue
        config = entry.get("config") or {}
        connector = connectors[entry["name"]]
        dataset = _dataset_of(connector)
        stores.append(
            SweepStore(
                name=connector.name,
                url=str(config["url"]),
                dataset=dataset,
                connector=connector,
                db_schema=config.get("schema"),
                key=ErasureKey.for_store(master, connector.name),
            )
        )
    return tuple(stores)


@dataclass(frozen=True, slots=True)
class Child:
    """Rows of ``table`` refer to the parent through ``columns`` → ``parent_columns``."""

    name: str
    table: sa.TableClause
    columns: tuple[str, ...]
    parent_columns: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class BoundStore:
    store: SweepStore
    engine: Engine
    schema: BoundSchema
    plans: Mapping[str, TablePlan]
    children: Mapping[str, tuple[Child, ...]]
    order: tuple[str, ...]
    """The dataset's tables, every child before the parents it refers to."""

    def table(self, name: str) -> BoundTable:
        return self.schema.tables[name]

    def close(self) -> None:
        self.engine.dispose()


def _children(
    conn: sa.Connection, schema: BoundSchema, db_schema: str | None
) -> dict[str, list[Child]]:
    found: dict[str, list[Child]] = {}
    seen: set[tuple[str, tuple[str, ...], str]] = set()

    def add(child: str, columns: Sequence[str], parent: str, parents: Sequence[str]) -> None:
        mark = (child, tuple(columns), parent)
        if mark in seen:
            return
        seen.add(mark)
        clause = sa.table(child, *(sa.column(c) for c in columns), schema=db_schema)
        found.setdefault(parent, []).append(Child(child, clause, tuple(columns), tuple(parents)))

    multi = sa.inspect(conn).get_multi_foreign_keys(schema=db_schema)
    for (_schema, child), keys in multi.items():
        for key in keys:
            if key["referred_table"] in schema.tables and key["constrained_columns"]:
                add(
                    child,
                    key["constrained_columns"],
                    key["referred_table"],
                    key["referred_columns"],
                )
    for link in schema.dataset.links:
        parent = schema.tables.get(link.source_table)
        if parent is not None and parent.primary_key == (link.source_column,):
            add(link.target_table, (link.target_column,), link.source_table, (link.source_column,))
    return found


def bind_store(store: SweepStore) -> BoundStore:
    """Reflect the store's tables; StoreUnavailable when it cannot be reached."""
    try:
        engine = make_engine(store.url, check=False)
    except StorageUnavailable as error:  # a missing folder: the text names only the path
        raise _unavailable(store, error.detail) from None
    try:
        with engine.connect() as conn:
            schema = bind_schema(conn, store.dataset, schema=store.db_schema)
            children = _children(conn, schema, store.db_schema)
    except (sa_exc.OperationalError, sa_exc.InterfaceError) as error:
        engine.dispose()
        raise _unavailable(store, described(error)) from None
    except Exception:
        engine.dispose()
        raise
    tables = [bound.table for bound in schema.tables.values()]
    names = {bound.table.key: name for name, bound in schema.tables.items()}
    parents_first = [names[t.key] for t in sa.schema.sort_tables(tables)]
    return BoundStore(
        store=store,
        engine=engine,
        schema=schema,
        plans=MappingProxyType(plan_store(schema, keyed=store.key is not None)),
        children=MappingProxyType({k: tuple(v) for k, v in children.items()}),
        order=tuple(reversed(parents_first)),
    )


def _unavailable(store: SweepStore, why: str) -> StoreUnavailable:
    return StoreUnavailable(
        f"The store {store.name!r} cannot be reached: {why}. Check that the "
        "database is running and the URL in the stores file is right; the next sweep "
        "tries its rules again (a sweep that was interrupted retries them when resumed).",
        store=store.name,
    )


def column_problems(rule: Rule, bound: BoundStore) -> list[str]:
    """Columns the rule dates rows by that the table lacks or that hold no dates."""
    table = bound.table(rule.table).table
    problems: list[str] = []
    wanted = [*(e.column for e in rule.expiries), *(k.column for k in rule.keeps)]
    for name in dict.fromkeys(wanted):
        if name not in table.c:
            problems.append(
                f"table {rule.key} has no column {name!r} to date its rows; fix dates or "
                "hold_from in the retention mapping"
            )
        elif not isinstance(table.c[name].type, sa.Date | sa.DateTime | sa.String):
            problems.append(
                f"{rule.key}.{name} holds {type(table.c[name].type).__name__}, not a date, "
                "timestamp or ISO text; date the rows by another column"
            )
    if not bound.table(rule.table).primary_key:
        problems.append(
            f"table {rule.key} has no primary key, which a sweep needs to work in chunks; "
            "declare primary_key in the dataset"
        )
    return problems
