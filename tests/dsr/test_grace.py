"""The grace period: a confirmed erasure waits so the alerted person can still stop it (V-3)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from tests.dsr.harness import APP_KEY, KNOWN, load, mails, run_jobs
from tutela.clock import FrozenClock
from tutela.config import Settings
from tutela.crypto import MasterKey
from tutela.dsr import DsrRuntime, Receipt, deny, get_request, sign_assertion, submit_in_app
from tutela.dsr.fulfil_job import ALERT_MISSING
from tutela.dsr.fulfilment import ALERT_PENDING_RECHECK, FULFIL_JOB, grace_until
from tutela.dsr.queue import NOTICE_JOB
from tutela.jobs import Job, JobStatus
from tutela.mail import FileOutbox
from tutela.storage import transaction
from tutela.subjects import Subject


def file_in_app(
    factory: sessionmaker[Session],
    request_type: str,
    *,
    master: MasterKey,
    clock: FrozenClock,
    settings: Settings,
) -> Receipt:
    token = sign_assertion(
        APP_KEY, kind="customer_id", value="K-4711", auth_time=clock.now(), issued_at=clock.now()
    )
    with transaction(factory) as session:
        return submit_in_app(
            session,
            assertion=token,
            request_type=request_type,
            language="en",
            master=master,
            clock=clock,
            settings=settings,
        )


def fulfil_job(factory: sessionmaker[Session]) -> Job:
    with factory() as session:
        return session.scalars(select(Job).where(Job.kind == FULFIL_JOB)).one()


def erased(factory: sessionmaker[Session], subject_id: int) -> bool:
    with factory() as session:
        subject = session.get(Subject, subject_id)
        assert subject is not None
        return subject.erased_at is not None


def test_the_shipped_default_is_a_day() -> None:
    assert Settings.model_fields["dsr_change_grace_hours"].default == 24


@pytest.mark.promise("P03")
def test_an_erasure_waits_out_the_grace_period_after_the_alert(
    session_factory: sessionmaker[Session],
    person: Callable[..., int],
    runtime: DsrRuntime,
    outbox: FileOutbox,
    master: MasterKey,
    clock: FrozenClock,
    settings: Settings,
) -> None:
    settings.dsr_change_grace_hours = 24
    subject_id = person(KNOWN, customer_id="K-4711")
    receipt = file_in_app(session_factory, "erasure", master=master, clock=clock, settings=settings)
    run_jobs(session_factory, clock)
    assert [m.to for m in mails(outbox) if "was confirmed" in m.subject] == [KNOWN]
    assert load(session_factory, receipt.reference).status == "verified"
    assert not erased(session_factory, subject_id)
    job = fulfil_job(session_factory)
    assert (job.status, job.attempts) == (JobStatus.QUEUED.value, 0)
    assert job.run_after == clock.now() + dt.timedelta(hours=24)

    clock.advance(dt.timedelta(hours=23, minutes=59))
    run_jobs(session_factory, clock)
    assert not erased(session_factory, subject_id)

    clock.advance(dt.timedelta(minutes=1))
    run_jobs(session_factory, clock)
    assert erased(session_factory, subject_id)
    assert load(session_factory, receipt.reference).status == "completed"


def test_staff_who_deny_within_the_grace_period_stop_the_erasure(
    session_factory: sessionmaker[Session],
    person: Callable[..., int],
    runtime: DsrRuntime,
    master: MasterKey,
    clock: FrozenClock,
    settings: Settings,
) -> None:
    settings.dsr_change_grace_hours = 24
    subject_id = person(KNOWN, customer_id="K-4711")
    receipt = file_in_app(session_factory, "erasure", master=master, clock=clock, settings=settings)
    run_jobs(session_factory, clock)
    with transaction(session_factory) as session:
        request = get_request(session, reference=receipt.reference)
        deny(
            session,
            request=request,
            reason="The customer wrote that the request was not theirs.",
            actor="staff:1",
            clock=clock,
        )
    clock.advance(dt.timedelta(hours=25))
    run_jobs(session_factory, clock)
    assert not erased(session_factory, subject_id)
    assert load(session_factory, receipt.reference).status == "denied"
    assert fulfil_job(session_factory).status == JobStatus.DONE.value


def test_an_access_request_does_not_wait(
    session_factory: sessionmaker[Session],
    person: Callable[..., int],
    runtime: DsrRuntime,
    master: MasterKey,
    clock: FrozenClock,
    settings: Settings,
) -> None:
    settings.dsr_change_grace_hours = 24
    person(KNOWN, customer_id="K-4711")
    receipt = file_in_app(session_factory, "access", master=master, clock=clock, settings=settings)
    run_jobs(session_factory, clock)
    assert load(session_factory, receipt.reference).status == "completed"


@pytest.mark.parametrize("hours", [0, 24])
def test_the_period_counts_from_the_alert_and_waits_for_it(
    session_factory: sessionmaker[Session],
    person: Callable[..., int],
    runtime: DsrRuntime,
    master: MasterKey,
    clock: FrozenClock,
    settings: Settings,
    hours: int,
) -> None:
    settings.dsr_change_grace_hours = hours
    person(KNOWN, customer_id="K-4711")
    receipt = file_in_app(session_factory, "erasure", master=master, clock=clock, settings=settings)
    with session_factory() as session:
        request = get_request(session, reference=receipt.reference)
        until = grace_until(session, request, settings=settings, now=clock.now())
    if hours == 0:
        assert until is None
        return
    assert until == clock.now() + ALERT_PENDING_RECHECK  # the alert has not gone out yet
    clock.advance(dt.timedelta(hours=2))
    run_jobs(session_factory, clock)  # the alert goes out now; the erasure waits
    with session_factory() as session:
        request = get_request(session, reference=receipt.reference)
        until = grace_until(session, request, settings=settings, now=clock.now())
        assert until == clock.now() + dt.timedelta(hours=24)
        later = clock.now() + dt.timedelta(hours=24)
        assert grace_until(session, request, settings=settings, now=later) is None


def test_an_alert_that_never_goes_out_holds_the_erasure_and_says_so(
    session_factory: sessionmaker[Session],
    person: Callable[..., int],
    runtime: DsrRuntime,
    master: MasterKey,
    clock: FrozenClock,
    settings: Settings,
) -> None:
    settings.dsr_change_grace_hours = 24
    subject_id = person(KNOWN, customer_id="K-4711")
    receipt = file_in_app(session_factory, "erasure", master=master, clock=clock, settings=settings)
    with transaction(session_factory) as session:  # the mail server was down for good
        session.execute(
            update(Job).where(Job.kind == NOTICE_JOB).values(status=JobStatus.DEAD.value)
        )
    run_jobs(session_factory, clock)
    assert load(session_factory, receipt.reference).last_error is None  # not overdue yet
    clock.advance(dt.timedelta(hours=30))
    run_jobs(session_factory, clock)
    request = load(session_factory, receipt.reference)
    assert request.status == "verified"
    assert request.last_error == ALERT_MISSING
    assert not erased(session_factory, subject_id)
    assert fulfil_job(session_factory).status == JobStatus.QUEUED.value
