"""The jobs a request enqueues, in the caller's transaction (handlers: :mod:`tutela.dsr.jobs`).

* ``dsr.intake`` — after a request is stored: look the person up and mail the
  channel on file (a one-time link, or the notice that no data is held).
* ``dsr.notice`` — one notice about a request (code, change alert, extension,
  denial, unverified) to the channel on file.
* ``dsr.sweep`` — once a day at 06:00 German time: close requests whose identity
  was not confirmed by the deadline and mail the DPO the near-due and overdue ones.

Payloads hold request ids and notice names only.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Final

from sqlalchemy.orm import Session

from tutela.clock import Clock
from tutela.jobs import enqueue, schedule

__all__ = [
    "INTAKE_JOB",
    "NOTICE_JOB",
    "SWEEP_JOB",
    "Notice",
    "enqueue_intake",
    "enqueue_notice",
    "ensure_sweep",
    "next_sweep_at",
]

INTAKE_JOB: Final = "dsr.intake"
NOTICE_JOB: Final = "dsr.notice"
SWEEP_JOB: Final = "dsr.sweep"
SWEEP_HOUR: Final = 6
ATTEMPTS: Final = 20


class Notice(StrEnum):
    """The mails about a request; each has a template ``dsr_<name>``."""

    VERIFY = "verify"
    CODE = "code"
    NO_DATA = "no_data"
    CHANGE_ALERT = "change_alert"
    EXTENDED = "extended"
    DENIED = "denied"
    UNVERIFIED = "unverified"
    DONE = "done"
    """The answer to a carried-out request (sent by the fulfilment job itself)."""
    RESTRICTION_LIFTED = "restriction_lifted"


def enqueue_intake(session: Session, *, request_id: int, clock: Clock) -> None:
    enqueue(
        session,
        kind=INTAKE_JOB,
        payload={"request_id": request_id},
        clock=clock,
        max_attempts=ATTEMPTS,
    )


def enqueue_notice(session: Session, *, request_id: int, notice: Notice, clock: Clock) -> None:
    enqueue(
        session,
        kind=NOTICE_JOB,
        payload={"request_id": request_id, "notice": notice.value},
        clock=clock,
        max_attempts=ATTEMPTS,
    )


def next_sweep_at(now: dt.datetime) -> dt.datetime:
    """The next 06:00 German time after ``now`` (UTC)."""
    return schedule.next_daily_at(now, hour=SWEEP_HOUR)


def ensure_sweep(session: Session, *, clock: Clock) -> None:
    """Make sure the next daily sweep is queued (one job per day, by idempotency key)."""
    schedule.ensure_daily(
        session, kind=SWEEP_JOB, hour=SWEEP_HOUR, clock=clock, max_attempts=ATTEMPTS
    )
