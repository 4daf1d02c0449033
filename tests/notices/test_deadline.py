"""The last sending day: notice periods in Werktage and Arbeitstage, counted back."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tutela.calendar import effective_after_notice
from tutela.notices.deadline import in_time, latest_send_on, latest_send_on_rule, notify_required
from tutela.policy.models import ChangeNotice, GermanState, NoticeUnit


def rule(days: int, unit: NoticeUnit, *states: str, notify: bool = True) -> ChangeNotice:
    chosen: list[GermanState] | str = [GermanState(s) for s in states] if states else "all"
    return ChangeNotice(days=days, unit=unit, states=chosen, notify_subjects=notify)


# law notes § 2.5, vectors W-T1 … W-T7: (notice received, state, last counted Werktag,
# last counted Arbeitstag). The change may take effect the day after the last counted day.
VECTORS = [
    (dt.date(2025, 12, 1), "BY", dt.date(2026, 1, 9), dt.date(2026, 1, 16)),
    (dt.date(2025, 12, 1), "BE", dt.date(2026, 1, 8), dt.date(2026, 1, 15)),
    (dt.date(2025, 10, 15), "BY", dt.date(2025, 11, 20), dt.date(2025, 11, 26)),
    (dt.date(2025, 10, 15), "BE", dt.date(2025, 11, 19), dt.date(2025, 11, 26)),
    (dt.date(2025, 10, 15), "SN", dt.date(2025, 11, 21), dt.date(2025, 11, 28)),
    (dt.date(2026, 5, 4), "BY", dt.date(2026, 6, 11), dt.date(2026, 6, 18)),
    (dt.date(2026, 5, 4), "BE", dt.date(2026, 6, 10), dt.date(2026, 6, 17)),
]
ONE = dt.timedelta(days=1)


@pytest.mark.promise("P20")
@pytest.mark.parametrize(("received", "state", "werktag", "arbeitstag"), VECTORS)
def test_thirty_days_count_back_to_the_law_notes_vectors(
    received: dt.date, state: str, werktag: dt.date, arbeitstag: dt.date
) -> None:
    werktage = rule(30, NoticeUnit.WERKTAGE, state)
    arbeitstage = rule(30, NoticeUnit.ARBEITSTAGE, state)
    assert latest_send_on_rule(werktag + ONE, werktage) == received
    assert latest_send_on_rule(arbeitstag + ONE, arbeitstage) == received


@pytest.mark.promise("P20")
def test_a_holiday_moves_the_deadline_earlier() -> None:
    # 30 Werktage before 2025-11-21 in Bavaria: 1 November (a Saturday and All Saints'
    # Day) is no Werktag there, in Berlin it is. Bavaria's notice must go a day earlier.
    effective = dt.date(2025, 11, 21)
    bavaria = latest_send_on_rule(effective, rule(30, NoticeUnit.WERKTAGE, "BY"))
    berlin = latest_send_on_rule(effective, rule(30, NoticeUnit.WERKTAGE, "BE"))
    assert berlin == dt.date(2025, 10, 16)
    assert bavaria == dt.date(2025, 10, 15)
    # the union of states is the strictest: Bavaria's holiday counts for everyone
    assert latest_send_on_rule(effective, rule(30, NoticeUnit.WERKTAGE)) <= bavaria


def test_the_strictest_rule_wins() -> None:
    effective = dt.date(2026, 6, 1)
    short = rule(10, NoticeUnit.CALENDAR_DAYS)
    long = rule(30, NoticeUnit.WERKTAGE)
    assert latest_send_on(effective, [short, long]) == latest_send_on_rule(effective, long)
    assert latest_send_on(effective, [short]) == dt.date(2026, 5, 21)
    assert latest_send_on(effective, []) == dt.date(2026, 5, 31)


def test_zero_days_means_the_day_before() -> None:
    assert latest_send_on_rule(dt.date(2026, 6, 1), rule(0, NoticeUnit.WERKTAGE)) == dt.date(
        2026, 5, 31
    )


def test_notify_required_follows_any_rule() -> None:
    quiet = rule(30, NoticeUnit.WERKTAGE, notify=False)
    loud = rule(30, NoticeUnit.WERKTAGE)
    assert not notify_required([quiet])
    assert notify_required([quiet, loud])


units = st.sampled_from(list(NoticeUnit))
states = st.sampled_from(["BY", "BE", "SN", "NW", "HH"])
days = st.dates(min_value=dt.date(2024, 1, 1), max_value=dt.date(2030, 12, 31))


@given(effective=days, count=st.integers(min_value=0, max_value=60), unit=units, state=states)
def test_latest_send_day_is_the_last_day_in_time(
    effective: dt.date, count: int, unit: NoticeUnit, state: str
) -> None:
    chosen = rule(count, unit, state)
    last = latest_send_on_rule(effective, chosen)
    calendar_unit = {"werktage": "werktage", "arbeitstage": "arbeitstage"}.get(
        unit.value, "calendar_days"
    )
    assert effective_after_notice(last, count, unit=calendar_unit, states=[state]) <= effective  # type: ignore[arg-type]
    assert in_time(last, effective, [chosen])
    assert not in_time(last + ONE, effective, [chosen])
