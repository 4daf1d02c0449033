"""German business days and legal month deadlines (law notes §§ 1.1, 2.5, 2.6)."""

from __future__ import annotations

import datetime as dt
from calendar import monthrange

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tutela.calendar import (
    STATES,
    Unit,
    add_business_days,
    add_calendar_days,
    count_business_days,
    effective_after_notice,
    holidays_in,
    is_arbeitstag,
    is_holiday,
    is_werktag,
    month_deadline,
)

D = dt.date.fromisoformat
ALL_UNITS_LIST: list[Unit] = ["werktage", "arbeitstage", "calendar_days"]

# ---------------------------------------------------------------- vectors W-T1..W-T7

WERKTAGE_VECTORS = [
    pytest.param("2025-12-01", "BY", "2026-01-09", "2026-01-16", id="W-T1"),
    pytest.param("2025-12-01", "BE", "2026-01-08", "2026-01-15", id="W-T2"),
    pytest.param("2025-10-15", "BY", "2025-11-20", "2025-11-26", id="W-T3"),
    pytest.param("2025-10-15", "BE", "2025-11-19", "2025-11-26", id="W-T4"),
    pytest.param("2025-10-15", "SN", "2025-11-21", "2025-11-28", id="W-T5"),
    pytest.param("2026-05-04", "BY", "2026-06-11", "2026-06-18", id="W-T6"),
    pytest.param("2026-05-04", "BE", "2026-06-10", "2026-06-17", id="W-T7"),
]


@pytest.mark.promise("P20")
@pytest.mark.parametrize(("notice", "state", "werktage", "arbeitstage"), WERKTAGE_VECTORS)
def test_thirty_business_days_match_the_legal_vectors(
    notice: str, state: str, werktage: str, arbeitstage: str
) -> None:
    start = D(notice)
    assert add_business_days(start, 30, unit="werktage", states=[state]) == D(werktage)
    assert add_business_days(start, 30, unit="arbeitstage", states=[state]) == D(arbeitstage)


@pytest.mark.promise("P20")
@pytest.mark.parametrize(("notice", "state", "werktage", "arbeitstage"), WERKTAGE_VECTORS)
def test_change_takes_effect_the_day_after_the_last_counted_day(
    notice: str, state: str, werktage: str, arbeitstage: str
) -> None:
    start = D(notice)
    one = dt.timedelta(days=1)
    assert effective_after_notice(start, 30, unit="werktage", states=[state]) == D(werktage) + one
    effective = effective_after_notice(start, 30, unit="arbeitstage", states=[state])
    assert effective == D(arbeitstage) + one


@pytest.mark.parametrize(("notice", "state", "werktage", "arbeitstage"), WERKTAGE_VECTORS)
def test_counting_back_the_vectors_gives_thirty(
    notice: str, state: str, werktage: str, arbeitstage: str
) -> None:
    start = D(notice)
    assert count_business_days(start, D(werktage), unit="werktage", states=[state]) == 30
    assert count_business_days(start, D(arbeitstage), unit="arbeitstage", states=[state]) == 30


def test_saturday_holiday_is_not_a_werktag_in_bavaria_but_is_in_berlin() -> None:
    all_saints = D("2025-11-01")  # a Saturday
    assert not is_werktag(all_saints, ["BY"])
    assert is_werktag(all_saints, ["BE"])
    assert not is_arbeitstag(all_saints, ["BE"])


def test_sunday_is_neither_werktag_nor_arbeitstag() -> None:
    sunday = D("2025-11-02")
    assert not is_werktag(sunday, "all")
    assert not is_arbeitstag(sunday, "all")


def test_effective_after_notice_with_zero_days_is_the_next_day() -> None:
    assert effective_after_notice(D("2025-12-31"), 0, unit="werktage", states="all") == D(
        "2026-01-01"
    )


