"""Processors confirming an erasure sent through a webhook store (SQLite and PostgreSQL).

The request runs through the worker as in production: the ``dsr.fulfil`` job sends
it to the processor, the processor's confirmation queues the job again, and that
run finishes the request the ordinary way (shredding, Art. 19 list, answer mail).
"""

from __future__ import annotations

import dataclasses
import json
import threading
from collections.abc import Callable, Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.connectors.builtin.test_webhook import SECRET, Processor
from tests.dsr.fulfil_harness import fulfil, shop_database, shop_store
from tests.dsr.harness import KNOWN, link_token, mails, row_counts, run_jobs, subject_row
from tutela.audit import entries
from tutela.clock import FrozenClock
from tutela.connectors import create
from tutela.connectors.builtin.webhook_message import on_behalf_of, subject_request_id
from tutela.connectors.sample import customer_email
from tutela.crypto import MasterKey
from tutela.dsr import DsrRuntime, Receipt, consume_link, get_request
from tutela.dsr.events import request_target
from tutela.dsr.fulfil_job import run_fulfilment
from tutela.dsr.fulfilment import FULFIL_JOB
from tutela.dsr.jobs import install_runtime
from tutela.dsr.processors import record_processor_status
from tutela.jobs.models import Job
from tutela.mail import FileOutbox
from tutela.storage import transaction

RECIPIENT = "rechenzentrum_nord"
SHOP_PERSON = customer_email(3)


