"""Queued mail on both databases: sealed payloads, sending by the worker, erasure."""

from __future__ import annotations

import base64
import datetime as dt
import email
import email.policy
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tutela.audit import entries
from tutela.clock import FrozenClock
from tutela.crypto import MasterKey
from tutela.errors import NotFound
from tutela.jobs import Job, JobStatus, Worker, registry
from tutela.mail import (
    JOB_KIND,
    FileOutbox,
    MailDelivery,
    OutboundMail,
    UnsubscribeMissing,
    enqueue_mail,
    install_delivery,
    marketing_headers,
    render_mail,
)
from tutela.storage import transaction
from tutela.subjects import Subject, SubjectVault, erase_subject, get_or_create_subject

ADDRESS = "anna.private@example.org"
CONFIRM = "https://privacy.example.org/consent/confirm/1.secret-token.1773046800.mac"


@pytest.fixture
def master() -> MasterKey:
    return MasterKey(bytes(range(32)))


@pytest.fixture
def outbox(tmp_path: Path) -> FileOutbox:
    return FileOutbox(tmp_path / "outbox")


@pytest.fixture
def delivery(master: MasterKey, outbox: FileOutbox) -> Iterator[MailDelivery]:
    installed = MailDelivery(
        mailer=outbox,
        vault=SubjectVault(master),
        sender="Beispiel GmbH <privacy@example.org>",
        message_id_domain="example.org",
    )
    previous = install_delivery(installed)
    yield installed
    install_delivery(previous)


def confirmation(to: str = ADDRESS) -> OutboundMail:
    subject, text, html = render_mail(
        "doi_confirm",
        language="de",
        context={
            "controller": "Beispiel GmbH",
            "list_name": "Newsletter",
            "confirm_url": CONFIRM,
            "expires_at": dt.datetime(2026, 3, 9, 9, 0, tzinfo=dt.UTC),
            "valid_days": 7,
        },
        category="transactional",
    )
    return OutboundMail(to=to, subject=subject, text=text, html=html)


def queue(
    factory: sessionmaker[Session], master: MasterKey, clock: FrozenClock, **extra: str
) -> tuple[int, str]:
    with transaction(factory) as session:
        subject, _ = get_or_create_subject(
            session, kind="email", value=ADDRESS, master=master, clock=clock, actor="t"
        )
        message_id = enqueue_mail(
            session,
            mail=confirmation(),
            recipient_id=subject.id,
            vault=SubjectVault(master),
            clock=clock,
            message_id_domain="example.org",
            **extra,
        )
        return subject.id, message_id


def run_worker(factory: sessionmaker[Session], clock: FrozenClock) -> int:
    return Worker(factory, clock=clock, registry=registry, worker_id="test").run_until_idle()


def only_job(factory: sessionmaker[Session]) -> Job:
    with factory() as session:
        return session.scalars(select(Job)).one()


def test_the_handler_is_registered() -> None:
    assert JOB_KIND == "mail.send"
    assert JOB_KIND in registry


@pytest.mark.promise("P19")
def test_job_payload_holds_no_personal_data(
    session_factory: sessionmaker[Session], master: MasterKey, clock: FrozenClock
) -> None:
    subject_id, message_id = queue(session_factory, master, clock)
    job = only_job(session_factory)
    assert job.kind == JOB_KIND
    payload = json.loads(job.payload)
    assert set(payload) == {"recipient_id", "message_id", "category", "sealed"}
    assert payload["recipient_id"] == subject_id
    assert payload["message_id"] == message_id
    sealed = base64.b64decode(payload["sealed"])
    for secret in (ADDRESS, "anna", "secret-token", "Bestätigen", "Newsletter"):
        assert secret not in job.payload
        assert secret.encode() not in sealed