def test_effective_date_is_not_moved_off_a_holiday() -> None:
    # 1 Werktag after Wed 2025-12-24 in BY: Sat 27 Dec (25/26 are holidays) -> effective Sun 28.
    assert add_business_days(D("2025-12-24"), 1, unit="werktage", states=["BY"]) == D("2025-12-27")
    assert effective_after_notice(D("2025-12-24"), 1, unit="werktage", states=["BY"]) == D(
        "2025-12-28"
    )


def test_union_of_states_counts_every_states_holidays() -> None:
    # W-T3/W-T5 start: BY has 1 Nov, SN has 31 Oct and 19 Nov; the union skips all three.
    start = D("2025-10-15")
    union = add_business_days(start, 30, unit="werktage", states=["BY", "SN"])
    assert union == D("2025-11-22")
    assert union > add_business_days(start, 30, unit="werktage", states=["BY"])
    assert union > add_business_days(start, 30, unit="werktage", states=["SN"])


def test_calendar_days_unit_counts_every_day() -> None:
    start = D("2025-12-20")
    assert add_business_days(start, 14, unit="calendar_days", states="all") == D("2026-01-03")
    assert add_calendar_days(start, 14) == D("2026-01-03")
    assert count_business_days(start, D("2026-01-03"), unit="calendar_days", states="all") == 14


def test_count_is_zero_when_end_is_not_after_start() -> None:
    day = D("2025-06-02")
    assert count_business_days(day, day, unit="werktage", states="all") == 0
    assert (
        count_business_days(day, day - dt.timedelta(days=9), unit="arbeitstage", states="all") == 0
    )


# ---------------------------------------------------------------- holidays (§ 2.6)


@pytest.mark.parametrize(
    ("day", "holiday_in", "working_in"),
    [
        ("2025-01-06", ["BW", "BY", "ST"], ["BE", "NW", "SN"]),  # Heilige Drei Könige
        ("2025-03-08", ["BE", "MV"], ["BY", "HH"]),  # Frauentag
        ("2025-06-19", ["BW", "BY", "HE", "NW", "RP", "SL"], ["BE", "SN", "TH", "HH"]),
        ("2025-09-20", ["TH"], []),  # Weltkindertag (a Saturday in 2025)
        ("2025-10-31", ["BB", "MV", "SN", "ST", "TH", "HB", "HH", "NI", "SH"], ["BY", "BE"]),
        ("2025-11-01", ["BW", "BY", "NW", "RP", "SL"], ["BE", "SN"]),
        ("2025-11-19", ["SN"], ["BY", "BE"]),  # Buß- und Bettag
        ("2025-05-08", ["BE"], ["BB"]),  # one-off in Berlin
    ],
)
def test_state_holidays(day: str, holiday_in: list[str], working_in: list[str]) -> None:
    for state in holiday_in:
        assert is_holiday(D(day), [state]), state
    for state in working_in:
        assert not is_holiday(D(day), [state]), state


@pytest.mark.parametrize(
    "day", ["2026-01-01", "2026-04-03", "2026-04-06", "2026-05-01", "2026-05-14", "2026-05-25"]
)
def test_nationwide_holidays_hold_in_every_state(day: str) -> None:
    for state in STATES:
        assert is_holiday(D(day), [state]), state


@pytest.mark.parametrize("day", ["2025-12-24", "2025-12-31"])
def test_christmas_eve_and_new_years_eve_are_not_holidays(day: str) -> None:
    assert not is_holiday(D(day), "all")


def test_assumption_day_is_left_out_in_bavaria_but_kept_in_saarland() -> None:
    assumption = D("2025-08-15")
    assert not is_holiday(assumption, ["BY"])
    assert is_holiday(assumption, ["SL"])


def test_holidays_in_all_is_the_union() -> None:
    year = holidays_in(2025, "all")
    assert holidays_in(2025, ["BY"]) <= year
    assert holidays_in(2025, ["SN"]) <= year
    assert D("2025-11-19") in year
    assert D("2025-12-24") not in year


def test_a_bare_state_code_is_one_state() -> None:
    assert is_holiday(D("2025-11-19"), "SN")
    assert not is_holiday(D("2025-11-19"), "BY")


