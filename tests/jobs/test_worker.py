from __future__ import annotations

import collections
import datetime as dt
import threading
import time
from typing import Any

import pytest
from sqlalchemy import Engine, insert
from sqlalchemy.orm import Session, sessionmaker

from tests.jobs.conftest import START, mark_count, mark_notes, marks
from tutela.clock import FrozenClock
from tutela.jobs import (
    Job,
    JobContext,
    JobRegistry,
    JobStatus,
    Postpone,
    Worker,
    claim,
    enqueue,
    run_one,
    start_in_thread,
)
from tutela.storage import transaction

pytestmark = pytest.mark.usefixtures("with_marks")


def add_job(factory: sessionmaker[Session], clock: FrozenClock, **extra: Any) -> int:
    with transaction(factory) as session:
        arguments: dict[str, Any] = {"kind": "test.mark", "payload": {"note": "hello"}, **extra}
        return enqueue(session, clock=clock, **arguments).id


def load(factory: sessionmaker[Session], job_id: int) -> Job:
    with factory() as session:
        job = session.get(Job, job_id)
        assert job is not None
        return job


def write_mark(session: Session, payload: dict[str, Any], ctx: JobContext) -> None:
    session.execute(insert(marks).values(job_id=ctx.job_id, note=payload["note"]))


def test_enqueued_job_runs_and_commits_with_its_done_mark(
    session_factory: sessionmaker[Session], clock: FrozenClock, jobs_registry: JobRegistry
) -> None:
    seen: list[JobContext] = []

    @jobs_registry.handler("test.mark")
    def handler(session: Session, payload: dict[str, Any], ctx: JobContext) -> None:
        seen.append(ctx)
        write_mark(session, payload, ctx)

    job_id = add_job(session_factory, clock)
    assert run_one(session_factory, registry=jobs_registry, worker_id="w1", clock=clock)
    assert not run_one(session_factory, registry=jobs_registry, worker_id="w1", clock=clock)
    job = load(session_factory, job_id)
    assert (job.status, job.attempts, job.finished_at) == (JobStatus.DONE, 1, START)
    assert (job.locked_by, job.locked_until, job.last_error) == (None, None, None)
    assert mark_notes(session_factory) == ["hello"]
    assert [(c.job_id, c.kind, c.attempt, c.max_attempts, c.worker_id) for c in seen] == [
        (job_id, "test.mark", 1, 5, "w1")
    ]
    assert seen[0].clock is clock


def test_failing_handler_rolls_back_and_retries_with_backoff(
    session_factory: sessionmaker[Session], clock: FrozenClock, jobs_registry: JobRegistry
) -> None:
    calls: list[int] = []

    @jobs_registry.handler("test.mark")
    def flaky(session: Session, payload: dict[str, Any], ctx: JobContext) -> None:
        calls.append(ctx.attempt)
        write_mark(session, payload, ctx)
        if ctx.attempt < 3:
            raise RuntimeError(f"mail server busy ({ctx.attempt})")

    job_id = add_job(session_factory, clock)
    worker = Worker(session_factory, clock=clock, registry=jobs_registry, worker_id="w1")
    assert worker.run_until_idle() == 1
    job = load(session_factory, job_id)
    assert (job.status, job.attempts) == (JobStatus.FAILED, 1)
    assert job.last_error == "attempt 1: RuntimeError: mail server busy (1)"
    assert job.run_after == START + dt.timedelta(seconds=2)
    assert (job.locked_by, job.finished_at) == (None, None)
    assert mark_count(session_factory) == 0  # the handler's write was rolled back

    clock.advance(dt.timedelta(seconds=1))
    assert worker.run_until_idle() == 0  # not due yet
    clock.advance(dt.timedelta(seconds=1))
    assert worker.run_until_idle() == 1
    job = load(session_factory, job_id)
    assert (job.status, job.attempts) == (JobStatus.FAILED, 2)
    assert job.run_after == clock.now() + dt.timedelta(seconds=4)

    clock.advance(dt.timedelta(seconds=4))
    assert worker.run_until_idle() == 1
    job = load(session_factory, job_id)
    assert (job.status, job.attempts, job.finished_at) == (JobStatus.DONE, 3, clock.now())
    assert calls == [1, 2, 3]
    assert mark_count(session_factory) == 1


def test_job_dies_after_its_last_attempt(
    session_factory: sessionmaker[Session], clock: FrozenClock, jobs_registry: JobRegistry
) -> None:
    @jobs_registry.handler("test.mark")
    def broken(session: Session, payload: dict[str, Any], ctx: JobContext) -> None:
        raise ValueError("bad address")

    job_id = add_job(session_factory, clock, max_attempts=2)
    worker = Worker(session_factory, clock=clock, registry=jobs_registry, worker_id="w1")
    assert worker.run_until_idle() == 1
    clock.advance(dt.timedelta(minutes=1))
    assert worker.run_until_idle() == 1
    job = load(session_factory, job_id)
    assert (job.status, job.attempts, job.finished_at) == (JobStatus.DEAD, 2, clock.now())
    assert job.last_error == "attempt 2: ValueError: bad address"
    clock.advance(dt.timedelta(days=1))
    assert worker.run_until_idle() == 0


def test_unknown_kind_fails_with_a_clear_error(
    session_factory: sessionmaker[Session], clock: FrozenClock, jobs_registry: JobRegistry
) -> None:
    job_id = add_job(session_factory, clock, kind="nobody.handles")
    assert run_one(session_factory, registry=jobs_registry, worker_id="w1", clock=clock)
    job = load(session_factory, job_id)
    assert job.status == JobStatus.FAILED
    assert "No handler is registered for job kind 'nobody.handles'" in (job.last_error or "")


