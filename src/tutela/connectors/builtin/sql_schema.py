"""The dataset laid over a real database: reflected tables, checked names, column facts.

Every table and column the dataset names must exist in the reflected schema; SQL is
then built only from reflected ``Table``/``Column`` objects, so identifiers are
quoted by SQLAlchemy and every value is a bound parameter.
"""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tutela.connectors.dataset import Dataset, TableSpec
from tutela.connectors.strategy import ColumnFacts
from tutela.errors import ConfigurationError

__all__ = ["BoundSchema", "BoundTable", "bind_schema", "coerce", "date_value", "year_of"]


@dataclass(frozen=True, slots=True)
class BoundTable:
    spec: TableSpec
    table: sa.Table
    primary_key: tuple[str, ...]
    facts: Mapping[str, ColumnFacts]

    @property
    def name(self) -> str:
        return self.spec.name

    def column(self, name: str) -> sa.Column[Any]:
        return self.table.c[name]


@dataclass(frozen=True, slots=True)
class BoundSchema:
    dataset: Dataset
    tables: Mapping[str, BoundTable]
    walk_order: tuple[str, ...]
    delete_order: tuple[str, ...]
    """Tables whose rows may be deleted, children before the parents they point at."""


def _facts(column: sa.Column[Any], unique: set[str], referenced: set[str]) -> ColumnFacts:
    kind = column.type
    text = isinstance(kind, sa.String) and not isinstance(kind, sa.Enum)
    length = getattr(kind, "length", None) if text else None
    return ColumnFacts(
        nullable=bool(column.nullable) and not column.primary_key,
        text=text,
        length=length,
        primary_key=column.primary_key,
        unique=column.name in unique,
        referenced=column.name in referenced,
        type_name=str(kind.__class__.__name__),
    )


def _unique_columns(table: sa.Table) -> set[str]:
    found: set[str] = set()
    for constraint in table.constraints:
        if isinstance(constraint, sa.UniqueConstraint) and len(constraint.columns) == 1:
            found.update(column.name for column in constraint.columns)
    for index in table.indexes:
        if index.unique and len(index.columns) == 1:
            found.update(column.name for column in index.columns)
    return found


def bind_schema(conn: Connection, dataset: Dataset, *, schema: str | None = None) -> BoundSchema:
    """Reflect the dataset's tables and check every name; raise ConfigurationError listing all."""
    inspector = sa.inspect(conn)
    existing = set(inspector.get_table_names(schema=schema))
    problems: list[str] = []
    for name, spec in dataset.tables.items():
        if name not in existing:
            problems.append(
                f"{spec.where}: the database has no table {name!r}; create it or fix the name "
                "in the dataset"
            )
    if problems:
        raise _mismatch(dataset, problems)
    metadata = sa.MetaData(schema=schema)
    metadata.reflect(bind=conn, only=list(dataset.tables))
    referenced = _referenced_columns(inspector, schema)
    bound: dict[str, BoundTable] = {}
    for name, spec in dataset.tables.items():
        table = metadata.tables[f"{schema}.{name}" if schema else name]
        problems.extend(_check_table(spec, table))
        unique = _unique_columns(table)
        facts = {
            column.name: _facts(column, unique, referenced.get(name, set()))
            for column in table.columns
        }
        key = spec.primary_key or tuple(column.name for column in table.primary_key.columns)
        bound[name] = BoundTable(spec, table, key, MappingProxyType(facts))
    problems.extend(_check_links(dataset, bound))
    if problems:
        raise _mismatch(dataset, problems)
    ordered = [t.table for t in bound.values()]
    by_table = {t.table.key: t.name for t in bound.values()}
    parents_first = [by_table[table.key] for table in sa.schema.sort_tables(ordered)]
    deleting = [name for name in reversed(parents_first) if bound[name].spec.delete_rows]
    return BoundSchema(
        dataset=dataset,
        tables=MappingProxyType(bound),
        walk_order=dataset.walk_order(),
        delete_order=tuple(deleting),
    )


def _referenced_columns(inspector: Any, schema: str | None) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    multi = inspector.get_multi_foreign_keys(schema=schema)
    for keys in multi.values():
        for key in keys:
            target = found.setdefault(key["referred_table"], set())
            target.update(key["referred_columns"])
    return found


