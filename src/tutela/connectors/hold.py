"""Statutory holds: how long a record must be kept, counted from the end of a year.

German retention periods (§ 147(4) AO, § 257(5) HGB) start at the end of the
calendar year in which the document was created, sent or received: an invoice of
10 March 2025 held for 8 years is kept until 31 December 2033 and may be erased
from 1 January 2034.

The year is the controller's calendar year (German time, ``Europe/Berlin``), not
the UTC one: an order placed at 00:30 on 1 January in Berlin is 23:30 UTC on
31 December and still belongs to the new year. A timestamp with a zone is converted
to German time; one without a zone is taken as UTC (how stores and Tutela itself
keep timestamps — and the reading that can only lengthen a hold, never shorten it);
a plain date is taken as it is.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from tutela.calendar import GERMAN_TIME

__all__ = [
    "Hold",
    "hold_until",
    "is_held",
    "oldest_held_start",
    "record_day",
    "record_year",
    "year_start",
]

_LAST_YEAR = dt.date.max.year


def record_day(value: dt.date) -> dt.date:
    """The controller's calendar day of a record's date or timestamp.

    A date is taken as it is; an aware timestamp is converted to German time; a
    naive one is read as UTC first.
    """
    if not isinstance(value, dt.datetime):
        return value
    moment = value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)
    try:
        return moment.astimezone(GERMAN_TIME).date()
    except OverflowError:  # the last hours of 9999 in UTC are already year 10000 in Germany
        return dt.date.max


def record_year(value: dt.date) -> int:
    """The controller's calendar year of a record (see :func:`record_day`)."""
    return record_day(value).year


def year_start(year: int) -> dt.datetime:
    """The instant ``year`` begins in German time, as an aware UTC timestamp.

    A timestamp ``t`` belongs to ``year`` or later exactly when ``t >= year_start(year)``.
    """
    if year <= 1:  # Germany is ahead of UTC: its year 1 began before the first instant
        return dt.datetime.min.replace(tzinfo=dt.UTC)
    if year > _LAST_YEAR:
        return dt.datetime.max.replace(tzinfo=dt.UTC)
    return dt.datetime(year, 1, 1, tzinfo=GERMAN_TIME).astimezone(dt.UTC)


def hold_until(start: dt.date, years: int) -> dt.date:
    """The last day a record dated ``start`` must be kept: 31 Dec of (its year + ``years``)."""
    if years < 0:
        raise ValueError(f"A hold lasts zero or more years, got {years}.")
    year = record_year(start) + years
    return dt.date.max if year > _LAST_YEAR else dt.date(year, 12, 31)


def is_held(start: dt.date, years: int, today: dt.date) -> bool:
    """Whether a record dated ``start`` is still under the hold on ``today``.

    ``today`` is the controller's date (a timestamp is converted like ``start``).
    """
    return record_day(today) <= hold_until(start, years)


def oldest_held_start(today: dt.date, years: int) -> dt.date:
    """The first day of the earliest year whose records are still held on ``today``.

    A record is held exactly when its controller's day (:func:`record_day`) is on or
    after this day, so a store can select held rows with one comparison: a date
    column against this day, a timestamp column against :func:`year_start` of its year.
    """
    if years < 0:
        raise ValueError(f"A hold lasts zero or more years, got {years}.")
    year = record_day(today).year - years
    return dt.date.min if year < 1 else dt.date(year, 1, 1)


@dataclass(frozen=True, slots=True)
class Hold:
    """A statutory retention rule on a table or field.

    ``rule`` names the law (``"§ 147 AO, § 257 HGB, § 14b UStG (invoices)"``),
    ``years`` the period and ``date_column`` the column holding the record's date.
    """

    rule: str
    years: int
    date_column: str

    def until(self, start: dt.date) -> dt.date:
        return hold_until(start, self.years)

    def held(self, start: dt.date, today: dt.date) -> bool:
        return is_held(start, self.years, today)

    def oldest_held(self, today: dt.date) -> dt.date:
        return oldest_held_start(today, self.years)
