"""Marking rows a statutory hold keeps after their purposes expired: restricted until it ends.

Art. 18 GDPR: data kept only because a law says so are restricted. When a rule
ends, rows that have expired but that a statutory hold still keeps get the table's
restriction column set to the last day the hold keeps them — only where the table
has one, and only rows not yet marked that long. Set-based, one ``UPDATE`` per group:

* a hold counted from the **end of the calendar year** (§ 147 AO, § 257 HGB): one
  group per year of the rows' dates; every row of the year is held to the same day;
* a hold counted **from the record's own date** (a period): one group per calendar
  month of the rows' dates, marked until the period after the month's last day — up
  to a month longer than the row's own hold, never shorter. Only months that hold
  such rows are visited (each found with one ``min()`` query).
"""

from __future__ import annotations

import calendar as _cal
import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tutela.calendar import GERMAN_TIME
from tutela.connectors.builtin.sql_erase import mark, year_bound
from tutela.connectors.builtin.sql_schema import year_of
from tutela.connectors.hold import hold_until, record_day, record_year
from tutela.policy.duration import Period
from tutela.retention.conditions import RuleSql, kept_by
from tutela.retention.rules import Keep

__all__ = ["month_bound", "restrict_held"]

Month = tuple[int, int]
_LAST_YEAR = dt.date.max.year


def month_bound(column: sa.Column[Any], month: Month) -> Any:
    """Where ``month`` of the controller's calendar begins, in the column's own type.

    Like :func:`~tutela.connectors.builtin.sql_erase.year_bound`: timestamps at
    midnight German time (UTC for a column without a zone), dates as they are, and
    text from the previous month's last day followed by a space (a text timestamp
    written on that day counts to the later month: marked longer, never shorter).
    """
    year, number = month
    kind = column.type
    if isinstance(kind, sa.DateTime):
        moment = dt.datetime(year, number, 1, tzinfo=GERMAN_TIME).astimezone(dt.UTC)
        return moment if kind.timezone else moment.replace(tzinfo=None)
    if isinstance(kind, sa.Date):
        return dt.date(year, number, 1)
    if month == (1, 1):
        return ""
    last = dt.date(year, number, 1) - dt.timedelta(days=1)
    return f"{last.isoformat()} "


def _next(month: Month) -> Month | None:
    year, number = month
    if number < 12:
        return year, number + 1
    return (year + 1, 1) if year < _LAST_YEAR else None


def _month_of(value: Any) -> Month | None:
    if isinstance(value, dt.date):
        day = record_day(value)
        return day.year, day.month
    text = str(value)
    if len(text) >= 7 and text[:4].isdigit() and text[4] == "-" and text[5:7].isdigit():
        number = int(text[5:7])
        return (int(text[:4]), number) if 1 <= number <= 12 and int(text[:4]) >= 1 else None
    return None


def _period_until(period: Period, month: Month) -> dt.date:
    """The last day a row dated in ``month`` is held: the period after the month's end."""
    year, number = month
    last = dt.date(year, number, _cal.monthrange(year, number)[1])
    try:
        day = period.add_to(last)
        if period.hours or period.minutes:  # a part day can reach into the next day
            day += dt.timedelta(days=1)
    except (OverflowError, ValueError):
        return dt.date.max
    return day


def _by_month(
    conn: Connection, sql: RuleSql, keep: Keep, column: sa.Column[Any], held: Any, name: str
) -> int:
    period = keep.period or Period(days=0)
    marked = 0
    floor: Any = None
    previous: Month | None = None
    while True:
        where = held if floor is None else sa.and_(held, column >= floor)
        low = conn.execute(sa.select(sa.func.min(column)).where(where)).scalar()
        month = None if low is None else _month_of(low)
        if month is None:
            return marked
        if previous is not None and month <= previous:  # always move on
            following = _next(previous)
            if following is None:
                return marked
            month = following
        after = _next(month)
        if isinstance(low, str) and after is not None and low >= month_bound(column, after):
            month, after = after, _next(after)
        in_month = sa.and_(held, column >= month_bound(column, month))
        end = None if after is None else month_bound(column, after)
        if end is not None:
            in_month = sa.and_(in_month, column < end)
        marked += mark(conn, sql.bound, name, in_month, _period_until(period, month))
        if end is None:
            return marked
        floor, previous = end, month


def _by_year(
    conn: Connection, sql: RuleSql, years: int, column: sa.Column[Any], held: Any, name: str
) -> int:
    low, high = conn.execute(sa.select(sa.func.min(column), sa.func.max(column)).where(held)).one()
    first, last = _year(low), _year(high)
    if first is None or last is None:
        return 0
    marked = 0
    for year in range(first, min(last + 1, _LAST_YEAR) + 1):
        in_year = sa.and_(held, column >= year_bound(column, year))
        if year < _LAST_YEAR:
            in_year = sa.and_(in_year, column < year_bound(column, year + 1))
        marked += mark(conn, sql.bound, name, in_year, hold_until(dt.date(year, 1, 1), years))
    return marked


def restrict_held(conn: Connection, sql: RuleSql, *, as_of: dt.datetime) -> int:
    """Mark expired rows a statutory hold keeps as restricted until the hold ends; rows marked.

    Only for rules with a period (a statutory-only purpose still uses its rows) and
    where the table has a restriction column; only rows not yet marked that long.
    """
    name = sql.plan.restriction
    if name is None or not sql.rule.expiries:
        return 0
    marked = 0
    for keep, column in sql.keeps:
        held = sa.and_(sql.expired, column.is_not(None), kept_by(keep, column, as_of))
        if keep.years is not None:
            marked += _by_year(conn, sql, keep.years, column, held, name)
        elif keep.period is not None:
            marked += _by_month(conn, sql, keep, column, held, name)
    return marked


def _year(value: Any) -> int | None:
    return record_year(value) if isinstance(value, dt.date) else year_of(value)
