"""Statutory holds count from the end of the calendar year (law.md §2.4, R-1)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tutela.connectors.hold import Hold, hold_until, is_held, oldest_held_start

pytestmark = pytest.mark.promise("P17")

dates = st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2200, 12, 31))
years = st.integers(min_value=0, max_value=30)


def test_the_examples_of_the_law() -> None:
    assert hold_until(dt.date(2025, 3, 10), 8) == dt.date(2033, 12, 31)
    assert is_held(dt.date(2025, 3, 10), 8, dt.date(2033, 12, 31))
    assert not is_held(dt.date(2025, 3, 10), 8, dt.date(2034, 1, 1))
    # a business e-mail of 2025-06-01 kept 6 years is erasable from 2032-01-01
    assert hold_until(dt.date(2025, 6, 1), 6) == dt.date(2031, 12, 31)
    assert hold_until(dt.datetime(2025, 12, 31, 23, 59), 10) == dt.date(2035, 12, 31)


@given(start=dates, period=years)
def test_a_hold_ends_on_the_last_day_of_a_year(start: dt.date, period: int) -> None:
    until = hold_until(start, period)
    assert (until.month, until.day) == (12, 31)
    assert until.year - start.year == period


@given(start=dates, period=years, today=dates)
def test_held_rows_are_exactly_those_on_or_after_the_oldest_held_start(
    start: dt.date, period: int, today: dt.date
) -> None:
    assert is_held(start, period, today) == (start >= oldest_held_start(today, period))


@given(start=dates, period=years)
def test_held_through_the_last_day_and_free_the_day_after(start: dt.date, period: int) -> None:
    until = hold_until(start, period)
    assert is_held(start, period, until)
    assert not is_held(start, period, until + dt.timedelta(days=1))


def test_the_far_future_and_negative_periods() -> None:
    assert hold_until(dt.date(9995, 1, 1), 10) == dt.date.max
    assert oldest_held_start(dt.date(5, 1, 1), 10) == dt.date.min
    with pytest.raises(ValueError, match="zero or more"):
        hold_until(dt.date(2025, 1, 1), -1)
    hold = Hold(rule="§ 147 AO", years=8, date_column="issued_on")
    assert hold.until(dt.date(2020, 2, 2)) == dt.date(2028, 12, 31)
    assert hold.held(dt.date(2020, 2, 2), dt.date(2028, 12, 31))
    assert hold.oldest_held(dt.date(2029, 1, 1)) == dt.date(2021, 1, 1)
