"""Opening a person's records needs a reason from the fixed list and lands in the audit trail."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from tutela.audit import entries, verify
from tutela.clock import FrozenClock
from tutela.crypto import MasterKey
from tutela.errors import InvalidInput
from tutela.staff.access import (
    MAX_NOTE,
    REASON_LABELS,
    AccessReason,
    parse_reason,
    record_access,
)
from tutela.staff.roles import Permission, Role, allows
from tutela.subjects import get_or_create_subject

NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
ADDRESS = "anna.beispiel@example.org"


def test_the_list_matches_the_promise() -> None:
    assert {r.value for r in AccessReason} == {
        "request_from_person",
        "support_case",
        "suspected_contract_violation",
        "legal_obligation",
    }
    assert set(REASON_LABELS) == set(AccessReason)


@pytest.mark.promise("P09")
def test_unknown_reasons_are_refused_naming_the_field() -> None:
    assert parse_reason(" Support_Case ") is AccessReason.SUPPORT_CASE
    with pytest.raises(InvalidInput, match=r"reason: .*use one of request_from_person") as info:
        parse_reason("curiosity")
    assert info.value.extra["field"] == "reason"


@given(st.text(max_size=40))
def test_only_listed_codes_parse(text: str) -> None:
    try:
        parsed = parse_reason(text)
    except InvalidInput:
        assert text.strip().lower() not in {r.value for r in AccessReason}
    else:
        assert parsed.value == text.strip().lower()


@pytest.mark.promise("P09")
def test_opening_is_audited_without_personal_data(session: Session) -> None:
    clock = FrozenClock(NOW)
    master = MasterKey.generate()
    with session.begin():
        subject, _ = get_or_create_subject(
            session, kind="email", value=ADDRESS, master=master, clock=clock, actor="test"
        )
        entry = record_access(
            session,
            subject_id=subject.id,
            reason="support_case",
            actor="staff:7",
            staff_id=7,
            note="  ticket   4711 ",
            clock=clock,
        )
    with session.begin():
        opened = entries(session, action="staff.subject_opened")
        assert [e.sequence for e in opened] == [entry.sequence]
        row = opened[0]
        assert row.target == f"subject:{subject.id}"
        assert row.reason == "support_case"
        assert row.actor == "staff:7"
        assert json.loads(row.payload) == {
            "staff_id": 7,
            "subject_id": subject.id,
            "reason": "support_case",
            "note": "ticket 4711",
        }
        stored = " ".join([row.payload, row.target, row.reason or "", row.actor])
        assert "anna" not in stored.lower()
        assert verify(session).ok


@pytest.mark.promise("P09")
def test_bad_reason_or_long_note_writes_nothing(session: Session) -> None:
    clock = FrozenClock(NOW)
    with session.begin():
        with pytest.raises(InvalidInput, match="reason"):
            record_access(session, subject_id=1, reason="", actor="cli", clock=clock)
        with pytest.raises(InvalidInput, match="note: keep the note"):
            record_access(
                session,
                subject_id=1,
                reason=AccessReason.LEGAL_OBLIGATION,
                actor="cli",
                note="x" * (MAX_NOTE + 1),
                clock=clock,
            )
        assert entries(session, action="staff.subject_opened") == []


@pytest.mark.promise("P09")
def test_roles_for_consent_records() -> None:
    for role in Role:
        assert allows(role, Permission.VIEW_CONSENT)
        assert allows(role, Permission.OPEN_SUBJECT_RECORDS)
        assert allows(role, Permission.RECORD_WITHDRAWALS)
    assert allows(Role.ADMIN, Permission.EXPORT_CONSENT_RECEIPTS)
    assert allows(Role.DPO, Permission.EXPORT_CONSENT_RECEIPTS)
    assert not allows(Role.SUPPORT, Permission.EXPORT_CONSENT_RECEIPTS)