@pytest.fixture
def shop(db_url: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    admin = None if db_url.startswith("sqlite") else request.getfixturevalue("pg_admin_url")
    with shop_database(db_url, tmp_path, admin) as url:
        yield url


@pytest.fixture
def processor() -> Iterator[Processor]:
    state = Processor(secret=SECRET.encode())
    server = ThreadingHTTPServer(("127.0.0.1", 0), state.handler())
    state.url = f"http://127.0.0.1:{server.server_address[1]}/requests"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def with_mailer(
    runtime: DsrRuntime, processor: Processor, clock: FrozenClock
) -> Iterator[DsrRuntime]:
    """The worker's runtime with one webhook store, ``mailer``, that is the recipient."""
    settings = {"name": "mailer", "url": processor.url, "secret": SECRET, "clock": clock}
    store = create("webhook", {**settings, "recipient": RECIPIENT})
    installed = dataclasses.replace(runtime, stores=(store,))
    previous = install_runtime(installed)
    yield installed
    install_runtime(previous)


@pytest.fixture
def subject_id(person: Callable[..., int]) -> int:
    return person()


@pytest.fixture
def waiting(
    session_factory: sessionmaker[Session],
    file_request: Callable[..., Receipt],
    outbox: FileOutbox,
    clock: FrozenClock,
    with_mailer: DsrRuntime,
    published: None,
    subject_id: int,
) -> str:
    """An erasure request the worker sent to the processor, which accepted it (202)."""
    reference = file_request(KNOWN, "erasure").reference
    run_jobs(session_factory, clock)
    with transaction(session_factory) as session:
        consume_link(session, token=link_token(mails(outbox)[-1]), clock=clock)
    run_jobs(session_factory, clock)
    return reference


def _record(
    factory: sessionmaker[Session], reference: str, status: str, clock: FrozenClock
) -> str | None:
    with transaction(factory) as session:
        found = record_processor_status(
            session,
            store="mailer",
            subject_request_id=subject_request_id(reference),
            status=status,
            clock=clock,
        )
        return None if found is None else found.status


def _state(factory: sessionmaker[Session], reference: str) -> tuple[str, dict[str, object]]:
    with factory() as session:
        request = get_request(session, reference=reference)
        return request.status, json.loads(request.store_results or "{}")


def _actions(factory: sessionmaker[Session], reference: str) -> list[str]:
    with factory() as session:
        request = get_request(session, reference=reference)
        found = entries(session, target=request_target(request.id), limit=100)
        return [entry.action for entry in sorted(found, key=lambda e: e.sequence)]


def _reruns(factory: sessionmaker[Session], reference: str) -> list[Job]:
    with factory() as session:
        request = get_request(session, reference=reference)
        key = f"{FULFIL_JOB}:{request.id}:settled:%"
        found = session.scalars(
            select(Job).where(Job.kind == FULFIL_JOB, Job.idempotency_key.like(key))
        ).all()
        session.expunge_all()
        return list(found)


def test_an_accepted_erasure_waits_for_the_processor(
    session_factory: sessionmaker[Session], waiting: str, processor: Processor
) -> None:
    (post,) = processor.posts()
    assert json.loads(post.body)["subject_request_id"] == subject_request_id(waiting)
    status, results = _state(session_factory, waiting)
    assert status == "in_progress"
    stores = results["stores"]
    assert isinstance(stores, list)
    assert stores[0]["status"] == "partial"
    assert results["unhandled"] == ["mailer.mailer.*"]


def test_the_confirmation_reruns_the_fulfilment_which_finishes_the_erasure(
    session_factory: sessionmaker[Session],
    waiting: str,
    clock: FrozenClock,
    processor: Processor,
    outbox: FileOutbox,
    subject_id: int,
) -> None:
    before = row_counts(session_factory)
    sent = len(mails(outbox))
    processor.complete(subject_request_id(waiting))
    assert _record(session_factory, waiting, "completed", clock) == "in_progress"
    written = sum(row_counts(session_factory).values()) - sum(before.values())
    assert written == 2  # the audit entry and the re-run job; the request row is updated
    (rerun,) = _reruns(session_factory, waiting)
    assert rerun.status == "queued"
    status, results = _state(session_factory, waiting)
    stores = results["stores"]
    assert isinstance(stores, list)
    assert (status, stores[0]["status"], results["unhandled"]) == ("in_progress", "done", [])
    assert subject_row(session_factory, subject_id).erased_at is None  # not yet: no tail ran

    run_jobs(session_factory, clock)

    with session_factory() as session:
        request = get_request(session, reference=waiting)
        assert (request.status, request.outcome, request.last_error) == (
            "completed",
            "fulfilled",
            None,
        )
        results = json.loads(request.store_results or "{}")
    assert results["stores"][0]["status"] == "done"
    assert results["tutela"] == {"subject": "shredded"}
    assert subject_row(session_factory, subject_id).erased_at is not None
    told = {item["id"]: item for item in results["recipients"]}
    assert told[RECIPIENT] == {
        "id": RECIPIENT,
        "name": "Rechenzentrum Nord GmbH",
        "notice": "webhook",
        "store": "mailer",
    }
    assert len(processor.posts()) == 1  # the re-run asked, it did not send again
    assert len(mails(outbox)) == sent + 1
    answer = mails(outbox)[-1]
    assert answer.to == KNOWN
    assert "carried out" in answer.subject
    assert "Rechenzentrum Nord GmbH" in answer.flat
    actions = _actions(session_factory, waiting)
    assert actions.index("dsr.processor_confirmed") < actions.index("dsr.completed")
    assert actions[-1] == "dsr.completed"


def test_the_rerun_after_the_confirmation_does_not_ask_the_processor_again(
    session_factory: sessionmaker[Session],
    waiting: str,
    clock: FrozenClock,
    processor: Processor,
) -> None:
    processor.complete(subject_request_id(waiting))
    _record(session_factory, waiting, "completed", clock)
    asked = len(processor.seen)
    processor.status_code = 503  # down now: the signed confirmation is what counts
    run_jobs(session_factory, clock)
    assert _state(session_factory, waiting)[0] == "completed"
    assert len(processor.seen) == asked
    assert len(processor.posts()) == 1


def test_a_retried_run_while_the_processor_works_neither_sends_nor_asks_again(
    session_factory: sessionmaker[Session],
    waiting: str,
    clock: FrozenClock,
    processor: Processor,
    with_mailer: DsrRuntime,
) -> None:
    with transaction(session_factory) as session:
        request = get_request(session, reference=waiting)
        run_fulfilment(session, request_id=request.id, runtime=with_mailer, clock=clock)
    assert [seen.method for seen in processor.seen] == ["GET", "POST"]  # the first run's
    status, results = _state(session_factory, waiting)
    assert (status, results["kept"]) == ("in_progress", ["mailer"])


@pytest.mark.promise("P17")
def test_the_confirmation_rerun_keeps_what_the_sql_store_erased_in_the_first_run(
    session_factory: sessionmaker[Session],
    file_request: Callable[..., Receipt],
    person: Callable[..., int],
    outbox: FileOutbox,
    clock: FrozenClock,
    runtime: DsrRuntime,
    published: None,
    processor: Processor,
    master: MasterKey,
    shop: str,
) -> None:
    settings = {"name": "mailer", "url": processor.url, "secret": SECRET, "clock": clock}
    stores = (shop_store(shop, master), create("webhook", {**settings, "recipient": RECIPIENT}))
    previous = install_runtime(dataclasses.replace(runtime, stores=stores))
    try:
        person(SHOP_PERSON)
        reference = file_request(SHOP_PERSON, "erasure").reference
        run_jobs(session_factory, clock)
        with transaction(session_factory) as session:
            consume_link(session, token=link_token(mails(outbox)[-1]), clock=clock)
        run_jobs(session_factory, clock)
        status, held = _state(session_factory, reference)
        assert status == "in_progress"
        stores_then = held["stores"]
        assert isinstance(stores_then, list)
        first_run = next(entry for entry in stores_then if entry["store"] == "shop")
        rows = sum(first_run["rows"].values())
        assert rows > 0
        processor.complete(subject_request_id(reference))
        _record(session_factory, reference, "completed", clock)
        run_jobs(session_factory, clock)
    finally:
        install_runtime(previous)

    status, results = _state(session_factory, reference)
    assert status == "completed"
    stores_now = results["stores"]
    assert isinstance(stores_now, list)
    assert next(entry for entry in stores_now if entry["store"] == "shop") == first_run
    answer = mails(outbox)[-1]
    assert answer.to == SHOP_PERSON
    assert f"shop: we looked for your data and erased what we found ({rows} records" in (
        answer.flat
    )
    assert len(processor.posts()) == 1


def test_pending_and_unknown_ids_change_nothing(
    session_factory: sessionmaker[Session], waiting: str, clock: FrozenClock
) -> None:
    assert _record(session_factory, waiting, "in_progress", clock) == "in_progress"
    assert _record(session_factory, "DSR-0000-0000-0000", "completed", clock) is None
    with transaction(session_factory) as session:
        other = record_processor_status(
            session,
            store="another",
            subject_request_id=subject_request_id(waiting),
            status="completed",
            clock=clock,
        )
    assert other is None
    assert _state(session_factory, waiting)[0] == "in_progress"
    assert "dsr.processor_confirmed" not in _actions(session_factory, waiting)
    assert _reruns(session_factory, waiting) == []


def test_a_cancelled_request_stays_open_for_staff(
    session_factory: sessionmaker[Session], waiting: str, clock: FrozenClock
) -> None:
    assert _record(session_factory, waiting, "cancelled", clock) == "in_progress"
    status, results = _state(session_factory, waiting)
    stores = results["stores"]
    assert isinstance(stores, list)
    assert stores[0]["status"] == "failed"
    assert "cancelled" in stores[0]["error"]
    assert status == "in_progress"
    with session_factory() as session:
        assert "mailer failed" in (get_request(session, reference=waiting).last_error or "")
    assert _reruns(session_factory, waiting) == []


def test_a_repeated_confirmation_is_recorded_and_queued_once(
    session_factory: sessionmaker[Session],
    waiting: str,
    clock: FrozenClock,
    processor: Processor,
) -> None:
    processor.complete(subject_request_id(waiting))
    _record(session_factory, waiting, "completed", clock)
    assert _record(session_factory, waiting, "completed", clock) == "in_progress"
    assert _actions(session_factory, waiting).count("dsr.processor_confirmed") == 1
    assert len(_reruns(session_factory, waiting)) == 1
    run_jobs(session_factory, clock)
    assert _record(session_factory, waiting, "completed", clock) is None  # closed: not waiting
    assert _actions(session_factory, waiting).count("dsr.processor_confirmed") == 1


def test_a_recipient_with_a_webhook_store_is_told_through_it(
    session_factory: sessionmaker[Session],
    file_request: Callable[..., Receipt],
    outbox: FileOutbox,
    clock: FrozenClock,
    runtime: DsrRuntime,
    published: None,
    person: Callable[..., int],
    processor: Processor,
) -> None:
    processor.code = 200
    processor.answer = {"request_status": "completed"}
    person()
    reference = file_request(KNOWN, "erasure").reference
    run_jobs(session_factory, clock)
    with transaction(session_factory) as session:
        consume_link(session, token=link_token(mails(outbox)[-1]), clock=clock)
    settings = {"name": "dc", "url": processor.url, "secret": SECRET, "clock": clock}
    store = create("webhook", {**settings, "recipient": RECIPIENT})
    with transaction(session_factory) as session:
        request = get_request(session, reference=reference)
        with on_behalf_of(reference):
            fulfil(session, request, stores=[store], runtime=runtime, clock=clock)
    status, results = _state(session_factory, reference)
    assert status == "completed"
    recipients = results["recipients"]
    assert isinstance(recipients, list)
    told = {item["id"]: item for item in recipients}
    assert told[RECIPIENT]["notice"] == "webhook"
    assert told[RECIPIENT]["store"] == "dc"
    assert {item["notice"] for key, item in told.items() if key != RECIPIENT} <= {"manual"}
