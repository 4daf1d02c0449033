"""The daily sweep as jobs: scheduled once a day, one step per job, problems recorded."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

import tutela.retention.jobs as retention_jobs
from tests.retention.conftest import MASTER, make_context
from tests.retention.store import contents, write_files
from tutela.clock import FrozenClock
from tutela.config import Settings
from tutela.dsr.jobs import install_runtime
from tutela.dsr.notices import DsrRuntime
from tutela.jobs import Job, Worker, registry
from tutela.retention import plan, recent_runs
from tutela.storage import transaction

DAILY_UTC = dt.datetime(2026, 3, 3, 2, 0, tzinfo=dt.UTC)  # 03:00 in Berlin (winter time)


@pytest.fixture
def stores_file(tmp_path: Path, store_url: str) -> Path:
    return write_files(tmp_path / "config", store_url)


@pytest.fixture
def runtime(tmp_path: Path, stores_file: Path) -> Iterator[DsrRuntime]:
    settings = Settings(data_dir=tmp_path / "data", stores_file=stores_file)
    installed = DsrRuntime(master=MASTER, settings=settings)
    previous = install_runtime(installed)
    yield installed
    install_runtime(previous)


def _work(factory: sessionmaker[Session], clock: FrozenClock) -> int:
    worker = Worker(factory, registry=registry, clock=clock, worker_id="test")
    return worker.run_until_idle(max_jobs=500)


def test_the_daily_sweep_is_queued_once_per_day(
    session_factory: sessionmaker[Session], clock: FrozenClock
) -> None:
    with transaction(session_factory) as session:
        assert retention_jobs.ensure_daily_sweep(session, clock=clock)
        assert not retention_jobs.ensure_daily_sweep(session, clock=clock)
    with session_factory() as session:
        job = session.scalars(sa.select(Job)).one()
    assert job.kind == retention_jobs.DAILY_JOB
    assert job.idempotency_key == "retention.daily:2026-03-03"
    assert job.run_after == DAILY_UTC


@pytest.mark.promise("P18")
@pytest.mark.usefixtures("published", "runtime")
def test_the_scheduled_sweep_runs_step_by_step_and_queues_tomorrow(
    session_factory: sessionmaker[Session], clock: FrozenClock, store_url: str
) -> None:
    with transaction(session_factory) as session:
        retention_jobs.ensure_daily_sweep(session, clock=clock)
    clock.set(DAILY_UTC + dt.timedelta(minutes=1))
    context = make_context(store_url)
    try:
        with session_factory() as session:
            dry = plan(session, context=context, clock=clock)
            expected = {p.rule.id: p.counts for p in dry.rules}
    finally:
        context.close()
    ran = _work(session_factory, clock)
    with session_factory() as session:
        report = recent_runs(session)[0]
        kinds = session.scalars(sa.select(Job.kind).order_by(Job.id)).all()
        queued = session.scalars(sa.select(Job.idempotency_key).where(Job.status == "queued")).all()
    assert report.run.trigger == "schedule"
    assert report.run.status == "done"
    assert ran == len(kinds) - 1  # everything but tomorrow's daily job
    assert kinds.count(retention_jobs.STEP_JOB) > len(report.steps)  # one job per step
    assert queued == ["retention.daily:2026-03-04"]
    for step in report.steps:
        counts = expected[step.rule]
        assert counts is not None
        if not step.rule.startswith("crm.customers"):
            assert step.rows_done == counts.would_go, step.rule
    cutoff = (clock.now() - dt.timedelta(days=7)).replace(tzinfo=None)
    assert all(row[2] > cutoff for row in contents(store_url)["visits"])


@pytest.mark.usefixtures("published", "runtime")
def test_a_missing_mapping_is_recorded_as_a_failed_run(
    session_factory: sessionmaker[Session], clock: FrozenClock, stores_file: Path
) -> None:
    (stores_file.parent / "retention.yaml").unlink()
    with transaction(session_factory) as session:
        retention_jobs.ensure_daily_sweep(session, clock=clock)
    clock.set(DAILY_UTC + dt.timedelta(minutes=1))
    _work(session_factory, clock)
    with session_factory() as session:
        report = recent_runs(session)[0]
        failed = session.scalars(sa.select(Job).where(Job.status != "queued")).all()
    assert report.run.status == "errors"
    assert "retention.yaml" in (report.run.error or "")
    assert [job.status for job in failed] == ["done"]


@pytest.mark.usefixtures("published", "runtime")
def test_the_schedule_never_confirms_a_rule_that_empties_a_table(
    session_factory: sessionmaker[Session], clock: FrozenClock, stores_file: Path, store_url: str
) -> None:
    (stores_file.parent / "retention.yaml").write_text(
        "crm:\n  visits: {purposes: [server_logs], dates: {collection: at}}\n", encoding="utf-8"
    )
    clock.set(DAILY_UTC + dt.timedelta(days=40))
    with transaction(session_factory) as session:
        assert retention_jobs.run_daily(session, runtime=_runtime(), clock=clock) is not None
    _work(session_factory, clock)
    with session_factory() as session:
        (step,) = recent_runs(session)[0].steps
    assert step.status == "refused"
    assert len(contents(store_url)["visits"]) == 64


def _runtime() -> DsrRuntime:
    from tutela.dsr.jobs import installed_runtime

    return installed_runtime()
