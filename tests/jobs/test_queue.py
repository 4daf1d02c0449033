from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session, sessionmaker

from tests.jobs.conftest import START
from tutela.clock import FrozenClock
from tutela.errors import Conflict, InvalidInput, NotFound
from tutela.jobs import (
    Job,
    JobStatus,
    backoff,
    claim,
    enqueue,
    ensure_job,
    get_job,
    purge_finished,
    requeue,
)
from tutela.jobs.queue import complete, fail, lock_held
from tutela.storage import transaction

LEASE = dt.timedelta(minutes=1)


def job_count(factory: sessionmaker[Session]) -> int:
    with factory() as session:
        return int(session.scalar(select(func.count()).select_from(Job)) or 0)


def test_enqueue_stores_a_queued_job(session: Session, clock: FrozenClock) -> None:
    job = enqueue(session, kind="mail.send", payload={"to": 7, "a": [1, 2]}, clock=clock)
    assert job.id is not None
    assert job.status == JobStatus.QUEUED
    assert (job.attempts, job.max_attempts) == (0, 5)
    assert job.run_after == START
    assert job.created_at == START
    assert job.payload == '{"a":[1,2],"to":7}'
    assert job.data == {"to": 7, "a": [1, 2]}
    assert job.idempotency_key is None
    later = START + dt.timedelta(hours=1)
    delayed = enqueue(session, kind="mail.send", payload={}, clock=clock, run_after=later)
    assert delayed.run_after == later


def test_same_idempotency_key_returns_the_existing_job(
    session_factory: sessionmaker[Session], clock: FrozenClock
) -> None:
    with transaction(session_factory) as session:
        first = enqueue(
            session, kind="notice.send", payload={"n": 1}, clock=clock, idempotency_key="notice:1"
        )
    with transaction(session_factory) as session:
        again = enqueue(
            session, kind="notice.send", payload={"n": 2}, clock=clock, idempotency_key="notice:1"
        )
        assert again.id == first.id
        assert again.data == {"n": 1}
        same_txn = enqueue(
            session, kind="notice.send", payload={}, clock=clock, idempotency_key="notice:2"
        )
        assert (
            enqueue(
                session, kind="notice.send", payload={}, clock=clock, idempotency_key="notice:2"
            ).id
            == same_txn.id
        )
    assert job_count(session_factory) == 2


def test_idempotency_key_of_another_kind_is_a_conflict(
    session: Session, clock: FrozenClock
) -> None:
    enqueue(session, kind="notice.send", payload={}, clock=clock, idempotency_key="k")
    with pytest.raises(Conflict, match=r"already belongs to a job of kind 'notice\.send'"):
        enqueue(session, kind="mail.send", payload={}, clock=clock, idempotency_key="k")


@pytest.mark.parametrize("key", [None, "notice:9"])
def test_rolled_back_enqueue_leaves_no_job(
    session_factory: sessionmaker[Session], clock: FrozenClock, key: str | None
) -> None:
    with session_factory() as session:
        session.begin()
        enqueue(session, kind="notice.send", payload={}, clock=clock, idempotency_key=key)
        session.rollback()
    assert job_count(session_factory) == 0


def test_racing_enqueues_with_one_key_make_one_job(
    session_factory: sessionmaker[Session], clock: FrozenClock
) -> None:
    # PostgreSQL: both transactions are open before either inserts. SQLite serialises
    # write transactions (BEGIN IMMEDIATE), so there the second simply waits its turn.
    interleave = session_factory.kw["bind"].dialect.name == "postgresql"
    barrier = threading.Barrier(2, timeout=30)
    ids: list[int] = []
    errors: list[BaseException] = []

    def racer() -> None:
        try:
            with transaction(session_factory) as session:
                session.execute(select(1))
                if interleave:
                    barrier.wait()
                job = enqueue(
                    session,
                    kind="export.build",
                    payload={},
                    clock=clock,
                    idempotency_key="export:5",
                )
                ids.append(job.id)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=racer) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert len(ids) == 2
    assert ids[0] == ids[1]
    assert job_count(session_factory) == 1


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"kind": ""}, "kind must be"),
        ({"payload": {"when": object()}}, "payload of job 'mail.send' cannot be stored"),
        ({"payload": {"x": float("inf")}}, "cannot be stored as JSON"),
        ({"idempotency_key": ""}, "idempotency_key must be"),
        ({"run_after": dt.datetime(2024, 1, 1)}, "run_after must be timezone-aware"),
        ({"max_attempts": 0}, "max_attempts must be at least 1"),
    ],
)
def test_enqueue_rejects_bad_input(
    session: Session, clock: FrozenClock, changes: dict[str, object], message: str
) -> None:
    arguments: dict[str, object] = {"kind": "mail.send", "payload": {}, **changes}
    with pytest.raises(InvalidInput, match=message):
        enqueue(session, clock=clock, **arguments)  # type: ignore[arg-type]