# ---------------------------------------------------------------- G12-T1..T9 month deadlines


@pytest.mark.promise("P16")
@pytest.mark.parametrize(
    ("received", "state", "deadline"),
    [
        pytest.param("2025-01-15", "BY", "2025-02-17", id="G12-T1"),
        pytest.param("2025-01-31", "BY", "2025-02-28", id="G12-T2-plain"),
        pytest.param("2024-01-31", "BY", "2024-02-29", id="G12-T2-leap"),
        pytest.param("2025-03-31", "BY", "2025-04-30", id="G12-T3"),
        pytest.param("2025-05-03", "BY", "2025-06-03", id="G12-T4"),
        pytest.param("2025-04-18", "BY", "2025-05-19", id="G12-T5"),
        pytest.param("2024-12-01", "BY", "2025-01-02", id="G12-T6"),
        pytest.param("2025-10-01", "BY", "2025-11-03", id="G12-T7"),
        pytest.param("2026-05-04", "BY", "2026-06-05", id="G12-T8-BY"),
        pytest.param("2026-05-04", "BE", "2026-06-04", id="G12-T8-BE"),
        pytest.param("2025-10-19", "SN", "2025-11-20", id="G12-T9-SN"),
        pytest.param("2025-10-19", "BY", "2025-11-19", id="G12-T9-BY"),
    ],
)
def test_month_deadline_vectors(received: str, state: str, deadline: str) -> None:
    assert month_deadline(D(received), state=state) == D(deadline)


def test_extension_readings_of_g12_t10() -> None:
    received = D("2025-01-31")
    assert month_deadline(received, 3, state="BY") == D("2025-04-30")
    first = month_deadline(received, state="BY")
    assert month_deadline(first, 2, state="BY") == D("2025-04-28")


def test_month_deadline_crosses_the_year() -> None:
    assert month_deadline(D("2025-11-30"), 3, state="BE") == D("2026-03-02")  # 28 Feb is a Sat


# ---------------------------------------------------------------- validation


def test_unknown_state_names_the_valid_codes() -> None:
    with pytest.raises(ValueError, match="Unknown German state code 'DE-BY'") as info:
        is_holiday(D("2025-01-01"), ["DE-BY"])
    assert "BW" in str(info.value)
    assert "TH" in str(info.value)
    with pytest.raises(ValueError, match="Unknown German state code 'XX'"):
        month_deadline(D("2025-01-01"), state="XX")


def test_empty_state_selection_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one"):
        add_business_days(D("2025-01-01"), 3, unit="werktage", states=[])


@pytest.mark.parametrize("unit", ALL_UNITS_LIST)
def test_negative_count_is_refused(unit: Unit) -> None:
    with pytest.raises(ValueError, match="count must be zero or positive"):
        add_business_days(D("2025-01-01"), -1, unit=unit, states="all")


def test_negative_months_and_days_are_refused() -> None:
    with pytest.raises(ValueError, match="months must be zero or positive"):
        month_deadline(D("2025-01-01"), -1, state="BY")
    with pytest.raises(ValueError, match="days must be zero or positive"):
        add_calendar_days(D("2025-01-01"), -2)


def test_unknown_unit_is_refused() -> None:
    with pytest.raises(ValueError, match="Unknown unit 'weekdays'"):
        add_business_days(D("2025-01-01"), 1, unit="weekdays", states="all")  # type: ignore[arg-type]


# ---------------------------------------------------------------- properties

dates = st.dates(min_value=dt.date(1995, 1, 1), max_value=dt.date(2080, 12, 31))
state_lists = st.lists(st.sampled_from(STATES), min_size=1, max_size=4, unique=True)
BUSINESS_UNITS: tuple[Unit, ...] = ("werktage", "arbeitstage")
ALL_UNITS: tuple[Unit, ...] = ("werktage", "arbeitstage", "calendar_days")
business_units = st.sampled_from(BUSINESS_UNITS)
all_units = st.sampled_from(ALL_UNITS)
counts = st.integers(min_value=0, max_value=60)


