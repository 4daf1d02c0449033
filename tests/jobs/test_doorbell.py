"""The doorbell: a committed job wakes idle workers at once, here and in other processes."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from tests.jobs.conftest import mark_count
from tests.jobs.test_worker import add_job, write_mark
from tutela.clock import FrozenClock
from tutela.jobs import JobContext, JobRegistry, Worker, enqueue
from tutela.jobs.doorbell import BELL, Doorbell, Listener, listen_if_possible
from tutela.storage import transaction

pytestmark = pytest.mark.usefixtures("with_marks")


def test_a_ring_after_the_mark_is_not_missed() -> None:
    bell = Doorbell()
    mark = bell.mark()
    bell.ring()
    assert bell.wait(mark, 0) is True
    assert bell.wait(bell.mark(), 0.01) is False


def test_a_ring_wakes_a_waiting_thread() -> None:
    bell = Doorbell()
    mark = bell.mark()
    woke: list[bool] = []
    waiter = threading.Thread(target=lambda: woke.append(bell.wait(mark, 30)))
    waiter.start()
    bell.ring()
    waiter.join(10)
    assert woke == [True]


def test_committing_an_enqueue_rings_the_bell(
    session_factory: sessionmaker[Session], clock: FrozenClock
) -> None:
    mark = BELL.mark()
    add_job(session_factory, clock)
    assert BELL.wait(mark, 0)


def test_a_rolled_back_enqueue_rings_nothing(
    session_factory: sessionmaker[Session], clock: FrozenClock
) -> None:
    mark = BELL.mark()
    with session_factory() as session:
        session.begin()
        enqueue(session, kind="test.mark", payload={"note": "never"}, clock=clock)
        session.rollback()
    assert not BELL.wait(mark, 0)


def test_two_enqueues_in_one_transaction_arm_the_session_once(
    session_factory: sessionmaker[Session], clock: FrozenClock
) -> None:
    mark = BELL.mark()
    with transaction(session_factory) as session:
        for note in ("one", "two"):
            enqueue(session, kind="test.mark", payload={"note": note}, clock=clock)
    assert BELL.mark() == mark + 1


def test_an_idle_worker_runs_a_new_job_without_waiting_for_its_poll(
    session_factory: sessionmaker[Session], clock: FrozenClock, jobs_registry: JobRegistry
) -> None:
    @jobs_registry.handler("test.mark")
    def handler(session: Session, payload: dict[str, Any], ctx: JobContext) -> None:
        write_mark(session, payload, ctx)

    stop = threading.Event()
    worker = Worker(session_factory, registry=jobs_registry, worker_id="bell", clock=clock)
    thread = worker.start_in_thread(stop, poll_interval=600)
    try:
        time.sleep(0.2)  # the worker found nothing and waits (up to ten minutes)
        add_job(session_factory, clock)
        deadline = time.monotonic() + 20
        while mark_count(session_factory) == 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert mark_count(session_factory) == 1
    finally:
        stop.set()
        BELL.ring()
        thread.join(10)
    assert not thread.is_alive()


def test_other_processes_are_told_through_postgresql(
    engine: Engine, session_factory: sessionmaker[Session], clock: FrozenClock
) -> None:
    if engine.dialect.name != "postgresql":
        assert listen_if_possible(engine, threading.Event()) is None
        return
    own = Doorbell()
    stop = threading.Event()
    listener = Listener(engine, stop, bell=own)
    thread = listener.start()
    try:
        assert own.wait(0, 20), "the listener rings once when it starts listening"
        mark = own.mark()
        add_job(session_factory, clock)
        assert own.wait(mark, 20)
    finally:
        stop.set()
        thread.join(10)
    assert not thread.is_alive()


def test_releasing_a_savepoint_is_not_the_commit(
    session_factory: sessionmaker[Session], clock: FrozenClock
) -> None:
    with session_factory() as session:
        session.begin()
        enqueue(session, kind="test.mark", payload={"note": "later"}, clock=clock)
        mark = BELL.mark()
        with session.begin_nested():
            pass
        assert not BELL.wait(mark, 0), "a released savepoint must not wake the workers"
        session.commit()
    assert BELL.wait(mark, 0)


def test_a_rolled_back_savepoint_keeps_the_outer_job_armed(
    session_factory: sessionmaker[Session], clock: FrozenClock
) -> None:
    with session_factory() as session:
        session.begin()
        enqueue(session, kind="test.mark", payload={"note": "outer"}, clock=clock)
        mark = BELL.mark()
        nested = session.begin_nested()
        nested.rollback()
        session.commit()
    assert BELL.wait(mark, 0)