def test_worker_sends_the_queued_mail_and_records_it(
    session_factory: sessionmaker[Session],
    master: MasterKey,
    clock: FrozenClock,
    delivery: MailDelivery,
    outbox: FileOutbox,
) -> None:
    subject_id, message_id = queue(session_factory, master, clock)
    clock.advance(dt.timedelta(seconds=5))
    assert run_worker(session_factory, clock) == 1
    job = only_job(session_factory)
    assert job.status == JobStatus.DONE
    [path] = list(outbox.directory.iterdir())
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert message["Message-ID"] == message_id
    assert message["To"] == ADDRESS
    assert message["From"] == "Beispiel GmbH <privacy@example.org>"
    assert message["Subject"] == "Bitte bestätigen Sie Ihre Anmeldung für Newsletter"
    assert email.utils.parsedate_to_datetime(str(message["Date"])) == clock.now()
    assert message.get_content_type() == "multipart/alternative"
    with session_factory() as session:
        [sent] = entries(session, action="mail.sent")
        assert sent.target == f"subject:{subject_id}"
        assert json.loads(sent.payload) == {
            "job_id": job.id,
            "recipient_id": subject_id,
            "message_id": message_id,
            "category": "transactional",
        }
        assert ADDRESS not in sent.payload


@pytest.mark.promise("P19")
def test_mail_to_an_erased_person_is_discarded_unsent(
    session_factory: sessionmaker[Session],
    master: MasterKey,
    clock: FrozenClock,
    delivery: MailDelivery,
    outbox: FileOutbox,
) -> None:
    subject_id, message_id = queue(session_factory, master, clock)
    with transaction(session_factory) as session:
        subject = session.get(Subject, subject_id)
        assert subject is not None
        erase_subject(session, subject=subject, clock=clock, actor="t", reason="request 1")
    assert run_worker(session_factory, clock) == 1
    assert only_job(session_factory).status == JobStatus.DONE
    assert not outbox.directory.exists()
    with session_factory() as session:
        [discarded] = entries(session, action="mail.discarded")
        assert json.loads(discarded.payload)["message_id"] == message_id
        assert entries(session, action="mail.sent") == []


def test_without_an_installed_delivery_the_job_fails_and_retries(
    session_factory: sessionmaker[Session], master: MasterKey, clock: FrozenClock
) -> None:
    previous = install_delivery(None)
    try:
        queue(session_factory, master, clock)
        run_worker(session_factory, clock)
    finally:
        install_delivery(previous)
    job = only_job(session_factory)
    assert job.status == JobStatus.FAILED
    assert job.last_error is not None
    assert "install_delivery" in job.last_error


def test_same_idempotency_key_queues_one_mail(
    session_factory: sessionmaker[Session], master: MasterKey, clock: FrozenClock
) -> None:
    _, first = queue(session_factory, master, clock, idempotency_key="doi:1")
    _, second = queue(session_factory, master, clock, idempotency_key="doi:1")
    assert first == second
    assert only_job(session_factory).data["message_id"] == first


@pytest.mark.promise("P04")
def test_marketing_mail_without_headers_is_refused_before_queueing(
    session: Session, master: MasterKey, clock: FrozenClock
) -> None:
    subject, _ = get_or_create_subject(
        session, kind="email", value=ADDRESS, master=master, clock=clock, actor="t"
    )
    url = "https://privacy.example.org/u/abc"
    _, text, html = render_mail(
        "newsletter_sample",
        language="en",
        context={"controller": "Beispiel GmbH", "unsubscribe_url": url},
        category="marketing",
    )
    bare = OutboundMail(to=ADDRESS, subject="News", text=text, html=html, category="marketing")
    arguments = {
        "recipient_id": subject.id,
        "vault": SubjectVault(master),
        "clock": clock,
        "message_id_domain": "example.org",
    }
    with pytest.raises(UnsubscribeMissing):
        enqueue_mail(session, mail=bare, **arguments)  # type: ignore[arg-type]
    assert session.scalars(select(Job)).all() == []
    headers = marketing_headers(https_url=url, mailto="unsubscribe@example.org")
    ready = OutboundMail(
        to=ADDRESS, subject="News", text=text, html=html, headers=headers, category="marketing"
    )
    enqueue_mail(session, mail=ready, **arguments)  # type: ignore[arg-type]
    assert len(session.scalars(select(Job)).all()) == 1


def test_unknown_recipient_is_refused(
    session: Session, master: MasterKey, clock: FrozenClock
) -> None:
    with pytest.raises(NotFound):
        enqueue_mail(
            session,
            mail=confirmation(),
            recipient_id=999,
            vault=SubjectVault(master),
            clock=clock,
            message_id_domain="example.org",
        )