def test_claim_takes_the_oldest_due_job(session: Session, clock: FrozenClock) -> None:
    long = dt.timedelta(hours=1)
    late = enqueue(
        session, kind="a.b", payload={}, clock=clock, run_after=START + dt.timedelta(minutes=5)
    )
    second = enqueue(session, kind="a.b", payload={}, clock=clock)
    first = enqueue(
        session, kind="a.b", payload={}, clock=clock, run_after=START - dt.timedelta(minutes=1)
    )
    taken = claim(session, worker_id="w1", clock=clock, lease=long)
    assert taken is not None
    assert taken.id == first.id
    assert (taken.status, taken.attempts, taken.locked_by) == (JobStatus.RUNNING, 1, "w1")
    assert taken.locked_until == START + long
    nxt = claim(session, worker_id="w1", clock=clock, lease=long)
    assert nxt is not None
    assert nxt.id == second.id
    assert claim(session, worker_id="w1", clock=clock, lease=long) is None
    clock.advance(dt.timedelta(minutes=5))
    last = claim(session, worker_id="w1", clock=clock, lease=long)
    assert last is not None
    assert last.id == late.id


def test_expired_lease_is_claimed_again(session: Session, clock: FrozenClock) -> None:
    job = enqueue(session, kind="a.b", payload={}, clock=clock)
    assert claim(session, worker_id="w1", clock=clock, lease=LEASE) is not None
    clock.advance(LEASE)
    assert claim(session, worker_id="w2", clock=clock, lease=LEASE) is None  # not yet expired
    clock.advance(dt.timedelta(microseconds=1))
    again = claim(session, worker_id="w2", clock=clock, lease=LEASE)
    assert again is not None
    assert (again.id, again.attempts, again.locked_by) == (job.id, 2, "w2")


def test_expired_lease_on_the_last_attempt_buries_the_job(
    session: Session, clock: FrozenClock
) -> None:
    job = enqueue(session, kind="a.b", payload={}, clock=clock, max_attempts=1)
    assert claim(session, worker_id="w1", clock=clock, lease=LEASE) is not None
    clock.advance(LEASE * 2)
    assert claim(session, worker_id="w2", clock=clock, lease=LEASE) is None
    session.refresh(job)
    assert job.status == JobStatus.DEAD
    assert job.finished_at == clock.now()
    assert "lease expired" in (job.last_error or "")


def test_an_abandoned_last_attempt_does_not_hold_up_other_jobs(
    session: Session, clock: FrozenClock
) -> None:
    stuck = enqueue(session, kind="a.b", payload={}, clock=clock, max_attempts=1)
    assert claim(session, worker_id="w1", clock=clock, lease=LEASE) is not None
    clock.advance(LEASE * 2)
    waiting = enqueue(session, kind="a.c", payload={}, clock=clock)
    taken = claim(session, worker_id="w2", clock=clock, lease=LEASE)
    assert taken is not None
    assert taken.id == waiting.id
    assert claim(session, worker_id="w2", clock=clock, lease=LEASE) is None  # nothing due: bury
    session.refresh(stuck)
    assert stuck.status == JobStatus.DEAD


def test_settling_needs_the_current_lease(session: Session, clock: FrozenClock) -> None:
    job = enqueue(session, kind="a.b", payload={}, clock=clock)
    assert claim(session, worker_id="w1", clock=clock, lease=LEASE) is not None
    clock.advance(LEASE * 2)
    assert claim(session, worker_id="w2", clock=clock, lease=LEASE) is not None
    assert not complete(session, job_id=job.id, worker_id="w1", attempt=1, clock=clock)
    assert (
        fail(
            session,
            job_id=job.id,
            worker_id="w1",
            attempt=1,
            max_attempts=5,
            error="late",
            clock=clock,
        )
        is None
    )
    assert complete(session, job_id=job.id, worker_id="w2", attempt=2, clock=clock)
    session.refresh(job)
    assert (job.status, job.locked_by, job.finished_at) == (JobStatus.DONE, None, clock.now())


