"""One sweep at a time: one running run, one checkpoint per rule, one chain of step jobs."""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

import tutela.retention.jobs as retention_jobs
from tests.retention.conftest import MASTER
from tests.retention.store import write_files
from tutela.clock import FrozenClock
from tutela.config import Settings
from tutela.dsr.jobs import install_runtime
from tutela.dsr.notices import DsrRuntime
from tutela.errors import Conflict
from tutela.jobs import Job
from tutela.retention import SweepContext, SweepRun, SweepStep, Trigger, open_run, sweep_step
from tutela.storage import transaction

pytestmark = pytest.mark.usefixtures("published")


def _open(session: Session, context: SweepContext, clock: FrozenClock) -> tuple[SweepRun, bool]:
    return open_run(session, context=context, trigger=Trigger.MANUAL, actor="t", clock=clock)


def test_only_one_run_is_running_and_each_rule_has_one_checkpoint(
    session_factory: sessionmaker[Session], context: SweepContext, clock: FrozenClock
) -> None:
    with transaction(session_factory) as session:
        run, _resumed = _open(session, context, clock)
        run_id = run.id
    with transaction(session_factory) as session:
        sweep_step(session, run_id=run_id, context=context, clock=clock)
    with session_factory() as session:
        step = session.scalars(sa.select(SweepStep)).one()
        copy = SweepRun(
            trigger="manual",
            actor="t",
            status="running",
            as_of=clock.now(),
            policy_version=1,
            chunk_size=10,
            confirmed="[]",
            started_at=clock.now(),
        )
        session.add(copy)
        with pytest.raises(IntegrityError):
            session.flush()
        session.rollback()
        copy.status = "done"  # finished runs are many
        session.add(copy)
        session.flush()
        twin = SweepStep(
            run_id=run_id,
            position=step.position,
            rule=step.rule,
            store=step.store,
            table_name=step.table_name,
            action=step.action,
            status="running",
            updated_at=clock.now(),
        )
        session.add(twin)
        with pytest.raises(IntegrityError):
            session.flush()
        session.rollback()


def test_a_start_racing_another_gets_the_running_sweep(
    session_factory: sessionmaker[Session],
    context: SweepContext,
    clock: FrozenClock,
    db_url: str,
) -> None:
    """Two starts at once: on PostgreSQL the later is refused, on SQLite it waits and resumes."""
    found: dict[str, object] = {}

    def second() -> None:
        try:
            with transaction(session_factory) as session:
                run, resumed = _open(session, context, clock)
                found["run"], found["resumed"] = run.id, resumed
        except Conflict as error:
            found["conflict"] = error

    with transaction(session_factory) as session:
        first, _resumed = _open(session, context, clock)
        first_id = first.id
        rival = threading.Thread(target=second)
        rival.start()
        rival.join(timeout=1)  # it waits for this transaction
        assert rival.is_alive()
    rival.join(timeout=30)
    assert not rival.is_alive()
    with session_factory() as session:
        running = session.scalars(sa.select(SweepRun.id).where(SweepRun.status == "running"))
        assert list(running) == [first_id]
    if db_url.startswith("postgresql"):
        conflict = found["conflict"]
        assert isinstance(conflict, Conflict)
        assert f"A sweep is running (number {first_id}, started 2026-03-02 09:00 UTC" in str(
            conflict.detail
        )
        assert "it resumes that sweep where it stopped" in conflict.detail
    else:  # SQLite writes one transaction at a time: the second start sees the first run
        assert (found["run"], found["resumed"]) == (first_id, True)


@pytest.fixture
def runtime(tmp_path: Path, store_url: str) -> Iterator[DsrRuntime]:
    stores = write_files(tmp_path / "config", store_url)
    installed = DsrRuntime(master=MASTER, settings=Settings(data_dir=tmp_path, stores_file=stores))
    previous = install_runtime(installed)
    yield installed
    install_runtime(previous)


def test_a_run_still_being_stepped_gets_no_second_chain(
    session_factory: sessionmaker[Session], clock: FrozenClock, runtime: DsrRuntime
) -> None:
    with transaction(session_factory) as session:
        first = retention_jobs.run_daily(session, runtime=runtime, clock=clock)
    clock.advance(dt.timedelta(days=1))  # the next night: yesterday's steps still queued
    with transaction(session_factory) as session:
        second = retention_jobs.run_daily(session, runtime=runtime, clock=clock)
    assert first is not None
    assert second == first
    with session_factory() as session:
        steps = session.scalars(sa.select(Job).where(Job.kind == retention_jobs.STEP_JOB)).all()
    assert [json.loads(job.payload)["run_id"] for job in steps] == [first]
    with transaction(session_factory) as session:  # once the chain is gone, a new one starts
        session.execute(sa.update(Job).values(status="dead"))
    with transaction(session_factory) as session:
        assert retention_jobs.run_daily(session, runtime=runtime, clock=clock) == first
    with session_factory() as session:
        queued = session.scalars(
            sa.select(Job).where(Job.kind == retention_jobs.STEP_JOB, Job.status == "queued")
        ).all()
    assert len(queued) == 1
