"""Durations in a declaration: an ISO 8601 subset (``P10Y``, ``P6M``, ``P30D``, ``PT30M``).

Calendar units (years, months) stay symbolic so that "6 months" after 31 August
ends on 28/29 February, as periods in law do, instead of drifting by days.
"""

from __future__ import annotations

import calendar as _cal
import datetime as dt
import re
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema

_PATTERN = re.compile(
    r"^P(?!$)(?:(?P<years>\d+)Y)?(?:(?P<months>\d+)M)?(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?=\d)(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?)?$"
)
_UNITS = ("years", "months", "weeks", "days", "hours", "minutes")
_WORDS = {
    "en": {
        "years": ("year", "years"),
        "months": ("month", "months"),
        "weeks": ("week", "weeks"),
        "days": ("day", "days"),
        "hours": ("hour", "hours"),
        "minutes": ("minute", "minutes"),
    },
    "de": {
        "years": ("Jahr", "Jahre"),
        "months": ("Monat", "Monate"),
        "weeks": ("Woche", "Wochen"),
        "days": ("Tag", "Tage"),
        "hours": ("Stunde", "Stunden"),
        "minutes": ("Minute", "Minuten"),
    },
}
_AND = {"en": "and", "de": "und"}
_MAX = 10_000


@dataclass(frozen=True, slots=True)
class Period:
    """A parsed duration; each unit is a non-negative whole number."""

    years: int = 0
    months: int = 0
    weeks: int = 0
    days: int = 0
    hours: int = 0
    minutes: int = 0

    @classmethod
    def parse(cls, text: str) -> Period:
        match = _PATTERN.match(text.strip())
        if not match:
            raise ValueError(
                f"{text!r} is not a duration: write ISO 8601 such as P10Y, P6M, P30D or PT30M"
            )
        values = {k: int(v) for k, v in match.groupdict().items() if v is not None}
        if any(v > _MAX for v in values.values()):
            raise ValueError(f"{text!r} is too long a duration (at most {_MAX} per unit)")
        period = cls(**values)
        if period.is_zero:
            raise ValueError(f"{text!r} is a zero duration")
        return period

    @property
    def is_zero(self) -> bool:
        return not any(getattr(self, unit) for unit in _UNITS)

    def iso(self) -> str:
        date = "".join(
            f"{getattr(self, u)}{s}"
            for u, s in (("years", "Y"), ("months", "M"), ("weeks", "W"), ("days", "D"))
            if getattr(self, u)
        )
        time = "".join(
            f"{getattr(self, u)}{s}"
            for u, s in (("hours", "H"), ("minutes", "M"))
            if getattr(self, u)
        )
        return "P" + date + ("T" + time if time else "")

    def __str__(self) -> str:
        return self.iso()

    def words(self, language: str) -> str:
        """``P1Y6M`` → "1 year and 6 months" / "1 Jahr und 6 Monate"."""
        table = _WORDS["de" if language == "de" else "en"]
        parts = []
        for unit in _UNITS:
            count = getattr(self, unit)
            if count:
                singular, plural = table[unit]
                parts.append(f"{count} {singular if count == 1 else plural}")
        if len(parts) == 1:
            return parts[0]
        joiner = _AND["de" if language == "de" else "en"]
        return ", ".join(parts[:-1]) + f" {joiner} " + parts[-1]

    def add_to(self, moment: dt.date) -> dt.date:
        """Add to a date; a month end that does not exist falls back to the month's last day."""
        month_index = moment.month - 1 + self.months + 12 * self.years
        year = moment.year + month_index // 12
        month = month_index % 12 + 1
        day = min(moment.day, _cal.monthrange(year, month)[1])
        shifted = dt.date(year, month, day)
        extra = dt.timedelta(
            weeks=self.weeks, days=self.days, hours=self.hours, minutes=self.minutes
        )
        return shifted + dt.timedelta(days=extra.days)

    def approx_days(self) -> float:
        """Length in days, with 365.25-day years and 30.44-day months; for comparisons only."""
        return (
            self.years * 365.25
            + self.months * 30.44
            + self.weeks * 7
            + self.days
            + self.hours / 24
            + self.minutes / 1440
        )


def _coerce(value: Any) -> Period:
    if isinstance(value, Period):
        return value
    if isinstance(value, str):
        return Period.parse(value)
    raise ValueError("a duration must be a string such as P30D")


Duration = Annotated[
    Period,
    BeforeValidator(_coerce),
    PlainSerializer(lambda p: p.iso(), return_type=str),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(\d+H)?(\d+M)?)?$",
            "description": "ISO 8601 duration: P10Y, P6M, P30D, PT30M",
        }
    ),
]
