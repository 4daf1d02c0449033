"""Sign-ups answered before they are carried out, on both databases.

The request checks and queues a sealed job with the same statements for every
address; the worker then records opt-in 1 and queues the mail.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine, event, func, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from tutela.clock import FrozenClock
from tutela.config import Settings
from tutela.consent.doi_expiry import install_expiry_master
from tutela.consent.ledger import events_of, open_proof
from tutela.consent.notice import notice_hash
from tutela.consent.sign_up_queue import (
    SIGN_UP_JOB,
    QueuedSignUp,
    SignUpDetails,
    _scrubbed,
    install_sign_up_master,
    open_details,
    request_sign_up,
    seal_details,
)
from tutela.consent.suppression import suppress_address
from tutela.crypto import DecryptionError, MasterKey
from tutela.errors import Conflict, InvalidInput, NotFound, TutelaError
from tutela.jobs import Job, Worker, registry
from tutela.mail import FileOutbox, MailDelivery, install_delivery
from tutela.policy.models import Declaration, Text
from tutela.policy.models_db import PolicyVersion
from tutela.subjects import Subject, SubjectVault, find_subject, get_or_create_subject

ADDRESS = "Anna.Beispiel@Example.org"
BASE = "https://privacy.example.org"
FORM = f"{BASE}/newsletter?purpose=newsletter&lang=de"
LONG = dt.timedelta(days=120)  # a link that outlives the 90 days a new version needs


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path, base_url=BASE, mail_from="privacy@example.org")


@pytest.fixture
def outbox(settings: Settings, master: MasterKey) -> Iterator[FileOutbox]:
    box = FileOutbox(settings.outbox_dir)
    delivery = MailDelivery(
        mailer=box, vault=SubjectVault(master), sender="privacy@example.org", message_id_domain="x"
    )
    previous = install_delivery(delivery)
    previous_expiry = install_expiry_master(master)
    previous_sign_up = install_sign_up_master(master, settings)
    yield box
    install_delivery(previous)
    install_expiry_master(previous_expiry)
    install_sign_up_master(*previous_sign_up)


@pytest.fixture
def worker(session_factory: sessionmaker[Session], clock: FrozenClock) -> Worker:
    return Worker(session_factory, clock=clock, registry=registry, worker_id="test")


@pytest.fixture
def ask(
    session: Session, master: MasterKey, clock: FrozenClock, outbox: FileOutbox
) -> Callable[..., QueuedSignUp]:
    def run(address: str = ADDRESS, **extra: Any) -> QueuedSignUp:
        values: dict[str, Any] = {
            "purpose_id": "newsletter",
            "language": "de",
            "ip": "203.0.113.77",
            "user_agent": "Mail test",
            "form_url": FORM,
            "actor": "test",
        }
        values.update(extra)
        with session.begin():
            return request_sign_up(session, email=address, master=master, clock=clock, **values)

    return run


@contextmanager
def statements(engine: Engine) -> Iterator[list[str]]:
    """The SQL text of every statement ``engine`` runs inside the block."""
    seen: list[str] = []

    def note(*args: Any) -> None:
        seen.append(str(args[2]))

    event.listen(engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", note)


def jobs(session: Session, kind: str) -> list[Job]:
    with session.begin():
        found = list(session.scalars(select(Job).where(Job.kind == kind).order_by(Job.id)))
        session.expunge_all()
    return found


def opened(master: MasterKey, job: Job) -> SignUpDetails:
    assert job.idempotency_key is not None
    sign_up_id = job.idempotency_key.removeprefix(f"{SIGN_UP_JOB}:")
    return open_details(master, job.data["sealed"], sign_up_id=sign_up_id)


def known(session: Session, master: MasterKey, address: str = ADDRESS) -> Subject | None:
    with session.begin():
        return find_subject(session, kind="email", value=address, master=master)


def test_the_request_checks_what_the_caller_must_hear(
    session: Session, ask: Callable[..., QueuedSignUp], published: PolicyVersion
) -> None:
    cases: list[tuple[dict[str, Any], type[TutelaError], str]] = [
        ({"address": "not an address"}, InvalidInput, "email"),
        ({"purpose_id": "no_such_list"}, NotFound, "purpose"),
        ({"purpose_id": "similar_offers"}, InvalidInput, "purpose"),
        ({"language": "fr"}, InvalidInput, "language"),
        ({"ip": "somewhere"}, InvalidInput, "ip"),
        ({"channel": "pigeon"}, InvalidInput, "channel"),
    ]
    for extra, error, field in cases:
        with pytest.raises(error) as caught:
            ask(**extra)
        assert caught.value.extra["field"] == field
    assert jobs(session, SIGN_UP_JOB) == []


def test_without_a_declaration_in_effect_the_request_is_a_conflict(
    session: Session, ask: Callable[..., QueuedSignUp]
) -> None:
    with pytest.raises(Conflict):
        ask()
    assert jobs(session, SIGN_UP_JOB) == []


@pytest.mark.promise("P04")
def test_the_job_payload_holds_the_details_sealed_never_the_address(
    session: Session,
    master: MasterKey,
    ask: Callable[..., QueuedSignUp],
    worker: Worker,
    published: PolicyVersion,
) -> None:
    queued = ask()
    [job] = jobs(session, SIGN_UP_JOB)
    assert job.id == queued.job_id
    assert list(job.data) == ["sealed"]
    for secret in (ADDRESS, ADDRESS.lower(), "anna.beispiel", "203.0.113", "Mail test"):
        assert secret.lower() not in job.payload.lower()
    details = opened(master, job)
    assert (details.email, details.ip, details.shown_version) == (
        "anna.beispiel@example.org",
        "203.0.113.0",
        published.number,
    )
    assert job.idempotency_key == f"{SIGN_UP_JOB}:{details.sign_up_id}"
    assert len(details.sign_up_id) >= 22  # 16 random bytes
    assert known(session, master) is None  # nothing about the person is written yet
    worker.run_until_idle()
    with session.begin():
        every = [j.payload.lower() for j in session.scalars(select(Job))]
    assert len(every) == 3  # the sign-up, its mail, its expiry
    assert not [p for p in every if "anna.beispiel" in p]
    [done] = jobs(session, SIGN_UP_JOB)
    assert (done.status, done.payload) == ("done", "{}")  # the sealed details are gone


@pytest.mark.promise("P04")
def test_new_and_known_addresses_cost_the_same_statements(
    session: Session,
    engine: Engine,
    master: MasterKey,
    clock: FrozenClock,
    ask: Callable[..., QueuedSignUp],
    worker: Worker,
    outbox: FileOutbox,
    published: PolicyVersion,
    person: Callable[..., Subject],
    note: Callable[..., object],
) -> None:
    ask()  # pending: signed up, not confirmed
    worker.run_until_idle()
    carla = person("carla@example.org")
    note(carla, "newsletter", "given")
    note(carla, "newsletter", "confirmed", channel="link_in_message")
    with session.begin():
        suppress_address(
            session,
            kind="email",
            value="blocked@example.org",
            master=master,
            clock=clock,
            actor="t",
        )
    mails_before = len(jobs(session, "mail.send"))
    runs = {}
    for address in ("new@example.org", ADDRESS, "carla@example.org", "blocked@example.org"):
        with statements(engine) as seen:
            ask(address)
        runs[address] = seen
    first = runs["new@example.org"]
    assert any(s.lstrip().upper().startswith("INSERT INTO JOBS") for s in first)
    assert all(seen == first for seen in runs.values()), runs
    clock.advance(dt.timedelta(seconds=1))
    worker.run_until_idle()
    assert len(jobs(session, "mail.send")) == mails_before + 1  # only the new address
    newcomer = known(session, master, "new@example.org")
    assert newcomer is not None
    assert known(session, master, "blocked@example.org") is None
    with session.begin():
        [given_event] = events_of(session, subject=newcomer)
    assert (given_event.action, given_event.channel) == ("given", "web_form")
    assert [j.status for j in jobs(session, SIGN_UP_JOB)] == ["done"] * 5


@pytest.mark.promise("P07")
def test_the_worker_records_opt_in_1_with_its_proof_and_sends_the_mail(
    session: Session,
    master: MasterKey,
    ask: Callable[..., QueuedSignUp],
    worker: Worker,
    outbox: FileOutbox,
    declaration: Declaration,
    published: PolicyVersion,
) -> None:
    ask(channel="api", actor="api:abc123")
    assert worker.run_until_idle() == 2  # the sign-up, then its mail
    subject = known(session, master)
    assert subject is not None
    with session.begin():
        [given_event] = events_of(session, subject=subject)
        proof = open_proof(session, event=given_event, subject=subject, master=master)
    newsletter = declaration.purpose("newsletter")
    assert newsletter is not None
    assert (given_event.channel, given_event.actor, given_event.policy_version) == (
        "api",
        "api:abc123",
        published.number,
    )
    assert given_event.notice_hash == notice_hash(newsletter, "de")
    assert proof is not None
    assert (proof["ip"], proof["user_agent"], proof["form_url"]) == (
        "203.0.113.0",
        "Mail test",
        FORM,
    )
    [message] = list(outbox.directory.glob("*.eml"))
    assert "anna.beispiel@example.org" in message.read_text(encoding="utf-8")
    assert proof["extra"]["confirmation_mail"]["template"] == "doi_confirm"


@pytest.mark.promise("P07")
def test_the_grant_is_recorded_against_the_version_shown(
    session: Session,
    master: MasterKey,
    clock: FrozenClock,
    ask: Callable[..., QueuedSignUp],
    worker: Worker,
    declaration: Declaration,
    published: PolicyVersion,
    publish_declaration: Callable[[Declaration], PolicyVersion],
) -> None:
    queued = ask(expiry=LONG)  # still valid when the new version applies
    newsletter = declaration.purpose("newsletter")
    assert newsletter is not None
    reworded = newsletter.model_copy(update={"description": Text(de="Neu.", en="New.")})
    later = declaration.model_copy(
        update={"purposes": [reworded if p.id == "newsletter" else p for p in declaration.purposes]}
    )
    version = publish_declaration(later)
    clock.advance(dt.timedelta(days=90))
    assert version.effective_at <= clock.now().date()
    worker.run_until_idle()
    subject = known(session, master)
    assert subject is not None
    with session.begin():
        [given_event] = events_of(session, subject=subject)
    assert given_event.policy_version == queued.shown_version == published.number
    assert given_event.notice_hash == notice_hash(newsletter, "de")


def test_a_purpose_gone_or_an_address_suppressed_ends_the_job_quietly(
    session: Session,
    master: MasterKey,
    clock: FrozenClock,
    ask: Callable[..., QueuedSignUp],
    worker: Worker,
    declaration: Declaration,
    published: PolicyVersion,
    publish_declaration: Callable[[Declaration], PolicyVersion],
) -> None:
    ask("blocked@example.org")
    with session.begin():
        suppress_address(
            session,
            kind="email",
            value="blocked@example.org",
            master=master,
            clock=clock,
            actor="t",
        )
    assert worker.run_until_idle() == 1
    ask(expiry=LONG)
    without = declaration.model_copy(
        update={"purposes": [p for p in declaration.purposes if p.id != "newsletter"]}
    )
    publish_declaration(without)
    clock.advance(dt.timedelta(days=90))
    assert worker.run_until_idle() == 1
    assert [(j.status, j.attempts, j.payload) for j in jobs(session, SIGN_UP_JOB)] == [
        ("done", 1, "{}")
    ] * 2
    assert jobs(session, "mail.send") == []
    assert known(session, master) is None
    assert known(session, master, "blocked@example.org") is None


@pytest.mark.promise("P04")
def test_a_tampered_payload_fails_the_job_loudly_without_the_address(
    session: Session,
    master: MasterKey,
    ask: Callable[..., QueuedSignUp],
    worker: Worker,
    published: PolicyVersion,
    caplog: pytest.LogCaptureFixture,
) -> None:
    queued = ask()
    [job] = jobs(session, SIGN_UP_JOB)
    sealed = job.data["sealed"]
    middle = len(sealed) // 2
    flipped = sealed[:middle] + ("A" if sealed[middle] != "A" else "B") + sealed[middle + 1 :]
    with session.begin():
        session.execute(
            update(Job)
            .where(Job.id == queued.job_id)
            .values(payload=json.dumps({"sealed": flipped}))
        )
    with caplog.at_level(logging.INFO):
        assert worker.run_until_idle() == 1
    [failed] = jobs(session, SIGN_UP_JOB)
    assert failed.status == "failed"
    assert failed.last_error is not None
    assert "DecryptionError" in failed.last_error
    assert "does not open" in failed.last_error
    for text in (failed.last_error, caplog.text):
        assert "anna" not in text.lower()
    assert known(session, master) is None
    with session.begin():
        assert session.scalar(select(func.count()).select_from(Job)) == 1


def test_the_job_refuses_to_run_without_its_key(
    session: Session, ask: Callable[..., QueuedSignUp], worker: Worker, published: PolicyVersion
) -> None:
    ask()
    previous = install_sign_up_master(None)
    try:
        worker.run_until_idle()
    finally:
        install_sign_up_master(*previous)
    [job] = jobs(session, SIGN_UP_JOB)
    assert job.status == "failed"
    assert job.last_error is not None
    assert "install_sign_up_master" in job.last_error


def flaky(error: Exception, times: int, real: Callable[..., Any]) -> Callable[..., Any]:
    """``real``, raising ``error`` on its first ``times`` calls."""
    calls = {"n": 0}

    def run(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] <= times:
            raise error
        return real(*args, **kwargs)

    return run


LEAKY = f"{ADDRESS.lower()} at example.org"  # what a cause's own text may hold


@pytest.mark.parametrize(
    ("target", "error"),
    [
        # a rival transaction created the same person (tutela.subjects.service)
        (
            "tutela.consent.double_opt_in.get_or_create_subject",
            Conflict(f"email {LEAKY}: changed at the same time; try again.", field="email"),
        ),
        # the consent state moved under the ledger (tutela.consent.state)
        ("tutela.consent.double_opt_in.record", Conflict(f"state of {LEAKY} changed")),
        # the mail could not be rendered
        ("tutela.consent.doi_mail.render_mail", InvalidInput(f"domain of {LEAKY}", field="to")),
    ],
    ids=["subject-race", "state-conflict", "mail-rendering"],
)
@pytest.mark.promise("P04")
def test_an_error_inside_the_sign_up_fails_the_job_without_naming_anyone(
    session: Session,
    master: MasterKey,
    clock: FrozenClock,
    ask: Callable[..., QueuedSignUp],
    worker: Worker,
    published: PolicyVersion,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    target: str,
    error: TutelaError,
) -> None:
    module, name = target.rsplit(".", 1)
    real = getattr(__import__(module, fromlist=[name]), name)
    monkeypatch.setattr(target, flaky(error, 1, real))
    ask()
    with caplog.at_level(logging.INFO):
        assert worker.run_until_idle() == 1
    [failed] = jobs(session, SIGN_UP_JOB)
    assert (failed.status, failed.attempts) == ("failed", 1)
    assert failed.last_error is not None
    assert "SignUpJobError" in failed.last_error
    assert f"{type(error).__name__}, code {error.code}" in failed.last_error
    for text in (failed.last_error, caplog.text):
        assert "anna" not in text.lower()
        assert "example.org" not in text.lower()
    assert opened(master, failed).email == ADDRESS.lower()  # kept for the next try
    assert known(session, master) is None  # the first try left nothing behind
    assert jobs(session, "mail.send") == []
    clock.advance(dt.timedelta(seconds=2))
    assert worker.run_until_idle() == 2  # the sign-up again, then its mail
    [done] = jobs(session, SIGN_UP_JOB)
    assert (done.status, done.attempts, done.payload) == ("done", 2, "{}")
    assert known(session, master) is not None


def test_a_database_outage_of_hours_loses_no_sign_up(
    session: Session,
    master: MasterKey,
    clock: FrozenClock,
    ask: Callable[..., QueuedSignUp],
    worker: Worker,
    published: PolicyVersion,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    outage = OperationalError("SELECT 1", {"email": ADDRESS}, Exception("server closed"))
    monkeypatch.setattr(
        "tutela.consent.double_opt_in.get_or_create_subject",
        flaky(outage, 10, get_or_create_subject),
    )
    ask()
    [queued] = jobs(session, SIGN_UP_JOB)
    assert queued.max_attempts == 20
    for attempt in range(1, 11):
        assert worker.run_until_idle() == 1
        [failed] = jobs(session, SIGN_UP_JOB)
        assert (failed.status, failed.attempts) == ("failed", attempt)
        assert failed.last_error is not None
        assert "OperationalError" in failed.last_error
        assert "anna" not in failed.last_error.lower()  # SQLAlchemy shows the parameters
        clock.advance(dt.timedelta(hours=1))
    assert worker.run_until_idle() == 2
    [done] = jobs(session, SIGN_UP_JOB)
    assert (done.status, done.attempts) == ("done", 11)
    assert len(jobs(session, "mail.send")) == 1


def test_the_link_expires_counted_from_the_request_not_the_run(
    session: Session,
    master: MasterKey,
    clock: FrozenClock,
    ask: Callable[..., QueuedSignUp],
    worker: Worker,
    published: PolicyVersion,
) -> None:
    asked_at = clock.now()
    ask()
    [job] = jobs(session, SIGN_UP_JOB)
    assert opened(master, job).requested_at == asked_at
    clock.advance(dt.timedelta(hours=3))  # the worker was behind
    assert worker.run_until_idle() == 2
    subject = known(session, master)
    assert subject is not None
    with session.begin():
        [given_event] = events_of(session, subject=subject)
        proof = open_proof(session, event=given_event, subject=subject, master=master)
    assert proof is not None
    link_expires = dt.datetime.fromisoformat(proof["extra"]["confirmation_mail"]["link_expires_at"])
    assert link_expires == asked_at + dt.timedelta(days=7)
    [expiry_job] = jobs(session, "consent.doi_expire")
    assert expiry_job.run_after == asked_at + dt.timedelta(days=7)
    clock.set(asked_at + dt.timedelta(days=7))
    worker.run_until_idle()  # the unconfirmed grant expires on time
    with session.begin():
        actions = [e.action for e in events_of(session, subject=subject)]
    assert actions == ["given", "expired"]


def test_a_sign_up_run_after_its_link_would_have_expired_is_dropped(
    session: Session,
    master: MasterKey,
    clock: FrozenClock,
    ask: Callable[..., QueuedSignUp],
    worker: Worker,
    published: PolicyVersion,
) -> None:
    ask()
    clock.advance(dt.timedelta(days=7))
    assert worker.run_until_idle() == 1
    [job] = jobs(session, SIGN_UP_JOB)
    assert (job.status, job.payload) == ("done", "{}")
    assert jobs(session, "mail.send") == []
    assert known(session, master) is None


@pytest.mark.promise("P04")
def test_sealed_details_copied_into_another_job_do_not_open(
    session: Session,
    master: MasterKey,
    ask: Callable[..., QueuedSignUp],
    worker: Worker,
    published: PolicyVersion,
) -> None:
    first, second = ask(), ask("other@example.org")
    sealed = {job.id: job.payload for job in jobs(session, SIGN_UP_JOB)}
    with session.begin():
        for job_id, other in ((first.job_id, second.job_id), (second.job_id, first.job_id)):
            session.execute(update(Job).where(Job.id == job_id).values(payload=sealed[other]))
    assert worker.run_until_idle() == 2
    for failed in jobs(session, SIGN_UP_JOB):
        assert failed.status == "failed"
        assert failed.last_error is not None
        assert "DecryptionError" in failed.last_error
    assert known(session, master) is None
    assert known(session, master, "other@example.org") is None


@given(
    address=st.emails(),
    kind=st.sampled_from([Conflict, InvalidInput, NotFound, ValueError, KeyError]),
)
def test_a_failed_job_names_the_cause_but_never_its_text(
    address: str, kind: type[Exception]
) -> None:
    failure = _scrubbed(kind(f"could not use {address}"))
    assert "@" not in str(failure)
    assert kind.__name__ in str(failure)


DETAILS = SignUpDetails(
    sign_up_id="s" * 22,
    requested_at=dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC),
    email="anna@example.org",
    purpose_id="newsletter",
    language="de",
    shown_version=1,
    actor="test",
    channel="web_form",
)
KEY = MasterKey(bytes(range(32)))


def test_sealed_details_open_only_under_the_same_key() -> None:
    sealed = seal_details(KEY, DETAILS)
    assert open_details(KEY, sealed, sign_up_id=DETAILS.sign_up_id) == DETAILS
    assert seal_details(KEY, DETAILS) != sealed  # a fresh nonce every time
    with pytest.raises(DecryptionError):
        open_details(MasterKey(bytes(32)), sealed, sign_up_id=DETAILS.sign_up_id)
    for other_id in ("t" * 22, "", None):  # the id is bound into the associated data
        with pytest.raises(DecryptionError):
            open_details(KEY, sealed, sign_up_id=other_id)
    for bad in (None, 7, "", "not base64 at all!", sealed[:20]):
        with pytest.raises(DecryptionError):
            open_details(KEY, bad, sign_up_id=DETAILS.sign_up_id)


@given(st.text(max_size=300))
def test_any_made_up_payload_is_refused_with_one_text(text: str) -> None:
    with pytest.raises(DecryptionError) as caught:
        open_details(KEY, text, sign_up_id=DETAILS.sign_up_id)
    with pytest.raises(DecryptionError) as reference:
        open_details(KEY, None, sign_up_id=DETAILS.sign_up_id)
    assert str(caught.value) == str(reference.value)


@given(st.integers(min_value=0, max_value=400), st.sampled_from("AbZ09-_="))
def test_changing_one_character_breaks_the_seal(position: int, replacement: str) -> None:
    sealed = seal_details(KEY, DETAILS)
    index = position % len(sealed)
    changed = sealed[:index] + replacement + sealed[index + 1 :]
    try:
        opened = open_details(KEY, changed, sign_up_id=DETAILS.sign_up_id)
    except DecryptionError:
        return
    assert opened == DETAILS  # only an unchanged or equivalent text may still open
