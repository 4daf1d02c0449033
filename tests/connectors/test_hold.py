"""Statutory holds count from the end of the calendar year (law.md §2.4, R-1)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tutela.connectors.hold import (
    Hold,
    hold_until,
    is_held,
    oldest_held_start,
    record_day,
    record_year,
    year_start,
)

pytestmark = pytest.mark.promise("P17")

dates = st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2200, 12, 31))
years = st.integers(min_value=0, max_value=30)


def test_the_examples_of_the_law() -> None:
    assert hold_until(dt.date(2025, 3, 10), 8) == dt.date(2033, 12, 31)
    assert is_held(dt.date(2025, 3, 10), 8, dt.date(2033, 12, 31))
    assert not is_held(dt.date(2025, 3, 10), 8, dt.date(2034, 1, 1))
    # a business e-mail of 2025-06-01 kept 6 years is erasable from 2032-01-01
    assert hold_until(dt.date(2025, 6, 1), 6) == dt.date(2031, 12, 31)
    # a timestamp without a zone is UTC: 23:59 UTC on 31 December is already 1 January in Berlin
    assert hold_until(dt.datetime(2025, 12, 31, 23, 59), 10) == dt.date(2036, 12, 31)
    assert hold_until(dt.datetime(2025, 12, 31, 22, 59), 10) == dt.date(2035, 12, 31)


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


BERLIN = ZoneInfo("Europe/Berlin")
ZONES = [dt.UTC, BERLIN, ZoneInfo("America/Los_Angeles"), ZoneInfo("Asia/Tokyo"), None]
near_new_year = st.builds(
    lambda year, minutes: dt.datetime(year, 1, 1, tzinfo=BERLIN) + dt.timedelta(minutes=minutes),
    st.integers(min_value=1902, max_value=2200),
    st.integers(min_value=-26 * 60, max_value=26 * 60),
)


def _shown(moment: dt.datetime, zone: dt.tzinfo | None) -> dt.datetime:
    """The same instant as a store may hold it: in another zone, or naive UTC."""
    if zone is None:
        return moment.astimezone(dt.UTC).replace(tzinfo=None)
    return moment.astimezone(zone)


def test_the_year_is_the_one_in_berlin_not_the_utc_one() -> None:
    # 00:30 on 1 January in Berlin is 23:30 UTC on 31 December
    new_year = dt.datetime(2025, 1, 1, 0, 30, tzinfo=BERLIN)
    assert record_year(new_year) == 2025
    assert record_year(_shown(new_year, dt.UTC)) == 2025
    assert record_year(_shown(new_year, None)) == 2025
    assert hold_until(_shown(new_year, None), 8) == dt.date(2033, 12, 31)
    assert is_held(_shown(new_year, None), 8, dt.date(2033, 12, 31))
    # 23:30 on 31 December in Berlin is 22:30 UTC the same day
    old_year = dt.datetime(2024, 12, 31, 23, 30, tzinfo=BERLIN)
    assert record_year(_shown(old_year, None)) == 2024
    assert not is_held(_shown(old_year, None), 8, dt.date(2033, 1, 1))
    # summer time does not move the year, and a date is taken as it is
    assert record_year(dt.datetime(2025, 12, 31, 22, 59, tzinfo=dt.UTC)) == 2025
    assert record_day(dt.date(2024, 12, 31)) == dt.date(2024, 12, 31)
    assert year_start(2025) == dt.datetime(2024, 12, 31, 23, 0, tzinfo=dt.UTC)


@given(moment=near_new_year, zone=st.sampled_from(ZONES), period=years)
def test_around_new_year_every_representation_gets_the_berlin_year(
    moment: dt.datetime, zone: dt.tzinfo | None, period: int
) -> None:
    shown = _shown(moment, zone)
    berlin = moment.astimezone(BERLIN)
    assert record_day(shown) == berlin.date()
    assert hold_until(shown, period) == dt.date(berlin.year + period, 12, 31)
    # never earlier than the UTC reading would give: the hold is never cut short
    assert hold_until(shown, period) >= hold_until(moment.astimezone(dt.UTC).date(), period)


@given(moment=near_new_year, zone=st.sampled_from(ZONES), year=st.integers(1902, 2200))
def test_a_timestamp_is_in_a_year_or_later_exactly_when_it_is_on_or_after_its_start(
    moment: dt.datetime, zone: dt.tzinfo | None, year: int
) -> None:
    start = year_start(year)
    shown = _shown(moment, zone)
    instant = shown if shown.tzinfo is not None else shown.replace(tzinfo=dt.UTC)
    assert (record_year(shown) >= year) == (instant >= start)
    assert (record_year(shown) >= year) == (_shown(moment, None) >= start.replace(tzinfo=None))


@given(moment=near_new_year, zone=st.sampled_from(ZONES), period=years, today=dates)
def test_held_timestamps_are_those_on_or_after_the_start_of_the_oldest_held_year(
    moment: dt.datetime, zone: dt.tzinfo | None, period: int, today: dt.date
) -> None:
    shown = _shown(moment, zone)
    oldest = oldest_held_start(today, period)
    instant = moment.astimezone(dt.UTC)
    assert is_held(shown, period, today) == (instant >= year_start(oldest.year))


def test_the_edges_of_the_calendar() -> None:
    assert record_day(dt.datetime(9999, 12, 31, 23, 30)) == dt.date.max
    assert year_start(1) == dt.datetime.min.replace(tzinfo=dt.UTC)
    assert year_start(10_000) == dt.datetime.max.replace(tzinfo=dt.UTC)
