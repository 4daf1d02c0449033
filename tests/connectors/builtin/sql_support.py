"""Reading a SQL store behind the connector's back, and making it fail on purpose."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event, exc
from sqlalchemy.engine import Engine

from tutela.connectors.dataset import Dataset

Key = tuple[str, tuple[Any, ...]]


def primary_keys(url: str, dataset: Dataset) -> dict[str, tuple[str, ...]]:
    engine = sa.create_engine(url)
    try:
        inspector = sa.inspect(engine)
        return {
            name: spec.primary_key
            or tuple(inspector.get_pk_constraint(name)["constrained_columns"])
            for name, spec in dataset.tables.items()
        }
    finally:
        engine.dispose()


def read_state(url: str, dataset: Dataset) -> dict[Key, dict[str, Any]]:
    """Every row of every dataset table: its declared personal fields by primary key."""
    keys = primary_keys(url, dataset)
    engine = sa.create_engine(url)
    state: dict[Key, dict[str, Any]] = {}
    try:
        with engine.connect() as conn:
            meta = sa.MetaData()
            meta.reflect(conn, only=list(dataset.tables))
            for name, spec in dataset.tables.items():
                table = meta.tables[name]
                personal = [f.name for f in spec.personal_fields]
                columns = [table.c[c] for c in (*keys[name], *personal)]
                for row in conn.execute(sa.select(*columns)):
                    values = dict(row._mapping)
                    key = tuple(values[c] for c in keys[name])
                    state[(name, key)] = {f: values[f] for f in personal}
    finally:
        engine.dispose()
    return state


def read_marks(url: str, dataset: Dataset) -> dict[Key, Any]:
    """The restriction marker of every row of tables that have one."""
    keys = primary_keys(url, dataset)
    engine = sa.create_engine(url)
    marks: dict[Key, Any] = {}
    try:
        with engine.connect() as conn:
            meta = sa.MetaData()
            meta.reflect(conn, only=list(dataset.tables))
            for name, spec in dataset.tables.items():
                if spec.restriction is None:
                    continue
                table = meta.tables[name]
                columns = [table.c[c] for c in (*keys[name], spec.restriction)]
                for row in conn.execute(sa.select(*columns)):
                    values = tuple(row)
                    marks[(name, tuple(values[:-1]))] = values[-1]
    finally:
        engine.dispose()
    return marks


def record_key_for(url: str, dataset: Dataset) -> Callable[[str, dict[str, Any]], tuple[Any, ...]]:
    keys = primary_keys(url, dataset)

    def record_key(table: str, row: dict[str, Any]) -> tuple[Any, ...]:
        return tuple(row[c] for c in keys[table])

    return record_key


@contextlib.contextmanager
def failing_after(writes: int) -> Iterator[None]:
    """Make the write statement after the first ``writes`` ones fail, on every engine."""
    seen = 0

    def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        nonlocal seen
        if statement.lstrip().upper().startswith(("UPDATE", "DELETE")):
            seen += 1
            if seen > writes:
                raise exc.IntegrityError(statement, None, Exception("injected failure"))

    event.listen(Engine, "before_cursor_execute", before)
    try:
        yield
    finally:
        event.remove(Engine, "before_cursor_execute", before)