@settings(max_examples=150, deadline=None)
@given(
    start=dates,
    count=st.integers(min_value=1, max_value=60),
    unit=business_units,
    states=state_lists,
)
def test_result_is_itself_a_counted_day(
    start: dt.date, count: int, unit: Unit, states: list[str]
) -> None:
    end = add_business_days(start, count, unit=unit, states=states)
    check = is_werktag if unit == "werktage" else is_arbeitstag
    assert check(end, states)
    assert end > start


@settings(max_examples=150, deadline=None)
@given(start=dates, count=counts, unit=all_units, states=state_lists)
def test_count_inverts_add(start: dt.date, count: int, unit: Unit, states: list[str]) -> None:
    end = add_business_days(start, count, unit=unit, states=states)
    assert count_business_days(start, end, unit=unit, states=states) == count
    if count:
        before = end - dt.timedelta(days=1)
        assert count_business_days(start, before, unit=unit, states=states) == count - 1


@settings(max_examples=150, deadline=None)
@given(start=dates, count=counts, states=state_lists)
def test_arbeitstage_never_end_before_werktage(
    start: dt.date, count: int, states: list[str]
) -> None:
    werk = add_business_days(start, count, unit="werktage", states=states)
    arbeit = add_business_days(start, count, unit="arbeitstage", states=states)
    assert arbeit >= werk >= start
    assert add_business_days(start, count, unit="calendar_days", states=states) <= werk


@settings(max_examples=150, deadline=None)
@given(
    start=dates,
    count=counts,
    unit=business_units,
    states=state_lists,
    extra=st.sampled_from(STATES),
)
def test_union_never_ends_earlier_than_a_single_state(
    start: dt.date, count: int, unit: Unit, states: list[str], extra: str
) -> None:
    single = add_business_days(start, count, unit=unit, states=[extra])
    union = add_business_days(start, count, unit=unit, states=[*states, extra])
    everywhere = add_business_days(start, count, unit=unit, states="all")
    assert single <= union <= everywhere


@settings(max_examples=200, deadline=None)
@given(received=dates, months=st.integers(min_value=0, max_value=14), state=st.sampled_from(STATES))
def test_month_deadline_is_a_working_day_on_or_after_the_raw_date(
    received: dt.date, months: int, state: str
) -> None:
    deadline = month_deadline(received, months, state=state)
    assert is_arbeitstag(deadline, [state])
    index = received.year * 12 + received.month - 1 + months
    year, month = index // 12, index % 12 + 1
    raw = dt.date(year, month, min(received.day, monthrange(year, month)[1]))
    assert deadline >= raw
    # The shift never skips a working day: every day from raw up to the deadline is off.
    day = raw
    while day < deadline:
        assert not is_arbeitstag(day, [state])
        day += dt.timedelta(days=1)


@settings(max_examples=100, deadline=None)
@given(day=dates, states=state_lists)
def test_arbeitstag_implies_werktag(day: dt.date, states: list[str]) -> None:
    if is_arbeitstag(day, states):
        assert is_werktag(day, states)
    if is_holiday(day, states):
        assert not is_werktag(day, states)


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        # 23:30 UTC in winter is already the next day in Germany (UTC+1).
        (dt.datetime(2025, 12, 1, 23, 30, tzinfo=dt.UTC), dt.date(2025, 12, 2)),
        # 21:59 UTC in summer is 23:59 in Germany (UTC+2): still the same day.
        (dt.datetime(2026, 7, 1, 21, 59, tzinfo=dt.UTC), dt.date(2026, 7, 1)),
        (dt.datetime(2026, 7, 1, 22, 0, tzinfo=dt.UTC), dt.date(2026, 7, 2)),
    ],
)
def test_german_date(moment: dt.datetime, expected: dt.date) -> None:
    from tutela.calendar import german_date

    assert german_date(moment) == expected


def test_german_date_refuses_naive() -> None:
    from tutela.calendar import german_date

    with pytest.raises(ValueError, match="timezone-aware"):
        german_date(dt.datetime(2026, 1, 1))
