"""One chunk of a rule in the store: set-based, bounded, and resumable by key.

A chunk is a range of the primary key: it starts at the first target row after the
key the last committed chunk reached and ends ``size`` rows of the table later
(found from the key alone). One statement then works on ``target AND key >= start
AND key <= end``, reading each row of the range once:

* ``DELETE`` for ``delete_row`` rules;
* ``UPDATE … SET column = NULL | mask`` for the ``null`` and ``mask`` strategies;
* ``hash`` and ``pseudonym`` need a keyed HMAC, which neither SQLite nor a plain
  PostgreSQL computes, so those columns are read and written back for the chunk's
  rows only (``executemany`` by key) — bounded by the chunk, never the table.

Redoing a chunk (after a crash between the store's commit and the checkpoint's)
changes nothing more: deleted rows are gone, erased values stay erased.
"""

from __future__ import annotations

import datetime as dt
import json
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tutela.connectors.builtin.sql_schema import coerce
from tutela.connectors.strategy import ErasureKey, Strategy, already_erased
from tutela.retention.conditions import RuleSql

__all__ = ["Chunk", "dump_key", "load_key", "run_chunk"]

RETENTION_PERSON = b"tutela/v1/retention"
"""The pseudonym anchor of sweeps: equal values in a table get equal pseudonyms."""


@dataclass(frozen=True, slots=True)
class Chunk:
    rows: int
    last_key: tuple[Any, ...] | None
    """Where the chunk ended; None when the rule had no target rows left."""


def dump_key(key: tuple[Any, ...]) -> str:
    """A chunk's position as JSON (dates and timestamps as ISO text)."""
    return json.dumps([v if isinstance(v, int | str) else _text(v) for v in key])


def _text(value: Any) -> str:
    return value.isoformat() if isinstance(value, dt.date) else str(value)


def load_key(sql: RuleSql, text: str | None) -> tuple[Any, ...] | None:
    """The position :func:`dump_key` wrote, in the columns' own types."""
    if text is None:
        return None
    values = json.loads(text)
    return tuple(coerce(column, value) for column, value in zip(sql.walk, values, strict=True))


_OPERATORS: dict[str, Callable[[Any, Any], Any]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<=": operator.le,
}


def _compare(columns: Sequence[sa.Column[Any]], key: tuple[Any, ...], op: str) -> Any:
    """``key_columns op key``: one column, or a row value for a key of several."""
    compare = _OPERATORS[op]
    if len(columns) == 1:
        return compare(columns[0], key[0])
    bounds = sa.tuple_(
        *(sa.bindparam(None, value, type_=c.type) for c, value in zip(columns, key, strict=True))
    )
    return compare(sa.tuple_(*columns), bounds)


def _rewrite(
    conn: Connection, sql: RuleSql, where: sa.ColumnElement[bool], key: ErasureKey | None
) -> None:
    bound = sql.bound
    if key is None:
        return
    keys = [bound.column(name) for name in bound.primary_key]
    values = [bound.column(f.column) for f in sql.rewrites]
    statement = (
        sa.update(bound.table)
        .where(*(c == sa.bindparam(f"k{i}") for i, c in enumerate(keys)))
        .values({f.column: sa.bindparam(f"v{i}") for i, f in enumerate(sql.rewrites)})
    )
    params: list[dict[str, Any]] = []
    for row in conn.execute(sa.select(*keys, *values).where(where)):
        old = row[len(keys) :]
        new = []
        for plan, value in zip(sql.rewrites, old, strict=True):
            strategy = plan.strategy or Strategy.KEEP
            if already_erased(strategy, value, mask=plan.mask):
                new.append(value)
            elif strategy is Strategy.HASH:
                new.append(key.hash(value))
            else:
                new.append(key.pseudonym(value, person=RETENTION_PERSON))
        entry = {f"k{i}": v for i, v in enumerate(row[: len(keys)])}
        entry.update({f"v{i}": v for i, v in enumerate(new)})
        params.append(entry)
    if params:
        conn.execute(statement, params)


def run_chunk(
    conn: Connection,
    sql: RuleSql,
    *,
    after: tuple[Any, ...] | None,
    size: int,
    key: ErasureKey | None,
    dense: bool = True,
) -> Chunk:
    """Work on the target rows of the next key range of ``size`` rows (in the store's transaction).

    The range starts at the first target row after ``after`` and ends ``size`` rows of
    the table later (target or not), so a chunk never touches more than ``size`` rows;
    the statement that changes the rows reads each of them once. For a single integer
    key the end is ``start + size - 1`` (no query; the keys are distinct integers, so
    the range holds at most ``size`` rows); where such ranges turned out sparse
    (``dense`` False) the end is the ``size``-th key from the start instead.
    """
    bound = sql.bound
    keys = list(sql.walk)
    where: list[sa.ColumnElement[bool]] = [sql.target]
    if after is not None:
        where.append(_compare(keys, after, ">"))
    first = conn.execute(sa.select(*keys).where(*where).order_by(*keys).limit(1)).first()
    if first is None:
        return Chunk(0, None)
    start = tuple(first)
    upper: Any = None
    if dense and len(keys) == 1 and isinstance(keys[0].type, sa.Integer):
        upper = (int(start[0]) + size - 1,)
    else:
        upper = conn.execute(
            sa.select(*keys)
            .where(_compare(keys, start, ">="))
            .order_by(*keys)
            .offset(size - 1)
            .limit(1)
        ).first()
    if upper is None:
        upper = conn.execute(
            sa.select(*keys).order_by(*(column.desc() for column in keys)).limit(1)
        ).first()
    last = tuple(upper) if upper is not None else start
    within = sa.and_(sql.target, _compare(keys, start, ">="), _compare(keys, last, "<="))
    if sql.rule.delete_rows:
        rows = int(conn.execute(sa.delete(bound.table).where(within)).rowcount)
        return Chunk(rows, last)
    rows = int(
        conn.execute(sa.select(sa.func.count()).select_from(bound.table).where(within)).scalar_one()
    )
    if sql.rewrites:
        _rewrite(conn, sql, within, key)
    if sql.updates:
        conn.execute(sa.update(bound.table).where(within).values(sql.updates))
    return Chunk(rows, last)
