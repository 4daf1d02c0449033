"""Durations: ISO 8601 subset, words in both languages, calendar-true addition."""

from __future__ import annotations

import contextlib
import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from tutela.policy.duration import Duration, Period

units = st.integers(min_value=0, max_value=500)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("P10Y", Period(years=10)),
        ("P6M", Period(months=6)),
        ("P30D", Period(days=30)),
        ("P2W", Period(weeks=2)),
        ("PT30M", Period(minutes=30)),
        ("P1Y2M3W4DT5H6M", Period(1, 2, 3, 4, 5, 6)),
    ],
)
def test_parse(text: str, expected: Period) -> None:
    assert Period.parse(text) == expected


@pytest.mark.parametrize("text", ["", "P", "PT", "10 days", "P-1D", "P1.5Y", "P0D", "p1d", "P1DT"])
def test_parse_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        Period.parse(text)


@given(units, units, units, units, units, units)
def test_iso_round_trip(y: int, mo: int, w: int, d: int, h: int, mi: int) -> None:
    period = Period(y, mo, w, d, h, mi)
    if period.is_zero:
        return
    assert Period.parse(period.iso()) == period


@given(st.text(max_size=30))
def test_parse_never_crashes(text: str) -> None:
    with contextlib.suppress(ValueError):
        Period.parse(text)


@pytest.mark.parametrize(
    ("text", "de", "en"),
    [
        ("P1Y", "1 Jahr", "1 year"),
        ("P10Y", "10 Jahre", "10 years"),
        ("P1Y6M", "1 Jahr und 6 Monate", "1 year and 6 months"),
        ("P7D", "7 Tage", "7 days"),
        ("P1M1W1D", "1 Monat, 1 Woche und 1 Tag", "1 month, 1 week and 1 day"),
    ],
)
def test_words(text: str, de: str, en: str) -> None:
    period = Period.parse(text)
    assert period.words("de") == de
    assert period.words("en") == en


@pytest.mark.parametrize(
    ("start", "text", "end"),
    [
        (dt.date(2025, 8, 31), "P6M", dt.date(2026, 2, 28)),
        (dt.date(2024, 1, 31), "P1M", dt.date(2024, 2, 29)),
        (dt.date(2025, 3, 10), "P8Y", dt.date(2033, 3, 10)),
        (dt.date(2025, 12, 31), "P1D", dt.date(2026, 1, 1)),
        (dt.date(2024, 2, 29), "P1Y", dt.date(2025, 2, 28)),
    ],
)
def test_add_to(start: dt.date, text: str, end: dt.date) -> None:
    assert Period.parse(text).add_to(start) == end


@given(st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2400, 1, 1)), units, units)
def test_add_to_never_goes_back(start: dt.date, months: int, days: int) -> None:
    if months == 0 and days == 0:
        return
    assert Period(months=months, days=days).add_to(start) > start or days == 0


def test_pydantic_field_serialises_to_iso() -> None:
    adapter = TypeAdapter(Duration)
    assert adapter.validate_python("P1Y") == Period(years=1)
    assert adapter.dump_python(Period(days=3), mode="json") == "P3D"
    with pytest.raises(ValidationError, match="not a duration"):
        adapter.validate_python("forever")
    assert adapter.json_schema()["type"] == "string"
