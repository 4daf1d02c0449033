"""Status changes ring the status bell on commit (here) and notify other processes (PostgreSQL)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from tests.dsr.harness import KNOWN
from tutela.clock import FrozenClock
from tutela.dsr import Receipt, get_request, start
from tutela.dsr.terms import Status
from tutela.dsr.watch import STATUS_BELL, STATUS_CHANNEL, wait_for_change, watch_statuses
from tutela.jobs.doorbell import Doorbell, Listener


def _received(file_request: Callable[..., Receipt]) -> str:
    watch_statuses()
    return file_request(KNOWN).reference


def _to_in_progress(session: Session, reference: str) -> None:
    get_request(session, reference=reference).status = Status.IN_PROGRESS.value


def test_a_committed_status_change_rings_and_a_rollback_does_not(
    session_factory: sessionmaker[Session], file_request: Callable[..., Receipt]
) -> None:
    reference = _received(file_request)
    mark = STATUS_BELL.mark()
    with session_factory() as session:
        _to_in_progress(session, reference)
        session.flush()
        session.rollback()
    assert not STATUS_BELL.wait(mark, 0), "a rolled-back change must not ring"
    with session_factory() as session, session.begin():
        found = get_request(session, reference=reference)
        with session.begin_nested():
            found.status = Status.IN_PROGRESS.value
        assert not STATUS_BELL.wait(mark, 0), "a released savepoint is not the commit"
    assert STATUS_BELL.wait(mark, 0), "the commit rings"


def test_setting_the_same_status_again_does_not_ring(
    session_factory: sessionmaker[Session], file_request: Callable[..., Receipt]
) -> None:
    reference = _received(file_request)
    with session_factory() as session, session.begin():
        found = get_request(session, reference=reference)
        mark = STATUS_BELL.mark()
        found.status = found.status
    assert not STATUS_BELL.wait(mark, 0)


def test_other_processes_hear_status_changes_through_postgresql(
    engine: Engine,
    session_factory: sessionmaker[Session],
    file_request: Callable[..., Receipt],
    clock: FrozenClock,
) -> None:
    reference = _received(file_request)
    own = Doorbell()
    stop = threading.Event()
    if engine.dialect.name != "postgresql":
        return  # SQLite has no NOTIFY: waiting clients fall back to reading again
    thread = Listener(engine, stop, channels={STATUS_CHANNEL: own}).start()
    try:
        assert own.wait(0, 20), "the listener rings once when it starts listening"
        mark = own.mark()
        with session_factory() as session, session.begin():
            found = get_request(session, reference=reference)
            found.status = Status.VERIFIED.value  # staff path aside: the bell only sees status
            start(session, request=found, actor="t", clock=clock)
        assert own.wait(mark, 20)
    finally:
        stop.set()
        thread.join(10)
    assert not thread.is_alive()


def test_wait_for_change_reads_again_when_rung_and_stops_at_the_deadline() -> None:
    bell = Doorbell()
    statuses = iter(["received", "received", "verified"])
    reads: list[str] = []

    async def read() -> str:
        reads.append(next(statuses))
        return reads[-1]

    async def scenario() -> tuple[str, str]:
        async def ring_later() -> None:
            await asyncio.sleep(0.05)
            bell.ring()  # an unrelated change: read again, still "received"
            await asyncio.sleep(0.05)
            bell.ring()

        ringer = asyncio.create_task(ring_later())
        changed = await wait_for_change(read, seen=None, timeout=30, bell=bell)
        await ringer
        quiet = Doorbell()

        async def same() -> str:
            return "received"

        unchanged = await wait_for_change(same, seen=None, timeout=0.1, bell=quiet)
        return changed, unchanged

    changed, unchanged = asyncio.run(scenario())
    assert changed == "verified"
    assert reads == ["received", "received", "verified"]
    assert unchanged == "received"
