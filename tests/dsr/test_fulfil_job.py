"""The dsr.fulfil job: a store that is down, retries, partial answers and staff-only types."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

import tutela.dsr.fulfil_job  # noqa: F401  (registers the dsr.fulfil job)
from tests.dsr.harness import KNOWN, link_token, load, mails, run_jobs
from tests.dsr.test_stores import shop_database, shop_store
from tutela.audit import entries
from tutela.clock import FrozenClock
from tutela.connectors import create
from tutela.dsr import DsrRuntime, Receipt, consume_link
from tutela.dsr.events import request_target
from tutela.dsr.fulfilment import FULFIL_JOB, _handlers
from tutela.dsr.jobs import install_runtime
from tutela.dsr.terms import RequestType
from tutela.jobs import Job
from tutela.storage import transaction


@pytest.fixture
def shop_url(db_url: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with shop_database(db_url, request, tmp_path) as url:
        yield url


def _use(runtime: DsrRuntime, *stores: object) -> DsrRuntime:
    installed = DsrRuntime(
        master=runtime.master,
        settings=runtime.settings,
        stores=tuple(stores),  # type: ignore[arg-type]
    )
    install_runtime(installed)
    return installed


def _verify(
    factory: sessionmaker[Session],
    file_request: Callable[..., Receipt],
    outbox: object,
    clock: FrozenClock,
    request_type: str = "access",
) -> str:
    reference = file_request(KNOWN, request_type).reference
    run_jobs(factory, clock)
    with transaction(factory) as session:
        consume_link(session, token=link_token(mails(outbox)[-1]), clock=clock)  # type: ignore[arg-type]
    run_jobs(factory, clock)
    return reference


def _fulfil_job(factory: sessionmaker[Session]) -> Job:
    with factory() as session:
        job = session.scalars(select(Job).where(Job.kind == FULFIL_JOB)).one()
        session.expunge(job)
        return job


def test_a_store_that_is_down_keeps_the_request_open_until_it_is_back(
    session_factory: sessionmaker[Session],
    file_request: Callable[..., Receipt],
    person: Callable[..., int],
    runtime: DsrRuntime,
    shop_url: str,
    published: None,
    outbox: object,
    clock: FrozenClock,
    tmp_path: Path,
) -> None:
    person(KNOWN)
    down = shop_store(f"sqlite:///{tmp_path / 'missing-folder' / 'shop.db'}", name="shop")
    _use(runtime, down)
    reference = _verify(session_factory, file_request, outbox, clock)

    request = load(session_factory, reference)
    assert request.status == "in_progress"
    assert request.closed_at is None
    assert request.last_error is not None
    assert "shop" in request.last_error
    job = _fulfil_job(session_factory)
    assert job.attempts == 1
    assert job.status != "done"
    assert job.last_error
    assert not list((runtime.settings.packages_dir).glob("*.tpkg"))

    _use(runtime, shop_store(shop_url), create("manual", {"name": "crm", "system": "the CRM"}))
    clock.advance(dt.timedelta(hours=2))
    run_jobs(session_factory, clock)
    request = load(session_factory, reference)
    assert (request.status, request.outcome, request.last_error) == (
        "completed",
        "partially_fulfilled",
        None,
    )
    results = {item["store"]: item for item in json.loads(request.store_results or "[]")}
    assert results["crm"]["status"] == "partial"
    assert results["crm"]["task"] is True
    assert results["shop"]["status"] == "done"
    assert _fulfil_job(session_factory).status == "done"
    with session_factory() as session:
        actions = [e.action for e in entries(session, target=request_target(request.id))]
    assert "dsr.started" in actions
    assert "dsr.completed" in actions


def test_a_type_without_a_handler_waits_for_staff(
    session_factory: sessionmaker[Session],
    file_request: Callable[..., Receipt],
    person: Callable[..., int],
    runtime: DsrRuntime,
    published: None,
    outbox: object,
    clock: FrozenClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delitem(_handlers, RequestType.RESTRICTION, raising=False)
    person(KNOWN)
    reference = _verify(session_factory, file_request, outbox, clock, "restriction")
    request = load(session_factory, reference)
    assert request.status == "verified"
    assert request.last_error is None
    assert _fulfil_job(session_factory).status == "done"
    with session_factory() as session:
        actions = [e.action for e in entries(session, target=request_target(request.id))]
    assert "dsr.verified" in actions
    assert "dsr.completed" not in actions
    assert "dsr.started" not in actions
