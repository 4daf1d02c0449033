"""Waking idle workers as soon as a job is committed, not at their next poll.

Within one process, committing a transaction that enqueued a job rings the
process's :data:`BELL`; every idle worker thread of the process waits on it. On
PostgreSQL the same transaction also sends ``NOTIFY tutela_jobs`` (delivered at
commit, dropped on rollback), and each worker process keeps one connection
listening on that channel and rings its own bell — so workers in other
processes wake as well. Polling stays as the fallback for what neither covers
(jobs whose ``run_after`` lies ahead, a lost listener connection).

The same parts serve other bells: :func:`arm_on_commit` rings any
:class:`Doorbell` (and notifies any channel) when a transaction commits, and a
:class:`Listener` can listen on several channels. Waiters may be threads
(:meth:`Doorbell.wait`) or coroutines (:meth:`Doorbell.wait_async`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Mapping
from typing import Any, Final

from sqlalchemy import Engine, event, text
from sqlalchemy.orm import Session, SessionTransaction

log = logging.getLogger(__name__)

CHANNEL: Final = "tutela_jobs"
_ARMED: Final = "tutela.jobs.doorbell"
_LISTENING: Final = "tutela.jobs.doorbell.listening"
_RECONNECT_SECONDS: Final = 2.0


class Doorbell:
    """A counter of rings that idle workers wait on.

    A worker reads :meth:`mark` *before* it looks for work and, finding none,
    waits with that mark: a ring between the look and the wait is not missed.
    """

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._rings = 0
        self._futures: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = []

    def ring(self) -> None:
        with self._condition:
            self._rings += 1
            self._condition.notify_all()
            futures, self._futures = self._futures, []
        for loop, future in futures:
            with contextlib.suppress(RuntimeError):  # the loop has closed meanwhile
                loop.call_soon_threadsafe(_settle, future)

    def mark(self) -> int:
        with self._condition:
            return self._rings

    def wait(self, mark: int, timeout: float) -> bool:
        """Wait until a ring after ``mark`` or ``timeout`` seconds; ``True`` if it rang."""
        with self._condition:
            return self._condition.wait_for(lambda: self._rings != mark, timeout)

    async def wait_async(self, mark: int, timeout: float) -> bool:
        """:meth:`wait` for a coroutine: the event loop goes on serving meanwhile."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        entry = (loop, future)
        with self._condition:
            if self._rings != mark:
                return True
            self._futures.append(entry)
        try:
            await asyncio.wait_for(future, timeout)
        except TimeoutError:
            with self._condition, contextlib.suppress(ValueError):
                self._futures.remove(entry)
            return False
        return True


def _settle(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


BELL: Final = Doorbell()
"""The bell of this process: rung on commit of every transaction that enqueued a job."""


def ring_on_commit(session: Session) -> None:
    """Ring :data:`BELL` (and, on PostgreSQL, notify other processes) when ``session`` commits.

    Called by ``enqueue``; arming a session twice in one transaction does nothing
    more. Releasing a savepoint is not the commit: the bell rings only when the
    outermost transaction commits. A rollback of the outermost transaction
    disarms the session (and PostgreSQL drops the notification with it).
    """
    arm_on_commit(session, bell=BELL, channel=CHANNEL)
    _notify_armed(session)


def arm_on_commit(session: Session, *, bell: Doorbell, channel: str) -> None:
    """Ring ``bell`` when ``session``'s outermost transaction commits, and on PostgreSQL
    send ``NOTIFY channel`` with it (sent just before the commit, so arming never runs
    SQL itself: it is safe inside attribute events and flushes)."""
    armed: dict[str, tuple[Doorbell, bool]] = session.info.setdefault(_ARMED, {})
    if channel in armed:
        return
    armed[channel] = (bell, False)
    if not session.info.get(_LISTENING):
        session.info[_LISTENING] = True
        event.listen(session, "before_commit", _notify_armed)
        event.listen(session, "after_commit", _committed)
        event.listen(session, "after_soft_rollback", _rolled_back)


def _notify_armed(session: Session) -> None:
    armed: dict[str, tuple[Doorbell, bool]] = session.info.get(_ARMED, {})
    waiting = [channel for channel, (_bell, sent) in armed.items() if not sent]
    if not waiting:
        return
    if session.get_bind().dialect.name == "postgresql":
        for channel in waiting:
            session.execute(text("SELECT pg_notify(:channel, '')"), {"channel": channel})
    for channel in waiting:
        armed[channel] = (armed[channel][0], True)


def _committed(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint was released; the work is not visible yet
    armed: dict[str, tuple[Doorbell, bool]] = session.info.pop(_ARMED, {})
    for bell, _sent in armed.values():
        bell.ring()


def _rolled_back(session: Session, previous: SessionTransaction) -> None:
    if previous.parent is None and not previous.nested:
        session.info.pop(_ARMED, None)


class Listener:
    """Rings a bell on every ``NOTIFY`` of its channel from other processes (PostgreSQL).

    By default :data:`BELL` on ``tutela_jobs``. One dedicated autocommit
    connection, outside the pool; reconnects after a failure, and ends when
    ``stop`` is set.
    """

    def __init__(
        self,
        engine: Engine,
        stop: threading.Event,
        *,
        bell: Doorbell = BELL,
        channels: Mapping[str, Doorbell] | None = None,
    ) -> None:
        self.engine, self.stop, self.bell = engine, stop, bell
        self.channels = dict(channels) if channels is not None else {CHANNEL: bell}

    def _connect(self) -> Any:
        """A connection made the way the engine makes them (URL, connect_args, creator),
        taken out of the pool for good and switched to autocommit."""
        raw = self.engine.raw_connection()
        conn = raw.driver_connection
        raw.detach()
        if conn is None:  # pragma: no cover - a pooled connection always has its driver's
            raise RuntimeError("the engine gave a connection without a driver connection")
        conn.rollback()
        conn.autocommit = True
        return conn

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                with contextlib.closing(self._connect()) as conn:
                    for channel in self.channels:
                        conn.execute(f"LISTEN {channel}")
                    for bell in self.channels.values():
                        bell.ring()  # news may have come while no one listened
                    while not self.stop.is_set():
                        for notice in conn.notifies(timeout=1.0):
                            found = self.channels.get(notice.channel)
                            if found is not None:
                                found.ring()
            except Exception:  # an outage must not end the worker
                log.warning("listener: connection lost; reconnecting", exc_info=True)
                self.stop.wait(_RECONNECT_SECONDS)

    def start(self) -> threading.Thread:
        name = "tutela-listener-" + "-".join(sorted(self.channels))
        thread = threading.Thread(target=self.run, name=name, daemon=True)
        thread.start()
        return thread


def listen_if_possible(engine: Engine, stop: threading.Event) -> threading.Thread | None:
    """Start a :class:`Listener` on PostgreSQL; other databases rely on the local bell."""
    if engine.dialect.name != "postgresql":
        return None
    return Listener(engine, stop).start()
