"""Double opt-in on both databases: sign-up, the mail, confirmation, resend limit, expiry."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import re
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from tutela.audit import entries
from tutela.clock import FrozenClock
from tutela.config import Settings
from tutela.consent.checks import check
from tutela.consent.doi_expiry import expire_unconfirmed, install_expiry_master
from tutela.consent.double_opt_in import (
    DEFAULT_EXPIRY,
    EXPIRE_JOB,
    RESEND_INTERVAL,
    SignUpOutcome,
    SignUpStatus,
    UnknownLink,
    confirm,
    link_subject,
    peek,
    sign_up,
)
from tutela.consent.ledger import events_of, open_proof, verify_ledger
from tutela.consent.models import ConsentState
from tutela.consent.notice import notice_hash
from tutela.consent.suppression import suppress_address
from tutela.consent.terms import Reason
from tutela.consent.unsubscribe import unsubscribe_token
from tutela.crypto import MasterKey, sign_token, token_digest
from tutela.errors import InvalidInput, NotFound
from tutela.jobs import Job, Worker, registry
from tutela.mail import FileOutbox, MailDelivery, install_delivery
from tutela.policy.models import Declaration
from tutela.policy.models_db import PolicyVersion
from tutela.subjects import (
    Subject,
    SubjectVault,
    add_identity,
    find_subject,
    get_or_create_subject,
)

ADDRESS = "Anna.Beispiel@Example.org"
BASE = "https://privacy.example.org"
LINK = re.compile(re.escape(BASE) + r"/newsletter/confirm/([A-Za-z0-9_.=-]+)")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path, base_url=BASE, mail_from="privacy@example.org")


@pytest.fixture
def outbox(settings: Settings, master: MasterKey) -> Iterator[FileOutbox]:
    box = FileOutbox(settings.outbox_dir)
    delivery = MailDelivery(
        mailer=box,
        vault=SubjectVault(master),
        sender="Terminfuchs GmbH <privacy@example.org>",
        message_id_domain="example.org",
    )
    previous = install_delivery(delivery)
    previous_master = install_expiry_master(master)
    yield box
    install_delivery(previous)
    install_expiry_master(previous_master)


@pytest.fixture
def worker(session_factory: sessionmaker[Session], clock: FrozenClock) -> Worker:
    return Worker(session_factory, clock=clock, registry=registry, worker_id="test")


@pytest.fixture
def signup(
    session: Session,
    master: MasterKey,
    clock: FrozenClock,
    settings: Settings,
    published: PolicyVersion,
    outbox: FileOutbox,
) -> Callable[..., SignUpOutcome]:
    def run(address: str = ADDRESS, **extra: Any) -> SignUpOutcome:
        values: dict[str, Any] = {
            "purpose_id": "newsletter",
            "language": "de",
            "ip": "203.0.113.77",
            "user_agent": "Mail test",
            "form_url": f"{BASE}/newsletter?purpose=newsletter&lang=de",
            "actor": "test",
        }
        values.update(extra)
        with session.begin():
            return sign_up(
                session, email=address, master=master, clock=clock, settings=settings, **values
            )

    return run


def mails(box: FileOutbox) -> list[EmailMessage]:
    found = []
    for path in sorted(box.directory.glob("*.eml")):
        parsed = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        found.append(parsed)
    return found


def text_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


def token_in(message: EmailMessage) -> str:
    found = LINK.search(text_of(message))
    assert found, "the mail holds no confirmation link"
    return found.group(1)


def decide(session: Session, master: MasterKey, clock: FrozenClock, purpose: str) -> Reason:
    with session.begin():
        decision = check(
            session, purpose_id=purpose, master=master, clock=clock, kind="email", value=ADDRESS
        )
    return decision.reason


def subject_of(session: Session, master: MasterKey) -> Subject:
    with session.begin():
        found = find_subject(session, kind="email", value=ADDRESS, master=master)
    assert found is not None
    return found


@pytest.mark.promise("P04")
@pytest.mark.promise("P07")
def test_sign_up_records_proof_and_sends_one_neutral_mail(
    session: Session,
    master: MasterKey,
    signup: Callable[..., SignUpOutcome],
    worker: Worker,
    outbox: FileOutbox,
    declaration: Declaration,
) -> None:
    outcome = signup()
    assert outcome.status is SignUpStatus.MAIL_QUEUED
    assert worker.run_until_idle() == 1  # the mail; the expiry job is not due yet
    [message] = mails(outbox)
    assert message["To"] == "anna.beispiel@example.org"
    assert message["Message-ID"] == outcome.message_id
    assert "List-Unsubscribe" not in message  # a confirmation request is no marketing mail
    token = token_in(message)
    subject = subject_of(session, master)
    with session.begin():
        [event] = events_of(session, subject=subject)
        proof = open_proof(session, event=event, subject=subject, master=master)
        sent = [e for e in entries(session) if e.action == "mail.sent"]
    newsletter = declaration.purpose("newsletter")
    assert newsletter is not None
    assert (event.action, event.channel, event.policy_version) == ("given", "web_form", 1)
    assert event.notice_hash == notice_hash(newsletter, "de")
    assert proof is not None
    assert proof["ip"] == "203.0.113.0"
    assert proof["form_url"] == f"{BASE}/newsletter?purpose=newsletter&lang=de"
    mail_proof = proof["extra"]["confirmation_mail"]
    assert mail_proof["message_id"] == outcome.message_id
    assert mail_proof["token_id"] == token_digest(token)
    assert token not in str(proof)
    assert len(mail_proof["template_version"]) == 64
    assert [e.target for e in sent] == [f"subject:{subject.id}"]
    assert outcome.message_id is not None
    assert outcome.message_id in sent[0].payload


@pytest.mark.promise("P04")
@pytest.mark.promise("P07")
def test_consent_counts_only_after_the_confirmation(
    session: Session,
    master: MasterKey,
    clock: FrozenClock,
    signup: Callable[..., SignUpOutcome],
    worker: Worker,
    outbox: FileOutbox,
) -> None:
    signup()
    worker.run_until_idle()
    token = token_in(mails(outbox)[0])
    assert decide(session, master, clock, "newsletter") is Reason.NOT_CONFIRMED
    with session.begin():
        link = peek(session, token=token, master=master, clock=clock)
    assert link.confirmed is False
    assert decide(session, master, clock, "newsletter") is Reason.NOT_CONFIRMED
    clock.advance(dt.timedelta(hours=2))
    with session.begin():
        first = confirm(session, token=token, master=master, clock=clock, ip="198.51.100.9")
    assert first.newly_confirmed
    assert first.purpose.id == "newsletter"
    assert decide(session, master, clock, "newsletter") is Reason.CONSENT_CONFIRMED
    with session.begin():
        again = confirm(session, token=token, master=master, clock=clock)
    assert again.newly_confirmed is False
    subject = subject_of(session, master)
    with session.begin():
        events = events_of(session, subject=subject)
        proof = open_proof(session, event=events[-1], subject=subject, master=master)
        assert verify_ledger(session).ok
    assert [e.action for e in events] == ["given", "confirmed"]
    assert events[-1].channel == "link_in_message"
    assert proof is not None
    assert proof["ip"] == "198.51.100.0"
    assert proof["extra"]["token_id"] == token_digest(token)
    assert token not in str(proof)


@pytest.mark.promise("P04")
def test_expired_tampered_and_foreign_tokens_are_unknown(
    session: Session,
    master: MasterKey,
    clock: FrozenClock,
    signup: Callable[..., SignUpOutcome],
    worker: Worker,
    outbox: FileOutbox,
) -> None:
    signup()
    worker.run_until_idle()
    token = token_in(mails(outbox)[0])
    subject = subject_of(session, master)
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    foreign = unsubscribe_token(master, subject=subject, purpose_id="newsletter")
    other_key = sign_token(
        MasterKey(bytes(32)),
        purpose="doi",
        subject=f"{subject.public_id}:newsletter",
        expires_at=clock.now() + DEFAULT_EXPIRY,
    )
    clock.advance(DEFAULT_EXPIRY - dt.timedelta(seconds=1))
    messages = set()
    for bad in (tampered, foreign, other_key, "1.abc.99999999999.xyz", ""):
        with session.begin(), pytest.raises(UnknownLink) as caught:
            confirm(session, token=bad, master=master, clock=clock)
        messages.add(str(caught.value))
    clock.advance(dt.timedelta(seconds=1))
    with session.begin(), pytest.raises(UnknownLink) as caught:
        confirm(session, token=token, master=master, clock=clock)
    messages.add(str(caught.value))
    assert len(messages) == 1
    assert decide(session, master, clock, "newsletter") is Reason.NOT_CONFIRMED


@given(st.text(max_size=200))
def test_any_made_up_token_is_unknown(text: str) -> None:
    master = MasterKey(bytes(range(32)))
    now = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
    with pytest.raises(UnknownLink):
        link_subject(master, text, now=now)


@given(st.integers(min_value=0, max_value=200), st.sampled_from("AbZ09-_."))
def test_changing_one_character_breaks_the_token(position: int, replacement: str) -> None:
    master = MasterKey(bytes(range(32)))
    now = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
    named = "pUbLiC_iD-1234567890ab:newsletter"
    token = sign_token(master, purpose="doi", subject=named, expires_at=now + DEFAULT_EXPIRY)
    index = position % len(token)
    changed = token[:index] + replacement + token[index + 1 :]
    if changed == token:
        assert link_subject(master, changed, now=now) == ("pUbLiC_iD-1234567890ab", "newsletter")
        return
    with pytest.raises(UnknownLink):
        link_subject(master, changed, now=now)


def mail_jobs(session: Session) -> int:
    with session.begin():
        return int(session.scalar(select(func.count()).where(Job.kind == "mail.send")) or 0)


@pytest.mark.promise("P04")
def test_repeated_sign_up_sends_no_second_mail_within_the_limit(
    session: Session, clock: FrozenClock, signup: Callable[..., SignUpOutcome]
) -> None:
    assert signup().status is SignUpStatus.MAIL_QUEUED
    assert signup("anna.beispiel@example.org").status is SignUpStatus.THROTTLED
    assert mail_jobs(session) == 1
    statuses = []
    for _ in range(3):
        clock.advance(RESEND_INTERVAL + dt.timedelta(seconds=1))
        statuses.append(signup().status)
    assert statuses == [SignUpStatus.MAIL_QUEUED, SignUpStatus.MAIL_QUEUED, SignUpStatus.THROTTLED]
    assert mail_jobs(session) == 3
    clock.advance(dt.timedelta(days=1))
    assert signup().status is SignUpStatus.MAIL_QUEUED


@pytest.mark.promise("P04")
def test_confirmed_and_suppressed_addresses_get_nothing(
    session: Session,
    master: MasterKey,
    clock: FrozenClock,
    signup: Callable[..., SignUpOutcome],
    worker: Worker,
    outbox: FileOutbox,
) -> None:
    signup()
    worker.run_until_idle()
    with session.begin():
        confirm(session, token=token_in(mails(outbox)[0]), master=master, clock=clock)
    clock.advance(dt.timedelta(days=2))
    assert signup().status is SignUpStatus.ALREADY_ACTIVE
    with session.begin():
        suppress_address(
            session,
            kind="email",
            value="blocked@example.org",
            master=master,
            clock=clock,
            actor="test",
        )
    assert signup("blocked@example.org").status is SignUpStatus.SUPPRESSED
    assert mail_jobs(session) == 1
    with session.begin():
        assert (
            find_subject(session, kind="email", value="blocked@example.org", master=master) is None
        )


def test_purpose_and_address_are_checked(signup: Callable[..., SignUpOutcome]) -> None:
    with pytest.raises(NotFound) as unknown:
        signup(purpose_id="no_such_list")
    assert unknown.value.extra["field"] == "purpose"
    assert "no_such_list" in unknown.value.detail
    with pytest.raises(InvalidInput) as single:
        signup(purpose_id="similar_offers")
    assert single.value.extra["field"] == "purpose"
    with pytest.raises(InvalidInput) as address:
        signup("not an address")
    assert address.value.extra["field"] == "email"
    with pytest.raises(InvalidInput) as language:
        signup(language="fr")
    assert language.value.extra["field"] == "language"


def state_of(session: Session, subject: Subject, purpose: str) -> str | None:
    with session.begin():
        row = session.get(ConsentState, (subject.id, purpose))
        return None if row is None else row.status


@pytest.mark.promise("P04")
def test_expiry_job_deletes_an_unconfirmed_sign_up_after_seven_days(
    session: Session,
    master: MasterKey,
    clock: FrozenClock,
    signup: Callable[..., SignUpOutcome],
    worker: Worker,
) -> None:
    signup()
    assert worker.run_until_idle() == 1
    subject = subject_of(session, master)
    clock.advance(DEFAULT_EXPIRY - dt.timedelta(minutes=1))
    assert worker.run_until_idle() == 0
    assert state_of(session, subject, "newsletter") == "given"
    clock.advance(dt.timedelta(minutes=1))
    assert worker.run_until_idle() == 1
    assert state_of(session, subject, "newsletter") == "expired"
    with session.begin():
        fresh = session.get(Subject, subject.id, populate_existing=True)
        assert fresh is not None
        assert fresh.erased_at is not None
        assert find_subject(session, kind="email", value=ADDRESS, master=master) is None
        [expiry] = session.scalars(select(Job).where(Job.kind == EXPIRE_JOB)).all()
        assert expiry.status == "done"
        assert verify_ledger(session).ok


def test_expiry_keeps_people_with_other_records(
    session: Session,
    master: MasterKey,
    clock: FrozenClock,
    signup: Callable[..., SignUpOutcome],
    note: Callable[..., object],
) -> None:
    signup()
    signup("bert@example.org")
    anna = subject_of(session, master)
    with session.begin():
        add_identity(
            session,
            subject=anna,
            kind="customer_id",
            value="K-1001",
            master=master,
            clock=clock,
            actor="test",
        )
        bert = find_subject(session, kind="email", value="bert@example.org", master=master)
        carla, _ = get_or_create_subject(
            session,
            kind="email",
            value="carla@example.org",
            master=master,
            clock=clock,
            actor="test",
        )
    assert bert is not None
    note(bert, "call_recording", "given")
    note(carla, "call_recording", "given")  # consent without double opt-in never expires here
    clock.advance(DEFAULT_EXPIRY)
    with session.begin():
        assert expire_unconfirmed(session, master=master, clock=clock) == 2
    for person in (anna, bert):
        assert state_of(session, person, "newsletter") == "expired"
        with session.begin():
            kept = session.get(Subject, person.id, populate_existing=True)
            assert kept is not None
            assert kept.erased_at is None
    assert state_of(session, carla, "call_recording") == "given"


def test_expiry_still_applies_when_the_purpose_left_the_declaration(
    session: Session,
    master: MasterKey,
    clock: FrozenClock,
    signup: Callable[..., SignUpOutcome],
    worker: Worker,
    declaration: Declaration,
    publish_declaration: Callable[[Declaration], PolicyVersion],
) -> None:
    """An unconfirmed sign-up is erased even if a newer version dropped the purpose."""
    signup()
    assert worker.run_until_idle() == 1  # the confirmation mail
    subject = subject_of(session, master)
    without = declaration.model_copy(
        update={"purposes": [p for p in declaration.purposes if p.id != "newsletter"]}
    )
    version = publish_declaration(without)
    clock.advance(dt.timedelta(days=90))  # past the expiry and past the new effective date
    assert version.effective_at <= clock.now().date()
    assert worker.run_until_idle() == 1
    assert state_of(session, subject, "newsletter") == "expired"
    with session.begin():
        fresh = session.get(Subject, subject.id, populate_existing=True)
        assert fresh is not None
        assert fresh.erased_at is not None


@pytest.mark.promise("P06")
def test_a_link_from_before_a_withdrawal_cannot_confirm_a_new_sign_up(
    session: Session,
    master: MasterKey,
    clock: FrozenClock,
    signup: Callable[..., SignUpOutcome],
    outbox: FileOutbox,
    worker: Worker,
) -> None:
    from tutela.consent import Proof, record

    signup()
    worker.run_until_idle()
    old_token = token_in(mails(outbox)[0])
    with session.begin():
        confirm(session, token=old_token, master=master, clock=clock)
    subject = subject_of(session, master)
    with session.begin():
        record(
            session,
            subject=session.get(Subject, subject.id),  # type: ignore[arg-type]
            purpose_id="newsletter",
            action="withdrawn",
            proof=Proof(channel="one_click"),
            master=master,
            clock=clock,
            actor="test",
        )
    clock.advance(dt.timedelta(hours=1))
    signup()
    worker.run_until_idle()
    new_token = token_in(mails(outbox)[-1])
    assert new_token != old_token
    with session.begin(), pytest.raises(NotFound):
        confirm(session, token=old_token, master=master, clock=clock)
    assert decide(session, master, clock, "newsletter") is Reason.NOT_CONFIRMED
    with session.begin():
        assert confirm(session, token=new_token, master=master, clock=clock).newly_confirmed
    assert decide(session, master, clock, "newsletter") is Reason.CONSENT_CONFIRMED
