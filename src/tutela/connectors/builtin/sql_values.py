"""New values for SQL columns: a request's text, read as the column's date or time type.

Rectifications carry text. Most databases read text into a number column
themselves, but SQLAlchemy's SQLite dialect takes only Python dates for its
date and time columns, so those are parsed here (ISO 8601) for every
dialect alike. A value that is no date is refused by field name; the value itself
is never repeated.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any, Final

import sqlalchemy as sa

from tutela.connectors.report import Action, Outcome

_PARSERS: Final[dict[type, tuple[Callable[[str], Any], str]]] = {
    dt.datetime: (dt.datetime.fromisoformat, "a date and time such as 2026-03-31T14:30"),
    dt.date: (dt.date.fromisoformat, "a date such as 2026-03-31"),
    dt.time: (dt.time.fromisoformat, "a time such as 14:30"),
}


def column_value(column: sa.Column[Any], value: object) -> object:
    """``value`` as the column needs it; :class:`ValueError` says what was expected."""
    if not isinstance(value, str):
        return value
    try:
        kind = column.type.python_type
    except NotImplementedError:  # a type without a Python equivalent: the database decides
        return value
    found = _PARSERS.get(kind)
    if found is None:
        return value
    parse, expected = found
    try:
        return parse(value.strip())
    except ValueError:
        raise ValueError(f"the new value is not {expected}") from None


def column_values(
    table: sa.Table, values: Mapping[str, object]
) -> tuple[dict[str, object], list[Outcome]]:
    """The values to set, and a not-handled outcome (with the reason) per refused field."""
    ready: dict[str, object] = {}
    refused: list[Outcome] = []
    for name, value in values.items():
        try:
            ready[name] = column_value(table.c[name], value)
        except ValueError as error:
            refused.append(
                Outcome(
                    table=table.name, action=Action.NOT_HANDLED, fields=(name,), reason=str(error)
                )
            )
    return ready, refused
