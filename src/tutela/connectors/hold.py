"""Statutory holds: how long a record must be kept, counted from the end of a year.

German retention periods (§ 147(4) AO, § 257(5) HGB) start at the end of the
calendar year in which the document was created, sent or received: an invoice of
10 March 2025 held for 8 years is kept until 31 December 2033 and may be erased
from 1 January 2034.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

__all__ = ["Hold", "hold_until", "is_held", "oldest_held_start"]

_LAST_YEAR = dt.date.max.year


def _as_date(value: dt.date) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value


def hold_until(start: dt.date, years: int) -> dt.date:
    """The last day a record dated ``start`` must be kept: 31 Dec of (its year + ``years``)."""
    if years < 0:
        raise ValueError(f"A hold lasts zero or more years, got {years}.")
    year = _as_date(start).year + years
    return dt.date.max if year > _LAST_YEAR else dt.date(year, 12, 31)


def is_held(start: dt.date, years: int, today: dt.date) -> bool:
    """Whether a record dated ``start`` is still under the hold on ``today``."""
    return _as_date(today) <= hold_until(start, years)


def oldest_held_start(today: dt.date, years: int) -> dt.date:
    """The earliest record date still held on ``today``.

    A record is held exactly when its date is on or after this day, so a store can
    select held rows with one comparison (``date_column >= oldest_held_start``).
    """
    if years < 0:
        raise ValueError(f"A hold lasts zero or more years, got {years}.")
    year = _as_date(today).year - years
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
