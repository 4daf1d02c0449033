"""The ledger: events with proof, state in the same transaction, decisions, the chain."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from tutela.audit import AuditEntry
from tutela.audit import verify as verify_audit
from tutela.clock import FrozenClock
from tutela.consent import (
    ConsentEvent,
    ConsentLedgerHead,
    ConsentState,
    Proof,
    Reason,
    Suppression,
    check,
    events_of,
    open_proof,
    record,
    verify_ledger,
)
from tutela.consent import batch as batch_module
from tutela.consent import ledger as ledger_module
from tutela.consent.batch import record_many
from tutela.consent.ledger import LedgerItem
from tutela.consent.notice import notice_hash
from tutela.crypto import MasterKey
from tutela.errors import Conflict, NotFound
from tutela.policy.models import Declaration, Purpose, Text
from tutela.policy.models_db import PolicyVersion
from tutela.subjects import Subject, SubjectErased, erase_subject

Note = Callable[..., ConsentEvent]
Person = Callable[..., Subject]


def _ask(
    session: Session,
    master: MasterKey,
    clock: FrozenClock,
    purpose: str,
    **who: object,
) -> tuple[bool, Reason]:
    with session.begin():
        decision = check(session, purpose_id=purpose, master=master, clock=clock, **who)  # type: ignore[arg-type]
    return decision.allowed, decision.reason


@pytest.mark.promise("P04")
@pytest.mark.promise("P06")
@pytest.mark.usefixtures("published")
def test_grant_confirm_withdraw(
    session: Session,
    session_factory: sessionmaker[Session],
    master: MasterKey,
    clock: FrozenClock,
    person: Person,
    note: Note,
) -> None:
    anna = person()
    email = {"kind": "email", "value": "Anna@Example.org"}
    assert _ask(session, master, clock, "newsletter", **email) == (False, Reason.NO_CONSENT)
    note(anna, "newsletter", "given", ip="203.0.113.77", user_agent="Mail/1.0")
    assert _ask(session, master, clock, "newsletter", **email) == (False, Reason.NOT_CONFIRMED)
    note(anna, "newsletter", "confirmed", channel="link_in_message")
    assert _ask(session, master, clock, "newsletter", **email) == (True, Reason.CONSENT_CONFIRMED)
    assert _ask(session, master, clock, "newsletter", subject=anna) == (
        True,
        Reason.CONSENT_CONFIRMED,
    )
    # A withdrawal committed elsewhere counts for the very next check of this session.
    with session_factory() as other, other.begin():
        record(
            other,
            subject=other.get(Subject, anna.id),  # type: ignore[arg-type]
            purpose_id="newsletter",
            action="withdrawn",
            proof=Proof(channel="email"),
            master=master,
            clock=clock,
            actor="staff:1",
        )
    assert _ask(session, master, clock, "newsletter", **email) == (False, Reason.WITHDRAWN)
    assert _ask(session, master, clock, "newsletter", subject=anna) == (False, Reason.WITHDRAWN)
    # Withdrawal is per purpose: another consent stays as it was.
    note(anna, "web_analytics", "given", channel="banner")
    assert _ask(session, master, clock, "web_analytics", subject=anna) == (
        True,
        Reason.CONSENT_GIVEN,
    )


@pytest.mark.promise("P06")
@pytest.mark.usefixtures("published")
def test_state_row_follows_the_events(
    session: Session, person: Person, note: Note, clock: FrozenClock
) -> None:
    anna = person()
    first = note(anna, "newsletter", "given")
    clock.advance(dt.timedelta(hours=1))
    note(anna, "newsletter", "confirmed")
    with session.begin():
        state = session.execute(select(ConsentState)).scalar_one()
        assert (state.status, state.policy_version) == ("confirmed", 1)
        assert state.given_at == first.occurred_at
        assert state.confirmed_at == first.occurred_at + dt.timedelta(hours=1)
        assert state.notice_hash == notice_hash(_newsletter(session), "de")
    # Signing up again with the same text keeps the confirmation; the age starts again.
    clock.advance(dt.timedelta(days=2))
    note(anna, "newsletter", "given")
    with session.begin():
        state = session.execute(select(ConsentState)).scalar_one()
        assert state.status == "confirmed"
        assert state.given_at == clock.now()
    # A grant to the English text is a new text: it needs confirming again.
    note(anna, "newsletter", "given", language="en")
    with session.begin():
        state = session.execute(select(ConsentState)).scalar_one()
        assert (state.status, state.confirmed_at) == ("given", None)


def _newsletter(session: Session) -> Purpose:
    document = session.scalars(select(PolicyVersion.document)).one()
    purpose = Declaration.model_validate_json(document).purpose("newsletter")
    assert purpose is not None
    return purpose


@pytest.mark.usefixtures("published")
def test_confirmation_needs_a_grant(session: Session, person: Person, note: Note) -> None:
    anna = person()
    with pytest.raises(Conflict, match="no pending grant"):
        note(anna, "newsletter", "confirmed")
    note(anna, "newsletter", "given")
    note(anna, "newsletter", "withdrawn")
    with pytest.raises(Conflict):
        note(anna, "newsletter", "confirmed")
    with session.begin():
        actions = [e.action for e in events_of(session, subject=anna)]
    assert actions == ["given", "withdrawn"]


@pytest.mark.promise("P07")
def test_changed_notice_text_asks_again(
    session: Session,
    master: MasterKey,
    clock: FrozenClock,
    person: Person,
    note: Note,
    declaration: Declaration,
    publish_declaration: Callable[[Declaration], PolicyVersion],
) -> None:
    publish_declaration(declaration)
    anna = person()
    note(anna, "newsletter", "given")
    note(anna, "newsletter", "confirmed")
    newsletter = declaration.purpose("newsletter")
    assert newsletter is not None
    changed = newsletter.model_copy(
        update={
            "description": Text(
                de=newsletter.description.de + " Wir werten Öffnungen aus.",
                en=newsletter.description.en + " We measure openings.",
            )
        }
    )
    purposes = [changed if p.id == "newsletter" else p for p in declaration.purposes]
    version = publish_declaration(declaration.model_copy(update={"purposes": purposes}))
    # Before the new version takes effect the old text is still the one in force.
    assert _ask(session, master, clock, "newsletter", subject=anna)[0] is True
    clock.set(dt.datetime.combine(version.effective_at, dt.time(12), tzinfo=dt.UTC))
    assert _ask(session, master, clock, "newsletter", subject=anna) == (
        False,
        Reason.NOTICE_CHANGED,
    )
    event = note(anna, "newsletter", "given", notice_hash=notice_hash(changed, "de"))
    assert event.policy_version == version.number == 2
    note(anna, "newsletter", "confirmed")
    assert _ask(session, master, clock, "newsletter", subject=anna) == (
        True,
        Reason.CONSENT_CONFIRMED,
    )


@pytest.mark.usefixtures("published")
def test_cookie_consent_expires_after_thirteen_months(
    session: Session, master: MasterKey, clock: FrozenClock, person: Person, note: Note
) -> None:
    visitor = person("v-0123456789abcdef", kind="visitor_id")
    note(visitor, "web_analytics", "given", channel="banner")
    who = {"kind": "visitor_id", "value": "v-0123456789abcdef"}
    clock.advance(dt.timedelta(days=390))
    assert _ask(session, master, clock, "web_analytics", **who) == (True, Reason.CONSENT_GIVEN)
    clock.advance(dt.timedelta(days=10))
    assert _ask(session, master, clock, "web_analytics", **who) == (False, Reason.EXPIRED)
    note(visitor, "web_analytics", "given", channel="banner")
    assert _ask(session, master, clock, "web_analytics", **who) == (True, Reason.CONSENT_GIVEN)


@pytest.mark.promise("P07")
@pytest.mark.usefixtures("published")
def test_proof_is_encrypted_shortened_and_shredded_with_the_subject(
    session: Session, master: MasterKey, clock: FrozenClock, person: Person, note: Note
) -> None:
    anna = person()
    event = note(
        anna,
        "newsletter",
        "given",
        ip="203.0.113.77",
        user_agent="Secret Browser 1.0",
        form_url="https://example.de/newsletter",
        extra={"checkbox": "unticked at first"},
    )
    with session.begin():
        raw = session.scalars(select(ConsentEvent.proof_ciphertext)).one()
        assert b"203.0.113" not in raw
        assert b"Secret Browser" not in raw
        proof = open_proof(session, event=event, subject=anna, master=master)
    assert proof == {
        "ip": "203.0.113.0",
        "user_agent": "Secret Browser 1.0",
        "form_url": "https://example.de/newsletter",
        "extra": {"checkbox": "unticked at first"},
    }
    with session.begin():
        erase_subject(session, subject=anna, clock=clock, actor="test", reason="request 1")
    with session.begin():
        assert open_proof(session, event=event, subject=anna, master=master) is None
        assert verify_ledger(session).ok
    with pytest.raises(SubjectErased):
        note(anna, "newsletter", "withdrawn")
    assert _ask(session, master, clock, "contract", subject=anna) == (False, Reason.ERASED)


@pytest.mark.usefixtures("published")
def test_audit_entry_names_ids_only(session: Session, person: Person, note: Note) -> None:
    anna = person("anna.secret@example.org")
    note(anna, "newsletter", "given", ip="203.0.113.77")
    with session.begin():
        entry = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "consent.recorded")
        ).one()
        assert entry.target == f"subject:{anna.id}"
        assert "anna" not in entry.payload
        assert "203.0.113" not in entry.payload
        assert '"purpose_id":"newsletter"' in entry.payload
        assert verify_audit(session).ok


def test_unknown_purpose_and_missing_version(
    session: Session,
    master: MasterKey,
    clock: FrozenClock,
    person: Person,
    note: Note,
    publish_declaration: Callable[[Declaration], PolicyVersion],
    declaration: Declaration,
) -> None:
    anna = person()
    with pytest.raises(Conflict, match="No version of the declaration is in effect"):
        note(anna, "newsletter", "given")
    publish_declaration(declaration)
    with pytest.raises(NotFound, match="'nosuch'") as caught:
        note(anna, "nosuch", "given")
    assert caught.value.extra["field"] == "purpose"
    assert "newsletter" in caught.value.detail
    with pytest.raises(NotFound):
        _ask(session, master, clock, "nosuch", subject=anna)


@pytest.mark.promise("P07")
@pytest.mark.usefixtures("published")
def test_state_and_event_commit_together(
    session: Session, person: Person, note: Note, monkeypatch: pytest.MonkeyPatch
) -> None:
    anna = person()
    note(anna, "newsletter", "given")

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(ledger_module, "write_state", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        note(anna, "newsletter", "withdrawn")
    with session.begin():
        assert session.scalar(select(func.count()).select_from(ConsentEvent)) == 1
        state = session.execute(select(ConsentState)).scalar_one()
        assert state.status == "given"
        head = session.execute(select(ConsentLedgerHead)).scalar_one()
        assert head.last_sequence == 1
        recorded = select(func.count()).where(AuditEntry.action == "consent.recorded")
        assert session.scalar(recorded) == 1
        assert verify_ledger(session).ok
    monkeypatch.undo()
    note(anna, "newsletter", "withdrawn")
    with session.begin():
        assert verify_ledger(session).checked == 2


def _three_events(person: Person, note: Note) -> None:
    anna = person()
    note(anna, "newsletter", "given")
    note(anna, "newsletter", "confirmed")
    note(anna, "web_analytics", "given", channel="banner")
    note(anna, "newsletter", "withdrawn", channel="one_click")


@pytest.mark.promise("P07")
@pytest.mark.usefixtures("published")
def test_chain_detects_an_altered_row(session: Session, person: Person, note: Note) -> None:
    _three_events(person, note)
    with session.begin():
        assert verify_ledger(session).ok
        assert verify_ledger(session).checked == 4
        session.execute(
            update(ConsentEvent).where(ConsentEvent.sequence == 2).values(channel="email")
        )
    with session.begin():
        result = verify_ledger(session)
    assert (result.ok, result.first_bad_sequence) == (False, 2)
    assert "does not match its hash" in result.reason


@pytest.mark.promise("P07")
@pytest.mark.usefixtures("published")
def test_chain_detects_altered_proof_and_timestamps(
    session: Session, person: Person, note: Note
) -> None:
    _three_events(person, note)
    with session.begin():
        session.execute(
            update(ConsentEvent)
            .where(ConsentEvent.sequence == 3)
            .values(proof_ciphertext=b"\x01" + b"\x00" * 40)
        )
    with session.begin():
        assert verify_ledger(session).first_bad_sequence == 3
    with session.begin():
        session.execute(
            update(ConsentEvent)
            .where(ConsentEvent.sequence == 1)
            .values(occurred_at=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
        )
    with session.begin():
        assert verify_ledger(session).first_bad_sequence == 1


@pytest.mark.promise("P07")
@pytest.mark.usefixtures("published")
def test_chain_detects_a_removed_row(session: Session, person: Person, note: Note) -> None:
    _three_events(person, note)
    with session.begin():
        session.execute(delete(ConsentEvent).where(ConsentEvent.sequence == 2))
    with session.begin():
        result = verify_ledger(session)
    assert (result.ok, result.first_bad_sequence) == (False, 2)
    assert "missing" in result.reason


@pytest.mark.promise("P07")
@pytest.mark.usefixtures("published")
def test_chain_detects_rows_removed_at_the_end(
    session: Session, person: Person, note: Note
) -> None:
    _three_events(person, note)
    with session.begin():
        session.execute(delete(ConsentEvent).where(ConsentEvent.sequence == 4))
    with session.begin():
        result = verify_ledger(session)
    assert (result.ok, result.first_bad_sequence) == (False, 4)
    assert "removed" in result.reason


@pytest.mark.promise("P07")
@pytest.mark.usefixtures("published")
def test_chain_detects_an_inserted_row(session: Session, person: Person, note: Note) -> None:
    _three_events(person, note)
    with session.begin():
        table = ConsentEvent.__table__
        row = session.execute(select(table).where(table.c.sequence == 4)).mappings().one()
        forged = dict(row) | {"sequence": 5, "action": "given", "prev_hash": row["hash"]}
        session.execute(insert(ConsentEvent).values(**forged))
    with session.begin():
        result = verify_ledger(session)
    assert (result.ok, result.first_bad_sequence) == (False, 5)


def _item(subject: Subject, purpose: str, action: str, **proof: Any) -> LedgerItem:
    proof.setdefault("channel", "banner")
    return LedgerItem(subject=subject, purpose_id=purpose, action=action, proof=Proof(**proof))


def _totals(session: Session) -> tuple[int | None, ...]:
    with session.begin():
        return (
            session.scalar(select(func.count()).select_from(ConsentEvent)),
            session.scalar(select(func.count()).select_from(ConsentState)),
            session.scalar(select(func.count()).select_from(AuditEntry)),
            session.scalar(select(ConsentLedgerHead.last_sequence)),
        )


@pytest.mark.promise("P07")
@pytest.mark.usefixtures("published")
def test_record_many_chains_states_and_audits(
    session: Session,
    master: MasterKey,
    clock: FrozenClock,
    person: Person,
    note: Note,
) -> None:
    anna, ben = person(), person("ben@example.org")
    before = note(ben, "newsletter", "given")
    with session.begin():
        audited = session.scalar(select(func.count()).select_from(AuditEntry)) or 0
        events = record_many(
            session,
            items=[
                _item(anna, "newsletter", "given", ip="203.0.113.77", user_agent="Mail/1.0"),
                _item(anna, "newsletter", "confirmed", channel="link_in_message"),
                _item(ben, "newsletter", "confirmed", channel="link_in_message"),
                _item(ben, "web_analytics", "given"),
                _item(anna, "web_analytics", "refused"),
                _item(ben, "web_analytics", "withdrawn"),
            ],
            master=master,
            clock=clock,
            actor="import:1",
        )
    after = note(anna, "newsletter", "withdrawn")
    assert [event.sequence for event in events] == [2, 3, 4, 5, 6, 7]
    assert events[0].prev_hash == before.hash
    assert after.prev_hash == events[-1].hash
    assert events[1].notice_hash == events[0].notice_hash is not None
    with session.begin():
        result = verify_ledger(session)
        assert (result.ok, result.checked) == (True, 8), result.reason
        trail = verify_audit(session)
        assert trail.ok, trail.reason
        recorded = select(func.count()).where(AuditEntry.action == "consent.recorded")
        assert session.scalar(recorded) == 8
        assert session.scalar(select(func.count()).select_from(AuditEntry)) == audited + 7
        rows = session.execute(
            select(
                ConsentState.subject_id,
                ConsentState.purpose_id,
                ConsentState.status,
                ConsentState.last_sequence,
            )
        ).all()
        assert {tuple(row) for row in rows} == {
            (anna.id, "newsletter", "withdrawn", 8),
            (ben.id, "newsletter", "confirmed", 4),
            (ben.id, "web_analytics", "withdrawn", 7),
            (anna.id, "web_analytics", "refused", 6),
        }
        stored = session.get(ConsentEvent, 2)
        assert stored is not None
        proof = open_proof(session, event=stored, subject=anna, master=master)
        assert proof is not None
        assert proof["user_agent"] == "Mail/1.0"
    assert _ask(session, master, clock, "newsletter", subject=ben) == (
        True,
        Reason.CONSENT_CONFIRMED,
    )
    assert _ask(session, master, clock, "web_analytics", subject=ben) == (False, Reason.WITHDRAWN)


@pytest.mark.promise("P07")
@pytest.mark.usefixtures("published")
def test_record_many_is_all_or_nothing(
    session: Session,
    session_factory: sessionmaker[Session],
    master: MasterKey,
    clock: FrozenClock,
    person: Person,
    note: Note,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    anna, ben = person(), person("ben@example.org")
    note(anna, "newsletter", "given")
    start = _totals(session)
    good = [_item(anna, "newsletter", "withdrawn"), _item(ben, "web_analytics", "given")]
    # A rule broken in the middle of the batch: a confirmation without a grant.
    middle = [*good, _item(ben, "newsletter", "confirmed"), *good]
    with (
        pytest.raises(Conflict, match="no pending grant"),
        session_factory() as other,
        other.begin(),
    ):
        record_many(other, items=middle, master=master, clock=clock, actor="import:1")
    assert _totals(session) == start
    # A failure while writing: events and head were already written when it hit.

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(batch_module, "write_states", broken)
    with (
        pytest.raises(RuntimeError, match="disk full"),
        session_factory() as other,
        other.begin(),
    ):
        record_many(other, items=good, master=master, clock=clock, actor="import:1")
    assert _totals(session) == start
    monkeypatch.undo()
    with session_factory() as other, other.begin():
        assert record_many(other, items=[], master=master, clock=clock, actor="import:1") == []
        record_many(other, items=good, master=master, clock=clock, actor="import:1")
    assert _totals(session)[0] == 3
    with session.begin():
        assert verify_ledger(session).ok
        assert verify_audit(session).ok


@pytest.mark.usefixtures("published")
def test_record_many_refuses_an_erased_subject_before_writing(
    session: Session, master: MasterKey, clock: FrozenClock, person: Person
) -> None:
    anna, ben = person(), person("ben@example.org")
    with session.begin():
        erase_subject(session, subject=ben, clock=clock, actor="staff:1", reason="request")
    start = _totals(session)
    with pytest.raises(SubjectErased), session.begin():
        record_many(
            session,
            items=[_item(anna, "newsletter", "given"), _item(ben, "newsletter", "given")],
            master=master,
            clock=clock,
            actor="import:1",
        )
    assert _totals(session) == start


@pytest.mark.promise("P05")
@pytest.mark.usefixtures("published")
def test_record_many_objection_suppresses(
    session: Session, master: MasterKey, clock: FrozenClock, person: Person
) -> None:
    anna = person()
    with session.begin():
        record_many(
            session,
            items=[_item(anna, "newsletter", "given"), _item(anna, "newsletter", "objected")],
            master=master,
            clock=clock,
            actor="import:1",
        )
    with session.begin():
        assert session.scalar(select(func.count()).select_from(Suppression)) == 1
    assert _ask(session, master, clock, "newsletter", subject=anna)[0] is False


@pytest.mark.promise("P06")
@pytest.mark.usefixtures("published")
def test_a_racing_confirmation_cannot_undo_a_withdrawal(
    session_factory: sessionmaker[Session],
    master: MasterKey,
    clock: FrozenClock,
    person: Person,
    note: Note,
) -> None:
    """A confirmation waiting on the chain head sees the withdrawal committed before it."""
    import threading

    if session_factory.kw["bind"].dialect.name != "postgresql":
        pytest.skip("SQLite serialises writers from the first statement on")
    anna = person()
    note(anna, "newsletter", "given")
    first = session_factory()
    first.begin()
    record(
        first,
        subject=first.get(Subject, anna.id),  # type: ignore[arg-type]
        purpose_id="newsletter",
        action="withdrawn",
        proof=Proof(channel="letter"),
        master=master,
        clock=clock,
        actor="staff:1",
    )
    outcome: list[BaseException | str] = []

    def confirm() -> None:
        with session_factory() as other:
            try:
                with other.begin():
                    event = record(
                        other,
                        subject=other.get(Subject, anna.id),  # type: ignore[arg-type]
                        purpose_id="newsletter",
                        action="confirmed",
                        proof=Proof(channel="link_in_message"),
                        master=master,
                        clock=clock,
                        actor="test",
                    )
                    outcome.append(event.action)
            except BaseException as exc:  # handed to the test thread
                outcome.append(exc)

    racer = threading.Thread(target=confirm)
    racer.start()
    threading.Event().wait(0.3)  # let the confirmation reach the locked head
    first.commit()
    first.close()
    racer.join(15)
    assert len(outcome) == 1
    assert not isinstance(outcome[0], str) or outcome[0] != "confirmed"
    with session_factory() as check_session, check_session.begin():
        decision = check(
            check_session, purpose_id="newsletter", master=master, clock=clock, subject=anna
        )
        assert decision.allowed is False
        assert verify_ledger(check_session).ok
