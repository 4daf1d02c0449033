"""German business-day arithmetic: Werktage, Arbeitstage and legal month deadlines.

Terms (see the legal notes, § 2.5):

* **Werktag** – Monday to Saturday, unless a statutory public holiday (§ 3(2) BUrlG).
* **Arbeitstag** – Monday to Friday, unless a statutory public holiday
  (Reg. 1182/71 Art. 2(2) "working day").

Holidays are the statutory *public* holidays of the German states (ISO 3166-2:DE
codes without the ``DE-`` prefix) as published by the ``holidays`` package.
Holidays that apply only in parts of a state are left out on purpose: Mariä
Himmelfahrt in Bavaria (Catholic municipalities only), the Augsburg peace festival,
and Corpus Christi in parts of Saxony and Thuringia. Where several states are given,
a day is a holiday if it is one in *any* of them, which can only lengthen a period.

Counting follows § 187(1) BGB: the day of the event (receipt of a notice) is not
counted; day one is the first counting day after it.
"""

from __future__ import annotations

import calendar as _stdlib_calendar
import datetime as dt
from collections.abc import Iterable
from functools import lru_cache
from typing import Literal, TypeAlias
from zoneinfo import ZoneInfo

from holidays.countries.germany import Germany

__all__ = [
    "STATES",
    "StateSelection",
    "Unit",
    "add_business_days",
    "add_calendar_days",
    "count_business_days",
    "effective_after_notice",
    "holidays_in",
    "is_arbeitstag",
    "is_holiday",
    "is_werktag",
    "month_deadline",
]

STATES: tuple[str, ...] = (
    "BB",
    "BE",
    "BW",
    "BY",
    "HB",
    "HE",
    "HH",
    "MV",
    "NI",
    "NW",
    "RP",
    "SH",
    "SL",
    "SN",
    "ST",
    "TH",
)
"""The 16 German states as ISO 3166-2:DE codes without the ``DE-`` prefix."""

Unit: TypeAlias = Literal["werktage", "arbeitstage", "calendar_days"]
StateSelection: TypeAlias = Iterable[str] | Literal["all"]

_UNITS: tuple[str, ...] = ("werktage", "arbeitstage", "calendar_days")
_SATURDAY = 5
_SUNDAY = 6


def _check_state(code: str) -> str:
    if code not in STATES:
        raise ValueError(
            f"Unknown German state code {code!r}; use one of {', '.join(STATES)} "
            "(ISO 3166-2:DE without the 'DE-' prefix)."
        )
    return code


def _resolve_states(states: StateSelection) -> frozenset[str]:
    """Turn the caller's selection into a validated, hashable set of codes."""
    if isinstance(states, str):
        # "all" means every state; any other bare string is one state code.
        if states == "all":
            return frozenset(STATES)
        return frozenset({_check_state(states)})
    codes = frozenset(_check_state(code) for code in states)
    if not codes:
        raise ValueError(
            f"No German state given; name at least one of {', '.join(STATES)} or pass 'all'."
        )
    return codes


def _check_unit(unit: str) -> None:
    if unit not in _UNITS:
        raise ValueError(f"Unknown unit {unit!r}; use one of {', '.join(_UNITS)}.")


def _check_count(name: str, value: int) -> None:
    if value < 0:
        raise ValueError(f"{name} must be zero or positive, got {value}.")


@lru_cache(maxsize=2048)
def _state_holidays(state: str, year: int) -> frozenset[dt.date]:
    """Statutory public holidays of one state in one year (cached)."""
    table = Germany(subdiv=state, years=year, categories=("public",))
    return frozenset(table.keys())


@lru_cache(maxsize=1024)
def _union_holidays(states: frozenset[str], year: int) -> frozenset[dt.date]:
    days: set[dt.date] = set()
    for state in states:
        days |= _state_holidays(state, year)
    return frozenset(days)


def holidays_in(year: int, states: StateSelection) -> frozenset[dt.date]:
    """Every public holiday of ``year`` in at least one of ``states``."""
    return _union_holidays(_resolve_states(states), year)


def _is_holiday(day: dt.date, codes: frozenset[str]) -> bool:
    return day in _union_holidays(codes, day.year)


def is_holiday(day: dt.date, states: StateSelection) -> bool:
    """True if ``day`` is a statutory public holiday in at least one of ``states``."""
    return _is_holiday(day, _resolve_states(states))


