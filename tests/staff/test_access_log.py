"""The DPO's view of the trail: openings of people's records per staff member and period."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import ClassVar

import pytest
from sqlalchemy.orm import Session

from tutela.audit import DomainEvent, emit
from tutela.clock import FrozenClock
from tutela.dsr.events import RequestDetailsOpened
from tutela.errors import InvalidInput
from tutela.staff.access import record_access, record_lookup
from tutela.staff.access_log import (
    ACCESS_ACTIONS,
    REQUEST_DETAILS_OPENED,
    access_log,
    check_period,
    default_period,
    lookups_since,
    staff_choices,
)
from tutela.staff.models import StaffUser

NOW = dt.datetime(2026, 3, 20, 9, 0, tzinfo=dt.UTC)
TODAY = dt.date(2026, 3, 20)
DIGEST = "c0" * 32


@dataclass(frozen=True, kw_only=True)
class _Unrelated(DomainEvent):
    action: ClassVar[str] = "test.unrelated"
    staff_id: int

    def target(self) -> str:
        return "subject:1"


def _staff(session: Session, name: str) -> int:
    user = StaffUser(
        email=f"{name.lower()}@example.org",
        display_name=name,
        role="support",
        password_hash="not-a-real-hash",
        active=True,
        created_at=NOW,
    )
    session.add(user)
    session.flush()
    return user.id


def _at(moment: dt.datetime) -> FrozenClock:
    return FrozenClock(moment)


def _world(session: Session) -> tuple[int, int]:
    """Berta (two openings), Anton (one request opening, one long ago), the command line."""
    with session.begin():
        berta, anton = _staff(session, "Berta"), _staff(session, "Anton")
        record_lookup(
            session,
            kind="email",
            subject_id=None,
            lookup=DIGEST,
            reason="support_case",
            note="T-4711",
            actor=f"staff:{berta}",
            staff_id=berta,
            clock=_at(NOW - dt.timedelta(days=2)),
        )
        record_access(
            session,
            subject_id=7,
            reason="legal_obligation",
            actor=f"staff:{berta}",
            staff_id=berta,
            clock=_at(NOW - dt.timedelta(days=1)),
        )
        emit(
            session,
            RequestDetailsOpened(request_id=5, staff_id=anton, reason="technical_problem"),
            actor=f"staff:{anton}",
            clock=_at(NOW - dt.timedelta(days=3)),
            reason="technical_problem: INC0012345",
        )
        record_access(
            session,
            subject_id=8,
            reason="support_case",
            note="T-9",
            actor=f"staff:{anton}",
            staff_id=anton,
            clock=_at(NOW - dt.timedelta(days=40)),
        )
        record_access(
            session,
            subject_id=9,
            reason="request_from_person",
            actor="cli",
            clock=_at(NOW - dt.timedelta(hours=1)),
        )
        emit(session, _Unrelated(staff_id=berta), actor=f"staff:{berta}", clock=_at(NOW))
    return berta, anton


def test_the_request_opening_action_is_the_one_dsr_writes() -> None:
    assert RequestDetailsOpened.action == REQUEST_DETAILS_OPENED
    assert set(ACCESS_ACTIONS) == {
        "staff.subject_opened",
        "staff.records_looked_up",
        "dsr.details_opened",
    }


@pytest.mark.promise("P09")
def test_counts_per_staff_member_and_reason_for_the_last_30_days(session: Session) -> None:
    berta, anton = _world(session)
    start, end = default_period(TODAY)
    assert (start, end) == (dt.date(2026, 2, 19), TODAY)
    with session.begin():
        log = access_log(session, start=start, end=end)
    assert log.total == 4
    assert dict(log.by_reason) == {
        "legal_obligation": 1,
        "request_from_person": 1,
        "support_case": 1,
        "technical_problem": 1,
    }
    totals = {(t.actor, t.staff_id, t.name): (t.total, dict(t.by_reason)) for t in log.staff}
    assert totals == {
        (f"staff:{berta}", berta, "Berta"): (2, {"legal_obligation": 1, "support_case": 1}),
        (f"staff:{anton}", anton, "Anton"): (1, {"technical_problem": 1}),
        ("cli", None, None): (1, {"request_from_person": 1}),
    }
    assert log.staff[0].name == "Berta"  # the most accesses first
    listed = [(a.what, a.reason, a.note, a.target) for a in log.entries]
    assert listed == [  # newest first
        ("consent_records", "request_from_person", None, "subject:9"),
        ("consent_records", "legal_obligation", None, "subject:7"),
        ("store_records", "support_case", "T-4711", f"lookup:{DIGEST}"),
        ("request_details", "technical_problem", "INC0012345", "dsr:5"),
    ]
    assert log.complete


@pytest.mark.promise("P09")
def test_filters_by_staff_member_and_period_and_caps_the_list(session: Session) -> None:
    berta, anton = _world(session)
    with session.begin():
        only_anton = access_log(session, start=dt.date(2026, 1, 1), end=TODAY, staff_id=anton)
        early = access_log(session, start=dt.date(2026, 2, 1), end=dt.date(2026, 2, 10))
        capped = access_log(session, start=dt.date(2026, 2, 19), end=TODAY, limit=2)
    assert [(a.reason, a.note) for a in only_anton.entries] == [
        ("technical_problem", "INC0012345"),
        ("support_case", "T-9"),
    ]
    assert [t.actor for t in only_anton.staff] == [f"staff:{anton}"]
    assert early.total == 1  # 40 days before 20 March is 8 February
    assert early.entries[0].target == "subject:8"
    assert (capped.total, len(capped.entries), capped.complete) == (4, 2, False)
    assert sum(t.total for t in capped.staff) == 4  # the counts cover the whole period
    assert berta not in {a.staff_id for a in only_anton.entries}


@pytest.mark.promise("P09")
def test_days_are_german_calendar_days(session: Session) -> None:
    late = dt.datetime(2026, 2, 28, 23, 30, tzinfo=dt.UTC)  # 00:30 on 1 March in Berlin
    with session.begin():
        record_access(
            session, subject_id=1, reason="legal_obligation", actor="cli", clock=_at(late)
        )
    with session.begin():
        march = access_log(session, start=dt.date(2026, 3, 1), end=dt.date(2026, 3, 1))
        february = access_log(session, start=dt.date(2026, 2, 28), end=dt.date(2026, 2, 28))
    assert (march.total, february.total) == (1, 0)


def test_lookups_since_counts_one_members_store_lookups(session: Session) -> None:
    berta, anton = _world(session)
    with session.begin():
        recent = lookups_since(session, actor=f"staff:{berta}", since=NOW - dt.timedelta(days=3))
        later = lookups_since(session, actor=f"staff:{berta}", since=NOW - dt.timedelta(days=1))
        other = lookups_since(session, actor=f"staff:{anton}", since=NOW - dt.timedelta(days=90))
    assert (recent, later, other) == (1, 0, 0)


def test_staff_choices_by_name(session: Session) -> None:
    berta, anton = _world(session)
    with session.begin():
        assert staff_choices(session) == [(anton, "Anton"), (berta, "Berta")]


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        (dt.date(2026, 3, 2), dt.date(2026, 3, 1), "starts after it ends"),
        (dt.date(2025, 1, 1), dt.date(2026, 3, 1), "at most 366 days"),
    ],
)
def test_bad_periods_are_refused(start: dt.date, end: dt.date, message: str) -> None:
    with pytest.raises(InvalidInput, match=message) as info:
        check_period(start, end)
    assert info.value.extra["field"] == "start"
    check_period(dt.date(2025, 3, 2), dt.date(2026, 3, 2))  # a year and a day is fine
