"""The worker: claim a job, run its handler, settle it; in a loop or a thread.

``run_one`` uses three short transactions: the claim commits first (so other
workers see the job taken); the handler runs in a second transaction that also
marks the job done, so its writes and the "done" mark commit together; a
failure is recorded in a third, after the handler's work was rolled back.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from tutela.clock import Clock
from tutela.jobs.doorbell import BELL, listen_if_possible
from tutela.jobs.queue import claim, complete, fail, lock_held, postpone
from tutela.jobs.registry import JobContext, JobRegistry, Postpone
from tutela.storage.engine import transaction

log = logging.getLogger(__name__)

DEFAULT_LEASE = dt.timedelta(minutes=5)


class LeaseLost(Exception):
    """Another worker took the job over; this run's work is rolled back."""


@dataclass(frozen=True)
class _Claimed:
    job_id: int
    kind: str
    payload: dict[str, Any]
    attempt: int
    max_attempts: int


def default_worker_id() -> str:
    """``host:pid:random`` — unique per worker, readable in the job table."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def run_one(
    session_factory: sessionmaker[Session],
    *,
    registry: JobRegistry,
    worker_id: str,
    clock: Clock,
    lease: dt.timedelta = DEFAULT_LEASE,
) -> bool:
    """Run at most one due job; ``True`` if a job was claimed (whatever its outcome)."""
    with transaction(session_factory) as session:
        job = claim(session, worker_id=worker_id, clock=clock, lease=lease)
        if job is None:
            return False
        claimed = _Claimed(job.id, job.kind, job.data, job.attempts, job.max_attempts)
    context = JobContext(
        job_id=claimed.job_id,
        kind=claimed.kind,
        attempt=claimed.attempt,
        max_attempts=claimed.max_attempts,
        worker_id=worker_id,
        clock=clock,
    )
    try:
        with transaction(session_factory) as session:
            _run_handler(session, claimed, registry=registry, context=context)
    except LeaseLost:
        log.warning("job %s: lease lost to another worker; work rolled back", claimed.job_id)
        return True
    except Postpone as later:
        log.info("job %s: postponed to %s: %s", claimed.job_id, later.until, later.why)
        with transaction(session_factory) as session:
            held = postpone(
                session,
                job_id=claimed.job_id,
                worker_id=worker_id,
                attempt=claimed.attempt,
                until=later.until,
            )
            if held and later.then is not None:
                later.then(session)
        return True
    except Exception as exc:
        log.exception("job %s attempt %s failed", claimed.job_id, claimed.attempt)
        _record_failure(session_factory, claimed, worker_id=worker_id, clock=clock, exc=exc)
    return True


def _run_handler(
    session: Session, claimed: _Claimed, *, registry: JobRegistry, context: JobContext
) -> None:
    held = lock_held(
        session, job_id=claimed.job_id, worker_id=context.worker_id, attempt=claimed.attempt
    )
    if held is None:
        raise LeaseLost
    handler = registry.get(claimed.kind)
    handler(session, claimed.payload, context)
    done = complete(
        session,
        job_id=claimed.job_id,
        worker_id=context.worker_id,
        attempt=claimed.attempt,
        clock=context.clock,
    )
    if not done:
        raise LeaseLost


def _record_failure(
    session_factory: sessionmaker[Session],
    claimed: _Claimed,
    *,
    worker_id: str,
    clock: Clock,
    exc: Exception,
) -> None:
    error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    with transaction(session_factory) as session:
        status = fail(
            session,
            job_id=claimed.job_id,
            worker_id=worker_id,
            attempt=claimed.attempt,
            max_attempts=claimed.max_attempts,
            error=f"attempt {claimed.attempt}: {error}",
            clock=clock,
        )
    if status is None:
        log.warning("job %s: lease lost before the failure was recorded", claimed.job_id)


class Worker:
    """Runs jobs from one database until idle or until told to stop."""

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        *,
        clock: Clock,
        registry: JobRegistry,
        worker_id: str | None = None,
        lease: dt.timedelta = DEFAULT_LEASE,
    ) -> None:
        self.session_factory = session_factory
        self.clock = clock
        self.registry = registry
        self.worker_id = worker_id or default_worker_id()
        self.lease = lease

    def run_one(self) -> bool:
        return run_one(
            self.session_factory,
            registry=self.registry,
            worker_id=self.worker_id,
            clock=self.clock,
            lease=self.lease,
        )

    def run_until_idle(self, *, max_jobs: int | None = None) -> int:
        """Run due jobs until none is left (or ``max_jobs`` ran); return how many ran."""
        count = 0
        while (max_jobs is None or count < max_jobs) and self.run_one():
            count += 1
        return count

    def run_forever(self, stop: threading.Event, poll_interval: float = 1.0) -> None:
        """Run jobs until ``stop`` is set; idle, wait for the doorbell or ``poll_interval``.

        A job committed in this process (or, on PostgreSQL, in any process) wakes
        the worker at once; the poll catches jobs that become due later. A
        database outage is logged and waited out instead of ending the loop.
        """
        bind = self.session_factory.kw.get("bind")
        if isinstance(bind, Engine):
            listen_if_possible(bind, stop)
        while not stop.is_set():
            mark = BELL.mark()
            try:
                busy = self.run_one()
            except Exception:
                log.exception("worker %s: could not run jobs; retrying", self.worker_id)
                stop.wait(poll_interval)
                continue
            if not busy:
                BELL.wait(mark, poll_interval)

    def start_in_thread(
        self, stop: threading.Event, poll_interval: float = 1.0
    ) -> threading.Thread:
        """Run :meth:`run_forever` in a daemon thread until ``stop`` is set."""
        thread = threading.Thread(
            target=self.run_forever,
            args=(stop, poll_interval),
            name=f"tutela-worker-{self.worker_id}",
            daemon=True,
        )
        thread.start()
        return thread


@dataclass(frozen=True)
class WorkerThread:
    """A worker running in a daemon thread; :meth:`stop` ends it."""

    worker: Worker
    thread: threading.Thread
    stop_event: threading.Event

    def stop(self, timeout: float | None = 10.0) -> None:
        self.stop_event.set()
        BELL.ring()
        self.thread.join(timeout)


def start_in_thread(
    session_factory: sessionmaker[Session],
    *,
    clock: Clock,
    registry: JobRegistry,
    poll_interval: float = 1.0,
    worker_id: str | None = None,
    lease: dt.timedelta = DEFAULT_LEASE,
) -> WorkerThread:
    """Start the in-process worker (used by ``tutela serve``)."""
    worker = Worker(
        session_factory, clock=clock, registry=registry, worker_id=worker_id, lease=lease
    )
    stop = threading.Event()
    thread = worker.start_in_thread(stop, poll_interval)
    return WorkerThread(worker=worker, thread=thread, stop_event=stop)