def is_werktag(day: dt.date, states: StateSelection) -> bool:
    """True for Monday to Saturday unless a public holiday (§ 3(2) BUrlG)."""
    return _counts(day, "werktage", _resolve_states(states))


def is_arbeitstag(day: dt.date, states: StateSelection) -> bool:
    """True for Monday to Friday unless a public holiday (Reg. 1182/71 Art. 2(2))."""
    return _counts(day, "arbeitstage", _resolve_states(states))


def _counts(day: dt.date, unit: str, codes: frozenset[str]) -> bool:
    if unit == "calendar_days":
        return True
    weekday = day.weekday()
    if weekday == _SUNDAY or (unit == "arbeitstage" and weekday == _SATURDAY):
        return False
    return not _is_holiday(day, codes)


def add_calendar_days(start: dt.date, days: int) -> dt.date:
    """``start`` plus ``days`` calendar days (the last counted day)."""
    _check_count("days", days)
    return start + dt.timedelta(days=days)


def add_business_days(
    start: dt.date,
    count: int,
    *,
    unit: Unit,
    states: StateSelection,
) -> dt.date:
    """The last counted day when ``count`` days are counted from the day after ``start``.

    ``start`` itself never counts (§ 187(1) BGB). With ``count == 0`` nothing is
    counted and ``start`` is returned.
    """
    _check_unit(unit)
    _check_count("count", count)
    codes = _resolve_states(states)
    if unit == "calendar_days":
        return start + dt.timedelta(days=count)
    day = start
    counted = 0
    one = dt.timedelta(days=1)
    while counted < count:
        day += one
        if _counts(day, unit, codes):
            counted += 1
    return day


def effective_after_notice(
    notice_on: dt.date,
    count: int,
    *,
    unit: Unit,
    states: StateSelection,
) -> dt.date:
    """The first day on which a change announced on ``notice_on`` may take effect.

    The notice period is ``count`` days of ``unit`` counted from the day after the
    notice; the change takes effect on the day after the last counted day. A
    protective notice period is not moved by § 193 BGB, so the effective day may
    fall on a weekend or holiday. ``count == 0`` gives the day after the notice.
    """
    last = add_business_days(notice_on, count, unit=unit, states=states)
    return last + dt.timedelta(days=1)


def count_business_days(
    start: dt.date,
    end: dt.date,
    *,
    unit: Unit,
    states: StateSelection,
) -> int:
    """How many days ``d`` with ``start < d <= end`` count in ``unit`` (0 if ``end <= start``)."""
    _check_unit(unit)
    codes = _resolve_states(states)
    if end <= start:
        return 0
    if unit == "calendar_days":
        return (end - start).days
    total = 0
    day = start
    one = dt.timedelta(days=1)
    while day < end:
        day += one
        if _counts(day, unit, codes):
            total += 1
    return total


def _add_months(day: dt.date, months: int) -> dt.date:
    """Same day of month ``months`` later, clamped to the last day of a shorter month."""
    index = day.year * 12 + (day.month - 1) + months
    year, month0 = divmod(index, 12)
    month = month0 + 1
    last = _stdlib_calendar.monthrange(year, month)[1]
    return dt.date(year, month, min(day.day, last))


def month_deadline(received: dt.date, months: int = 1, *, state: str) -> dt.date:
    """Last day of a period of ``months`` months starting with receipt on ``received``.

    Reg. 1182/71 Art. 3 and §§ 187, 188, 193 BGB: the period ends on the same date
    ``months`` later (the last day of that month if the date does not exist); an
    end on a Saturday, Sunday or public holiday of ``state`` moves to the next
    working day (Monday to Friday, not a holiday).
    """
    _check_count("months", months)
    codes = frozenset({_check_state(state)})
    day = _add_months(received, months)
    one = dt.timedelta(days=1)
    while not _counts(day, "arbeitstage", codes):
        day += one
    return day


GERMAN_TIME = ZoneInfo("Europe/Berlin")


def german_date(moment: dt.datetime) -> dt.date:
    """The calendar date in Germany at ``moment`` (periods run on German dates, not UTC)."""
    if moment.tzinfo is None:
        raise ValueError("german_date needs a timezone-aware datetime")
    return moment.astimezone(GERMAN_TIME).date()