def test_expired_lease_is_taken_over(
    session_factory: sessionmaker[Session], clock: FrozenClock, jobs_registry: JobRegistry
) -> None:
    jobs_registry.register("test.mark", write_mark)
    job_id = add_job(session_factory, clock)
    with transaction(session_factory) as session:  # a worker claims it, then vanishes
        assert claim(session, worker_id="gone", clock=clock, lease=dt.timedelta(minutes=5))
    worker = Worker(session_factory, clock=clock, registry=jobs_registry, worker_id="w2")
    assert worker.run_until_idle() == 0
    clock.advance(dt.timedelta(minutes=6))
    assert worker.run_until_idle() == 1
    job = load(session_factory, job_id)
    assert (job.status, job.attempts) == (JobStatus.DONE, 2)
    assert mark_count(session_factory) == 1


def test_job_outliving_its_lease_is_never_settled_twice(
    engine: Engine,
    session_factory: sessionmaker[Session],
    clock: FrozenClock,
    jobs_registry: JobRegistry,
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip(
            "SQLite serialises write transactions: a second worker waits for the first "
            "one's commit and cannot claim a job while its handler runs"
        )
    job_id = add_job(session_factory, clock)
    taken: list[Job | None] = []

    @jobs_registry.handler("test.mark")
    def slow(session: Session, payload: dict[str, Any], ctx: JobContext) -> None:
        clock.advance(dt.timedelta(hours=1))  # the lease runs out while the handler works
        with transaction(session_factory) as other:
            taken.append(claim(other, worker_id="w2", clock=clock, lease=dt.timedelta(hours=2)))
        write_mark(session, payload, ctx)

    assert run_one(session_factory, registry=jobs_registry, worker_id="w1", clock=clock)
    job = load(session_factory, job_id)
    # the running job's row stays locked, so no other worker can take it over
    assert taken == [None]
    assert (job.status, job.attempts, mark_count(session_factory)) == (JobStatus.DONE, 1, 1)


def test_two_workers_run_each_job_exactly_once(
    engine: Engine,
    session_factory: sessionmaker[Session],
    clock: FrozenClock,
    jobs_registry: JobRegistry,
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("concurrent workers are a PostgreSQL deployment")
    runs: collections.Counter[int] = collections.Counter()
    lock = threading.Lock()

    @jobs_registry.handler("test.mark")
    def counted(session: Session, payload: dict[str, Any], ctx: JobContext) -> None:
        with lock:
            runs[ctx.job_id] += 1
        write_mark(session, payload, ctx)
        time.sleep(0.002)

    job_ids = [add_job(session_factory, clock, payload={"note": str(n)}) for n in range(50)]
    done: dict[str, int] = {}
    errors: list[BaseException] = []

    def work(name: str) -> None:
        try:
            worker = Worker(session_factory, clock=clock, registry=jobs_registry, worker_id=name)
            done[name] = worker.run_until_idle()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(f"w{n}",)) for n in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert errors == []
    assert sorted(runs) == sorted(job_ids)
    assert set(runs.values()) == {1}
    assert sum(done.values()) == 50
    assert mark_count(session_factory) == 50
    with session_factory() as session:
        statuses = {job.status for job in session.query(Job)}
    assert statuses == {JobStatus.DONE}


def test_worker_thread_runs_jobs_until_stopped(
    session_factory: sessionmaker[Session], clock: FrozenClock, jobs_registry: JobRegistry
) -> None:
    jobs_registry.register("test.mark", write_mark)
    running = start_in_thread(
        session_factory, clock=clock, registry=jobs_registry, poll_interval=0.01
    )
    try:
        add_job(session_factory, clock)
        deadline = time.monotonic() + 20
        while mark_count(session_factory) == 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert mark_count(session_factory) == 1
    finally:
        running.stop()
    assert not running.thread.is_alive()
    assert running.worker.worker_id.count(":") == 2


def test_run_until_idle_can_stop_early(
    session_factory: sessionmaker[Session], clock: FrozenClock, jobs_registry: JobRegistry
) -> None:
    jobs_registry.register("test.mark", write_mark)
    for _ in range(3):
        add_job(session_factory, clock)
    worker = Worker(session_factory, clock=clock, registry=jobs_registry)
    assert worker.run_until_idle(max_jobs=2) == 2
    assert worker.run_until_idle() == 1


def test_a_postponed_job_runs_again_later_without_spending_an_attempt(
    session_factory: sessionmaker[Session], clock: FrozenClock, jobs_registry: JobRegistry
) -> None:
    later = clock.now() + dt.timedelta(hours=24)

    @jobs_registry.handler("test.mark")
    def handler(session: Session, payload: dict[str, Any], ctx: JobContext) -> None:
        write_mark(session, payload, ctx)  # rolled back with the postponed run
        if ctx.clock.now() < later:
            raise Postpone(later, "waiting for the grace period")

    job_id = add_job(session_factory, clock, max_attempts=1)
    assert run_one(session_factory, registry=jobs_registry, worker_id="w1", clock=clock)
    job = load(session_factory, job_id)
    assert (job.status, job.attempts, job.run_after) == (JobStatus.QUEUED.value, 0, later)
    assert mark_count(session_factory) == 0
    assert not run_one(session_factory, registry=jobs_registry, worker_id="w1", clock=clock)
    clock.advance(dt.timedelta(hours=24))
    assert run_one(session_factory, registry=jobs_registry, worker_id="w1", clock=clock)
    assert load(session_factory, job_id).status == JobStatus.DONE.value
    assert mark_count(session_factory) == 1