def _check_table(spec: TableSpec, table: sa.Table) -> list[str]:
    problems: list[str] = []
    columns = set(table.c.keys())

    def need(column: str | None, what: str, where: str) -> None:
        if column is not None and column not in columns:
            problems.append(
                f"{where}: table {spec.name!r} has no column {column!r} ({what}); fix the "
                "dataset or add the column"
            )

    for field in spec.fields.values():
        need(field.name, "a declared field", field.where)
    for column in spec.primary_key:
        need(column, "the primary key", spec.where)
    need(spec.restriction, "the restriction marker", spec.where)
    if spec.hold is not None:
        need(spec.hold.date_column, "the date the hold counts from", spec.where)
        if spec.hold.date_column in columns and not _is_date(table.c[spec.hold.date_column]):
            problems.append(
                f"{spec.where}: the hold of table {spec.name!r} counts from "
                f"{spec.hold.date_column!r}, which is not a date, timestamp or text column"
            )
    if spec.restriction in columns and not _is_marker(table.c[spec.restriction or ""]):
        problems.append(
            f"{spec.where}: the restriction marker {spec.name}.{spec.restriction} must be a "
            "date, timestamp, boolean or text column"
        )
    return problems


def _check_links(dataset: Dataset, bound: Mapping[str, BoundTable]) -> list[str]:
    problems: list[str] = []
    for link in dataset.links:
        for table, column in (
            (link.source_table, link.source_column),
            (link.target_table, link.target_column),
        ):
            if column not in bound[table].table.c:
                problems.append(
                    f"{bound[table].spec.where}: the reference {link.source_table}."
                    f"{link.source_column} → {link.target_table}.{link.target_column} names "
                    f"{table}.{column}, which the database does not have"
                )
    return problems


def _mismatch(dataset: Dataset, problems: list[str]) -> ConfigurationError:
    listing = "\n".join(f"- {p}" for p in problems)
    return ConfigurationError(
        f"The dataset {dataset.name!r} does not fit the database:\n{listing}",
        problems=problems,
    )


def _is_date(column: sa.Column[Any]) -> bool:
    return isinstance(column.type, sa.Date | sa.DateTime | sa.String)


def _is_marker(column: sa.Column[Any]) -> bool:
    return isinstance(column.type, sa.Date | sa.DateTime | sa.Boolean | sa.String)


def _python_type(column: sa.Column[Any]) -> type | None:
    try:
        found: type = column.type.python_type
    except NotImplementedError:
        return None
    return found


def coerce(column: sa.Column[Any], value: Any) -> Any:
    """``value`` as the column's Python type, or None when it cannot match the column."""
    wanted = _python_type(column)
    if wanted is None or isinstance(value, wanted):
        return value
    try:
        if wanted is int:
            text = str(value).strip()
            return int(text) if text.lstrip("-").isdigit() else None
        if wanted is str:
            return str(value)
        if wanted is uuid.UUID:
            return uuid.UUID(str(value))
        if wanted is decimal.Decimal:
            return decimal.Decimal(str(value))
        if wanted is dt.date:
            return dt.date.fromisoformat(str(value))
        if wanted is dt.datetime:
            return dt.datetime.fromisoformat(str(value))
    except (ValueError, ArithmeticError):
        return None
    return None


def date_value(column: sa.Column[Any], day: dt.date) -> Any:
    """``day`` in the column's own type (date, midnight timestamp or ISO text)."""
    kind = column.type
    if isinstance(kind, sa.DateTime):
        moment = dt.datetime(day.year, day.month, day.day)  # noqa: DTZ001 - a calendar day
        return moment.replace(tzinfo=dt.UTC) if kind.timezone else moment
    if isinstance(kind, sa.Date):
        return day
    if isinstance(kind, sa.Boolean):
        return True
    return day.isoformat()


def year_of(value: Any) -> int | None:
    """The calendar year of a date, timestamp or ISO text value."""
    if isinstance(value, dt.date):
        return value.year
    text = str(value or "")
    return int(text[:4]) if len(text) >= 4 and text[:4].isdigit() else None
