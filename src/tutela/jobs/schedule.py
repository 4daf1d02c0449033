"""Daily jobs: one run a day at a fixed hour of German time, queued once per day."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from tutela.calendar import GERMAN_TIME
from tutela.clock import Clock
from tutela.jobs.queue import ensure_job

__all__ = ["ensure_daily", "next_daily_at"]


def next_daily_at(now: dt.datetime, *, hour: int) -> dt.datetime:
    """The next ``hour``:00 German time after ``now``, in UTC."""
    local = now.astimezone(GERMAN_TIME)
    run = local.replace(hour=hour, minute=0, second=0, microsecond=0)
    if run <= local:
        run = (local + dt.timedelta(days=1)).replace(hour=hour, minute=0, second=0, microsecond=0)
    return run.astimezone(dt.UTC)


def ensure_daily(
    session: Session, *, kind: str, hour: int, clock: Clock, max_attempts: int
) -> bool:
    """Queue the next daily ``kind`` job unless that day's is queued (the day is its
    idempotency key and payload); ``True`` if this call queued it."""
    run_at = next_daily_at(clock.now(), hour=hour)
    day = run_at.astimezone(GERMAN_TIME).date().isoformat()
    return ensure_job(
        session,
        kind=kind,
        payload={"day": day},
        clock=clock,
        idempotency_key=f"{kind}:{day}",
        run_after=run_at,
        max_attempts=max_attempts,
    )
