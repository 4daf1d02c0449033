"""Scheduled sweeps; importing this module registers the handlers on :data:`tutela.jobs.registry`.

* ``retention.daily`` — once a day at 03:00 German time (one job per day, by
  idempotency key): open a run (or resume an unfinished one), queue its first
  step unless a step of that run is already queued or running (one chain of steps
  per run), and queue tomorrow's daily job. A run refuses rules that would erase every
  row of a table, or almost every row: only a person can confirm those (``tutela retention sweep
  --confirm-everything``). A mapping or declaration problem is recorded as a run
  that ended with an error, so the console shows it.
* ``retention.step`` — one step of a run (see :mod:`tutela.retention.sweep`); its
  checkpoint, its audit entries and the next step's job commit together with the
  job's own "done", after the store's chunk committed.

The handlers use the master key and settings given to the request jobs
(:func:`tutela.dsr.jobs.install_runtime`).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from tutela.audit import emit
from tutela.clock import Clock
from tutela.dsr.jobs import installed_runtime
from tutela.dsr.notices import DsrRuntime
from tutela.errors import ConfigurationError, Conflict, InvalidInput
from tutela.jobs import Job, JobContext, JobStatus, enqueue, registry, schedule
from tutela.retention.context import SweepContext
from tutela.retention.events import SweepFinished
from tutela.retention.mapping import load_mapping
from tutela.retention.models import RunStatus, SweepRun, Trigger
from tutela.retention.stores import sweep_stores
from tutela.retention.sweep import DEFAULT_CHUNK, open_run, sweep_step

__all__ = [
    "DAILY_JOB",
    "STEP_JOB",
    "SYSTEM_ACTOR",
    "chain_pending",
    "ensure_daily_sweep",
    "next_daily_at",
    "run_daily",
    "run_step",
]

DAILY_JOB: Final = "retention.daily"
STEP_JOB: Final = "retention.step"
SYSTEM_ACTOR: Final = "system:retention"
DAILY_HOUR: Final = 3
ATTEMPTS: Final = 10


def next_daily_at(now: dt.datetime) -> dt.datetime:
    """The next 03:00 German time after ``now`` (UTC)."""
    return schedule.next_daily_at(now, hour=DAILY_HOUR)


def ensure_daily_sweep(session: Session, *, clock: Clock) -> bool:
    """Queue the next daily sweep unless it is queued; ``True`` if this call queued it."""
    return schedule.ensure_daily(
        session, kind=DAILY_JOB, hour=DAILY_HOUR, clock=clock, max_attempts=ATTEMPTS
    )


def _context(runtime: DsrRuntime) -> SweepContext:
    return SweepContext(
        stores=sweep_stores(runtime.settings, master=runtime.master),
        mapping=load_mapping(runtime.settings),
        master=runtime.master,
    )


_PENDING = (JobStatus.QUEUED.value, JobStatus.RUNNING.value, JobStatus.FAILED.value)
"""A step job in these states will still run (failed: its retry is due later)."""


def chain_pending(session: Session, run_id: int) -> bool:
    """A step of the run is queued, running or waiting for its retry."""
    query = select(Job.payload).where(Job.kind == STEP_JOB, Job.status.in_(_PENDING))
    return any(json.loads(payload).get("run_id") == run_id for payload in session.scalars(query))


def _queue_step(session: Session, run_id: int, clock: Clock) -> None:
    enqueue(session, kind=STEP_JOB, payload={"run_id": run_id}, clock=clock, max_attempts=ATTEMPTS)


def _record_failure(session: Session, detail: str, clock: Clock) -> None:
    now = clock.now()
    run = SweepRun(
        trigger=Trigger.SCHEDULE.value,
        actor=SYSTEM_ACTOR,
        status=RunStatus.ERRORS.value,
        as_of=now,
        policy_version=0,
        chunk_size=DEFAULT_CHUNK,
        confirmed=json.dumps([]),
        started_at=now,
        finished_at=now,
        error=detail,
    )
    session.add(run)
    session.flush()
    event = SweepFinished(
        run_id=run.id, status=run.status, rules=0, rows_done=0, failed=0, refused=0
    )
    emit(session, event, actor=SYSTEM_ACTOR, clock=clock)


def run_daily(session: Session, *, runtime: DsrRuntime, clock: Clock) -> int | None:
    """Open or resume today's run and queue its first step; the run id (None on a problem).

    A run whose steps are already queued (yesterday's run still going) gets no second
    chain; a run another process opened at this moment is left to it.
    """
    run_id: int | None = None
    try:
        context = _context(runtime)
    except ConfigurationError as error:
        _record_failure(session, error.detail, clock)
    else:
        try:
            run, resumed = open_run(
                session, context=context, trigger=Trigger.SCHEDULE, actor=SYSTEM_ACTOR, clock=clock
            )
            run_id = run.id
            if not (resumed and chain_pending(session, run.id)):
                _queue_step(session, run.id, clock)
        except Conflict:  # another process opened the run just now and steps it
            pass
        except ConfigurationError as error:
            _record_failure(session, error.detail, clock)
        finally:
            context.close()
    ensure_daily_sweep(session, clock=clock)
    return run_id


def run_step(session: Session, *, run_id: int, runtime: DsrRuntime, clock: Clock) -> bool:
    """One step of the run; queue the next while work remains. ``True`` if one was queued."""
    context = _context(runtime)
    try:
        outcome = sweep_step(session, run_id=run_id, context=context, clock=clock)
    finally:
        context.close()
    if outcome is None:
        return False
    _queue_step(session, run_id, clock)
    return True


@registry.handler(DAILY_JOB)
def daily_job(session: Session, payload: dict[str, Any], ctx: JobContext) -> None:
    run_daily(session, runtime=installed_runtime(), clock=ctx.clock)


@registry.handler(STEP_JOB)
def step_job(session: Session, payload: dict[str, Any], ctx: JobContext) -> None:
    try:
        run_id = int(payload["run_id"])
    except (KeyError, TypeError, ValueError):
        raise InvalidInput(
            f"The {STEP_JOB} job needs a run_id; queue it with tutela.retention.jobs."
        ) from None
    run_step(session, run_id=run_id, runtime=installed_runtime(), clock=ctx.clock)
