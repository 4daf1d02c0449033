"""Waking idle workers as soon as a job is committed, not at their next poll.

Within one process, committing a transaction that enqueued a job rings the
process's :data:`BELL`; every idle worker thread of the process waits on it. On
PostgreSQL the same transaction also sends ``NOTIFY tutela_jobs`` (delivered at
commit, dropped on rollback), and each worker process keeps one connection
listening on that channel and rings its own bell — so workers in other
processes wake as well. Polling stays as the fallback for what neither covers
(jobs whose ``run_after`` lies ahead, a lost listener connection).
"""

from __future__ import annotations

import contextlib
import logging
import threading
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

    def ring(self) -> None:
        with self._condition:
            self._rings += 1
            self._condition.notify_all()

    def mark(self) -> int:
        with self._condition:
            return self._rings

    def wait(self, mark: int, timeout: float) -> bool:
        """Wait until a ring after ``mark`` or ``timeout`` seconds; ``True`` if it rang."""
        with self._condition:
            return self._condition.wait_for(lambda: self._rings != mark, timeout)


BELL: Final = Doorbell()
"""The bell of this process: rung on commit of every transaction that enqueued a job."""


def ring_on_commit(session: Session) -> None:
    """Ring :data:`BELL` (and, on PostgreSQL, notify other processes) when ``session`` commits.

    Called by ``enqueue``; arming a session twice in one transaction does nothing
    more. Releasing a savepoint is not the commit: the bell rings only when the
    outermost transaction commits. A rollback of the outermost transaction
    disarms the session (and PostgreSQL drops the notification with it).
    """
    if session.info.get(_ARMED):
        return
    session.info[_ARMED] = True
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_notify(:channel, '')"), {"channel": CHANNEL})
    if not session.info.get(_LISTENING):
        session.info[_LISTENING] = True
        event.listen(session, "after_commit", _committed)
        event.listen(session, "after_soft_rollback", _rolled_back)


def _committed(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint was released; the work is not visible yet
    if session.info.pop(_ARMED, None):
        BELL.ring()


def _rolled_back(session: Session, previous: SessionTransaction) -> None:
    if previous.parent is None and not previous.nested:
        session.info.pop(_ARMED, None)


class Listener:
    """Rings :data:`BELL` on every ``NOTIFY tutela_jobs`` from other processes (PostgreSQL).

    One dedicated autocommit connection, outside the pool; reconnects after a
    failure, and ends when ``stop`` is set.
    """

    def __init__(self, engine: Engine, stop: threading.Event, *, bell: Doorbell = BELL) -> None:
        self.engine, self.stop, self.bell = engine, stop, bell

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
                    conn.execute(f"LISTEN {CHANNEL}")
                    self.bell.ring()  # jobs may have come while no one listened
                    while not self.stop.is_set():
                        for _notice in conn.notifies(timeout=1.0):
                            self.bell.ring()
            except Exception:  # an outage must not end the worker
                log.warning("job listener: connection lost; reconnecting", exc_info=True)
                self.stop.wait(_RECONNECT_SECONDS)

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self.run, name="tutela-job-listener", daemon=True)
        thread.start()
        return thread


def listen_if_possible(engine: Engine, stop: threading.Event) -> threading.Thread | None:
    """Start a :class:`Listener` on PostgreSQL; other databases rely on the local bell."""
    if engine.dialect.name != "postgresql":
        return None
    return Listener(engine, stop).start()
