"""Opening a person's records needs a reason from the fixed list and lands in the audit trail."""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import Callable

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
    record_lookup,
    state_reason,
)
from tutela.staff.roles import Permission, Role, allows
from tutela.subjects import get_or_create_subject

NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
ADDRESS = "anna.beispiel@example.org"


@pytest.mark.promise("P09")
def test_the_list_matches_the_promise() -> None:
    assert {r.value for r in AccessReason} == {
        "request_from_person",
        "support_case",
        "technical_problem",
        "suspected_contract_violation",
        "legal_obligation",
    }
    assert set(REASON_LABELS) == set(AccessReason)
    # stored codes never change: entries written as support_case read as the support ticket
    assert AccessReason("support_case") is AccessReason.SUPPORT_CASE
    assert REASON_LABELS[AccessReason.SUPPORT_CASE] == "Support ticket"


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


def _screen_for(value: str) -> Callable[[str], str | None]:
    def screen(text: str) -> str | None:
        return "it contains the person's address" if value in text.lower() else None

    return screen


@pytest.mark.promise("P09")
@pytest.mark.parametrize(
    ("reason", "note", "required", "field", "issue"),
    [
        ("", "T-4711", False, "reason", "unknown"),
        ("curiosity", "T-4711", False, "reason", "unknown"),
        ("support_case", "", False, "note", "ticket"),
        ("support_case", "   ", False, "note", "ticket"),
        ("support_case", "customer called about the parcel", False, "note", "ticket"),
        ("technical_problem", "", True, "note", "missing"),
        ("legal_obligation", "x" * (MAX_NOTE + 1), False, "note", "too_long"),
        ("request_from_person", f"asked by {ADDRESS}", False, "note", "personal_data"),
    ],
)
def test_statements_are_refused_naming_field_and_issue(
    reason: str, note: str, required: bool, field: str, issue: str
) -> None:
    with pytest.raises(InvalidInput) as info:
        state_reason(reason, note, note_required=required, screen=_screen_for(ADDRESS))
    assert info.value.extra["field"] == field
    assert info.value.extra["issue"] == issue
    assert info.value.detail.startswith(f"{field}: ")


@pytest.mark.promise("P09")
def test_good_statements_keep_the_code_and_the_tidied_note() -> None:
    ticket = state_reason(" Support_Case ", "  ticket   T-4711 ", note_required=True)
    assert (ticket.reason, ticket.note) == (AccessReason.SUPPORT_CASE, "ticket T-4711")
    assert ticket.stated == "support_case: ticket T-4711"
    bare = state_reason("legal_obligation", None)
    assert (bare.note, bare.stated) == (None, "legal_obligation")
    assert state_reason("technical_problem", "#4711 export fails").note == "#4711 export fails"


@given(st.text(max_size=260))
def test_a_support_ticket_note_is_kept_only_with_a_digit(text: str) -> None:
    tidy = " ".join(text.split())
    if tidy and len(tidy) <= MAX_NOTE and any(ch.isdecimal() for ch in tidy):
        assert state_reason("support_case", text).note == tidy
    else:
        with pytest.raises(InvalidInput, match="note: "):
            state_reason("support_case", text)


@pytest.mark.promise("P09")
def test_a_lookup_names_a_known_person_by_id_and_an_unknown_one_by_digest(
    session: Session,
) -> None:
    clock = FrozenClock(NOW)
    digest = "ab" * 32
    with session.begin():
        known = record_lookup(
            session,
            kind="email",
            subject_id=12,
            lookup=digest,
            reason="technical_problem",
            note="export fails, INC0012345",
            actor="staff:3",
            staff_id=3,
            clock=clock,
        )
        unknown = record_lookup(
            session,
            kind="phone",
            subject_id=None,
            lookup=digest,
            reason="support_case",
            note="T-4711",
            actor="staff:3",
            staff_id=3,
            clock=clock,
        )
    assert known.target == "subject:12"
    assert json.loads(known.payload) == {
        "staff_id": 3,
        "reason": "technical_problem",
        "note": "export fails, INC0012345",
        "kind": "email",
        "subject_id": 12,
        "lookup": None,
    }
    assert unknown.target == f"lookup:{digest}"
    assert (unknown.action, unknown.reason) == ("staff.records_looked_up", "support_case")
    with session.begin():
        assert verify(session).ok


@pytest.mark.promise("P09")
def test_a_lookup_needs_a_note_and_never_takes_the_value_as_its_target(session: Session) -> None:
    lookup = functools.partial(
        record_lookup, session, kind="email", actor="staff:3", clock=FrozenClock(NOW)
    )
    with session.begin():
        with pytest.raises(InvalidInput, match="note: say in a few words"):
            lookup(subject_id=1, lookup=None, reason="legal_obligation", note=" ")
        for digest in (None, ADDRESS, "AB" * 32, "ab" * 31):
            with pytest.raises(InvalidInput, match="lookup: name an unknown person"):
                lookup(
                    subject_id=None,
                    lookup=digest,
                    reason="legal_obligation",
                    note="court order 12/2026",
                )
        with pytest.raises(InvalidInput, match="never names the person"):
            lookup(
                subject_id=1,
                lookup=None,
                reason="request_from_person",
                note=f"mail from {ADDRESS}",
                screen=_screen_for(ADDRESS),
            )
        assert entries(session, action="staff.records_looked_up") == []


@pytest.mark.promise("P09")
def test_support_case_openings_need_the_ticket_id(session: Session) -> None:
    clock = FrozenClock(NOW)
    with session.begin():
        with pytest.raises(InvalidInput, match="give the ticket's id"):
            record_access(session, subject_id=1, reason="support_case", actor="cli", clock=clock)
        assert entries(session, action="staff.subject_opened") == []
