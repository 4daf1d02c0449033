"""Deadlines: every vector of law.md § 1.1 and § 3.1, and properties of the calendar."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tutela.calendar import STATES, is_arbeitstag, month_deadline
from tutela.dsr.deadlines import (
    ccpa_business_day,
    ccpa_day,
    deadlines_for,
    gdpr_deadline,
    gdpr_extension_limit,
    receipt_date,
)
from tutela.dsr.terms import Jurisdiction, RequestType

D = dt.date


@pytest.mark.promise("P16")
@pytest.mark.parametrize(
    ("vector", "received", "state", "expected"),
    [
        ("G12-T1", D(2025, 1, 15), "BY", D(2025, 2, 17)),
        ("G12-T2", D(2025, 1, 31), "BY", D(2025, 2, 28)),
        ("G12-T2 leap", D(2024, 1, 31), "BY", D(2024, 2, 29)),
        ("G12-T3", D(2025, 3, 31), "BY", D(2025, 4, 30)),
        ("G12-T4", D(2025, 5, 3), "BY", D(2025, 6, 3)),
        ("G12-T5", D(2025, 4, 18), "BY", D(2025, 5, 19)),
        ("G12-T6", D(2024, 12, 1), "BY", D(2025, 1, 2)),
        ("G12-T7", D(2025, 10, 1), "BY", D(2025, 11, 3)),
        ("G12-T8 BY", D(2026, 5, 4), "BY", D(2026, 6, 5)),
        ("G12-T8 BE", D(2026, 5, 4), "BE", D(2026, 6, 4)),
        ("G12-T9 SN", D(2025, 10, 19), "SN", D(2025, 11, 20)),
        ("G12-T9 BY", D(2025, 10, 19), "BY", D(2025, 11, 19)),
    ],
)
def test_gdpr_vectors(vector: str, received: dt.date, state: str, expected: dt.date) -> None:
    assert gdpr_deadline(received, state=state) == expected, vector


@pytest.mark.promise("P16")
def test_g12_t10_extension_takes_the_earlier_limit() -> None:
    received = D(2025, 1, 31)
    assert month_deadline(received, 3, state="BY") == D(2025, 4, 30)
    assert gdpr_extension_limit(received, state="BY") == D(2025, 4, 28)


def test_without_a_state_only_shared_holidays_count() -> None:
    # Corpus Christi 2026-06-04 is a holiday in BY but not in BE: without a state the
    # earlier end (no shift) applies.
    assert gdpr_deadline(D(2026, 5, 4), state=None) == D(2026, 6, 4)
    # New Year is a holiday everywhere.
    assert gdpr_deadline(D(2024, 12, 1), state=None) == D(2025, 1, 2)


@pytest.mark.promise("P24")
def test_ccpa_example_counts_the_day_of_receipt() -> None:
    assert ccpa_day(D(2025, 1, 1), 45) == D(2025, 2, 14)
    dates = deadlines_for(
        RequestType.KNOW, dt.datetime(2025, 1, 1, 20, 0, tzinfo=dt.UTC), state="BY"
    )
    assert dates.received_on == D(2025, 1, 1)
    assert dates.legal == D(2025, 2, 14)
    assert dates.extension_limit == D(2025, 3, 31)  # day 90
    assert (dates.extension_limit - dates.received_on).days + 1 == 90
    # 10 business days, 1 January (a Wednesday) being day 1
    assert dates.confirm_by == D(2025, 1, 14)


@pytest.mark.promise("P24")
def test_ccpa_business_days_skip_weekends_only() -> None:
    assert ccpa_business_day(D(2025, 1, 1), 1) == D(2025, 1, 1)
    assert ccpa_business_day(D(2025, 1, 4), 1) == D(2025, 1, 6)  # Saturday → Monday is day 1
    assert ccpa_business_day(D(2025, 1, 6), 15) == D(2025, 1, 24)


@pytest.mark.promise("P24")
def test_ccpa_opt_out_within_15_business_days_without_extension() -> None:
    dates = deadlines_for(
        RequestType.OPT_OUT_SALE_SHARE, dt.datetime(2025, 1, 6, 18, 0, tzinfo=dt.UTC), state="BY"
    )
    assert dates.legal == D(2025, 1, 24)
    assert dates.extension_limit is None
    assert dates.confirm_by is None
    assert dates.target <= dates.legal


def test_receipt_dates_follow_germany_and_california() -> None:
    late = dt.datetime(2025, 1, 31, 23, 30, tzinfo=dt.UTC)  # 1 February in Berlin
    assert receipt_date(late, Jurisdiction.GDPR) == D(2025, 2, 1)
    assert receipt_date(late, Jurisdiction.CCPA) == D(2025, 1, 31)
    gdpr = deadlines_for(RequestType.ACCESS, late, state="BY")
    assert gdpr.received_on == D(2025, 2, 1)
    assert gdpr.legal == D(2025, 3, 3)  # 1 March 2025 is a Saturday
    with pytest.raises(ValueError, match="timezone-aware"):
        receipt_date(dt.datetime(2025, 1, 1), Jurisdiction.GDPR)


def test_target_is_28_days_moved_back_to_a_working_day() -> None:
    monday = deadlines_for(
        RequestType.ACCESS, dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC), state="BY"
    )
    assert monday.received_on == D(2026, 3, 2)
    assert monday.target == D(2026, 3, 30)
    assert monday.legal == D(2026, 4, 2)
    # Saturday 7 March + 28 days = Saturday 4 April; Friday 3 April is Good Friday.
    saturday = deadlines_for(
        RequestType.ACCESS, dt.datetime(2026, 3, 7, 9, tzinfo=dt.UTC), state="BY"
    )
    assert saturday.target == D(2026, 4, 2)
    assert saturday.legal == D(2026, 4, 7)  # Monday 6 April is Easter Monday


# ---------------------------------------------------------------- properties

dates = st.dates(min_value=D(2020, 1, 1), max_value=D(2035, 12, 31))
states = st.sampled_from(STATES)


@pytest.mark.promise("P16")
@given(received=dates, state=states)
@settings(max_examples=300, deadline=None)
def test_deadline_is_at_least_28_days_and_a_working_day(received: dt.date, state: str) -> None:
    legal = gdpr_deadline(received, state=state)
    assert legal >= received + dt.timedelta(days=28)
    assert legal.weekday() < 5
    assert is_arbeitstag(legal, state)


@given(first=dates, second=dates, state=states)
@settings(max_examples=300, deadline=None)
def test_deadline_is_monotonic(first: dt.date, second: dt.date, state: str) -> None:
    early, late = sorted((first, second))
    assert gdpr_deadline(early, state=state) <= gdpr_deadline(late, state=state)


@pytest.mark.promise("P16")
@given(received=dates, state=st.one_of(states, st.none()))
@settings(max_examples=300, deadline=None)
def test_extension_never_beyond_receipt_plus_three_months(
    received: dt.date, state: str | None
) -> None:
    legal = gdpr_deadline(received, state=state)
    limit = gdpr_extension_limit(received, state=state)
    three = (
        month_deadline(received, 3, state=state)
        if state is not None
        else min(month_deadline(received, 3, state=code) for code in STATES)
    )
    assert legal < limit <= three


@given(
    moment=st.datetimes(
        min_value=dt.datetime(2020, 1, 1),
        max_value=dt.datetime(2035, 12, 31),
        timezones=st.just(dt.UTC),
    ),
    kind=st.sampled_from(list(RequestType)),
)
@settings(max_examples=300, deadline=None)
def test_target_never_after_the_legal_deadline(moment: dt.datetime, kind: RequestType) -> None:
    dates_ = deadlines_for(kind, moment, state="BY")
    assert dates_.received_on < dates_.target <= dates_.legal
    if dates_.extension_limit is not None:
        assert dates_.extension_limit > dates_.legal
