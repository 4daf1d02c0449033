"""The request jobs: registration, configuration, in-app change alerts, undeliverable notices."""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Callable

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.dsr.harness import APP_KEY, KNOWN, load, mails, run_jobs
from tutela.audit import entries
from tutela.clock import FrozenClock
from tutela.config import Settings
from tutela.crypto import MasterKey
from tutela.dsr import (
    DsrRuntime,
    DsrVerification,
    Notice,
    Receipt,
    deny,
    get_request,
    request_code,
    sign_assertion,
    submit_in_app,
)
from tutela.dsr.jobs import install_runtime, run_notice
from tutela.dsr.queue import INTAKE_JOB, NOTICE_JOB, SWEEP_JOB, next_sweep_at
from tutela.dsr.verification import CODES_PER_HOUR
from tutela.jobs import Job, JobStatus, registry
from tutela.mail import FileOutbox
from tutela.storage import transaction


def test_the_handlers_are_registered() -> None:
    assert {INTAKE_JOB, NOTICE_JOB, SWEEP_JOB} <= set(registry.kinds())


def test_the_sweep_runs_at_six_in_germany() -> None:
    winter = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
    assert next_sweep_at(winter) == dt.datetime(2026, 3, 3, 5, 0, tzinfo=dt.UTC)
    summer_early = dt.datetime(2026, 7, 1, 3, 0, tzinfo=dt.UTC)  # 05:00 in Berlin
    assert next_sweep_at(summer_early) == dt.datetime(2026, 7, 1, 4, 0, tzinfo=dt.UTC)
    at_six = dt.datetime(2026, 7, 1, 4, 0, tzinfo=dt.UTC)
    assert next_sweep_at(at_six) == dt.datetime(2026, 7, 2, 4, 0, tzinfo=dt.UTC)


def test_without_the_runtime_the_job_fails_clearly_and_retries(
    session_factory: sessionmaker[Session],
    file_request: Callable[..., Receipt],
    clock: FrozenClock,
) -> None:
    previous = install_runtime(None)
    try:
        file_request(KNOWN)
        run_jobs(session_factory, clock)
    finally:
        install_runtime(previous)
    with session_factory() as session:
        job = session.scalars(select(Job).where(Job.kind == INTAKE_JOB)).one()
    assert job.status == JobStatus.FAILED
    assert job.last_error is not None
    assert "install_runtime" in job.last_error


@pytest.mark.promise("P03")
def test_in_app_erasure_alerts_the_channel_on_file(
    session_factory: sessionmaker[Session],
    person: Callable[..., int],
    runtime: DsrRuntime,
    outbox: FileOutbox,
    master: MasterKey,
    clock: FrozenClock,
    settings: Settings,
) -> None:
    subject_id = person(KNOWN, customer_id="K-4711")
    token = sign_assertion(
        APP_KEY, kind="customer_id", value="K-4711", auth_time=clock.now(), issued_at=clock.now()
    )
    with transaction(session_factory) as session:
        receipt = submit_in_app(
            session,
            assertion=token,
            request_type="erasure",
            language="en",
            master=master,
            clock=clock,
            settings=settings,
        )
    run_jobs(session_factory, clock)
    [alert] = [mail for mail in mails(outbox) if "was confirmed" in mail.subject]
    assert alert.to == KNOWN
    request = load(session_factory, receipt.reference)
    assert request.subject_id == subject_id
    with session_factory() as session:
        found = entries(session, target=f"dsr:{request.id}")
        actions = [e.action for e in sorted(found, key=lambda e: e.sequence)]
    assert actions[:2] == ["dsr.received", "dsr.matched"]
    assert "dsr.notice_sent" in actions  # the alert to the channel on file
    assert actions[-1] == "dsr.completed"  # then the erasure ran


def test_a_notice_without_a_channel_is_recorded_as_undelivered(
    session_factory: sessionmaker[Session],
    file_request: Callable[..., Receipt],
    runtime: DsrRuntime,
    outbox: FileOutbox,
    clock: FrozenClock,
) -> None:
    reference = file_request("K-0000", kind="customer_id").reference
    run_jobs(session_factory, clock)
    with transaction(session_factory) as session:
        request = get_request(session, reference=reference)
        deny(session, request=request, reason="No such customer", actor="staff:1", clock=clock)
    run_jobs(session_factory, clock)
    assert mails(outbox) == []
    with session_factory() as session:
        [sent] = entries(session, action="dsr.notice_sent")
    payload = json.loads(sent.payload)
    assert payload == {
        "request_id": load(session_factory, reference).id,
        "notice": "denied",
        "delivered": False,
        "message_id": None,
    }


def _codes(factory: sessionmaker[Session], request_id: int) -> int:
    with factory() as session:
        found = session.scalars(
            select(DsrVerification).where(
                DsrVerification.request_id == request_id, DsrVerification.method == "code"
            )
        )
        return len(found.all())


def test_two_workers_cannot_both_pass_the_code_limit(
    session_factory: sessionmaker[Session],
    file_request: Callable[..., Receipt],
    person: Callable[..., int],
    runtime: DsrRuntime,
    outbox: FileOutbox,
    clock: FrozenClock,
) -> None:
    person(KNOWN)
    reference = file_request(KNOWN).reference
    run_jobs(session_factory, clock)  # the link
    for _ in range(CODES_PER_HOUR - 1):
        with transaction(session_factory) as session:
            request_code(session, reference=reference, clock=clock)
        run_jobs(session_factory, clock)
    request_id = load(session_factory, reference).id
    assert _codes(session_factory, request_id) == CODES_PER_HOUR - 1
    finished: list[str] = []

    def second_worker() -> None:
        with transaction(session_factory) as session:
            run_notice(
                session, request_id=request_id, notice=Notice.CODE, runtime=runtime, clock=clock
            )
        finished.append("second")

    with session_factory() as first, first.begin():  # the first worker issues the last code
        run_notice(first, request_id=request_id, notice=Notice.CODE, runtime=runtime, clock=clock)
        thread = threading.Thread(target=second_worker)
        thread.start()
        thread.join(0.5)
        assert finished == []  # the second waits for the first's lock on the request
    thread.join(20)
    assert finished == ["second"]
    assert _codes(session_factory, request_id) == CODES_PER_HOUR  # it then saw the limit
    assert len(mails(outbox)) == 1 + CODES_PER_HOUR