def test_backoff_doubles_up_to_an_hour() -> None:
    assert [backoff(n).total_seconds() for n in (1, 2, 3, 4)] == [2, 4, 8, 16]
    assert backoff(12) == dt.timedelta(hours=1)
    assert backoff(10_000) == dt.timedelta(hours=1)


def test_requeue_gives_a_dead_job_new_attempts(session: Session, clock: FrozenClock) -> None:
    job = enqueue(session, kind="a.b", payload={}, clock=clock, max_attempts=1)
    assert claim(session, worker_id="w1", clock=clock, lease=LEASE) is not None
    assert (
        fail(
            session,
            job_id=job.id,
            worker_id="w1",
            attempt=1,
            max_attempts=1,
            error="boom",
            clock=clock,
        )
        == JobStatus.DEAD
    )
    session.expire_all()
    clock.advance(dt.timedelta(days=1))
    again = requeue(session, job_id=job.id, clock=clock)
    assert (again.status, again.attempts, again.run_after) == (JobStatus.QUEUED, 0, clock.now())
    assert again.finished_at is None
    with pytest.raises(Conflict, match="only failed or dead jobs"):
        requeue(session, job_id=job.id, clock=clock)
    with pytest.raises(NotFound, match="no job 999"):
        get_job(session, 999)


def test_purge_removes_only_old_finished_jobs(session: Session, clock: FrozenClock) -> None:
    done = enqueue(session, kind="a.b", payload={}, clock=clock)
    waiting = enqueue(
        session, kind="a.b", payload={}, clock=clock, run_after=START + dt.timedelta(days=9)
    )
    assert claim(session, worker_id="w1", clock=clock, lease=LEASE) is not None
    assert complete(session, job_id=done.id, worker_id="w1", attempt=1, clock=clock)
    assert purge_finished(session, before=START) == 0
    assert purge_finished(session, before=START + dt.timedelta(seconds=1)) == 1
    session.expire_all()
    assert [job.id for job in session.scalars(select(Job))] == [waiting.id]


def test_burying_skips_a_last_attempt_whose_handler_still_holds_its_row(
    engine: Engine, session_factory: sessionmaker[Session], clock: FrozenClock
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("row locks are a PostgreSQL matter; SQLite runs one writer at a time")
    with transaction(session_factory) as session:
        job = enqueue(session, kind="a.b", payload={}, clock=clock, max_attempts=1)
        job_id = job.id
    with transaction(session_factory) as session:
        assert claim(session, worker_id="w1", clock=clock, lease=LEASE) is not None
    with session_factory() as holder, holder.begin():
        assert lock_held(holder, job_id=job_id, worker_id="w1", attempt=1) is not None
        clock.advance(LEASE * 2)  # the lease ran out, but the handler is still at work
        with session_factory() as other, other.begin():
            other.execute(text("SET LOCAL lock_timeout = '3s'"))  # waiting would fail here
            assert claim(other, worker_id="w2", clock=clock, lease=LEASE) is None
    with session_factory() as session:
        stored = session.get(Job, job_id)
        assert stored is not None
        assert stored.status == JobStatus.RUNNING.value  # left to its handler


def test_ensure_job_adds_once_per_key(session: Session, clock: FrozenClock) -> None:
    later = clock.now() + dt.timedelta(hours=6)
    first = ensure_job(
        session,
        kind="a.sweep",
        payload={"day": "x"},
        clock=clock,
        idempotency_key="k",
        run_after=later,
    )
    again = ensure_job(
        session, kind="a.sweep", payload={"day": "y"}, clock=clock, idempotency_key="k"
    )
    assert (first, again) == (True, False)
    jobs = session.scalars(select(Job).where(Job.idempotency_key == "k")).all()
    assert [(j.kind, j.data, j.run_after) for j in jobs] == [("a.sweep", {"day": "x"}, later)]
    with pytest.raises(InvalidInput, match="idempotency_key"):
        ensure_job(session, kind="a.sweep", payload={}, clock=clock, idempotency_key="")
