"""Enqueueing, claiming and settling jobs; every function runs in the caller's transaction.

State changes after ``enqueue`` are compare-and-set updates on (id, status,
attempts): a worker that lost its lease cannot settle a job someone else holds.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, cast

from sqlalchemy import CursorResult, Update, and_, delete, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tutela.clock import Clock
from tutela.errors import Conflict, InvalidInput, NotFound
from tutela.jobs.doorbell import ring_on_commit
from tutela.jobs.models import KEY_LENGTH, KIND_LENGTH, WORKER_LENGTH, Job, JobStatus

MAX_BACKOFF = dt.timedelta(hours=1)
ERROR_LENGTH = 2000
DUE_STATUSES = (JobStatus.QUEUED.value, JobStatus.FAILED.value)


def enqueue(
    session: Session,
    *,
    kind: str,
    payload: dict[str, Any],
    clock: Clock,
    idempotency_key: str | None = None,
    run_after: dt.datetime | None = None,
    max_attempts: int = 5,
) -> Job:
    """Add a job in the caller's transaction; a known idempotency key returns its job."""
    values = _row(kind, payload, idempotency_key, run_after, max_attempts, clock)
    ring_on_commit(session)
    if idempotency_key is None:
        job = Job(**values)
        session.add(job)
        session.flush()
        return job
    added = _insert_unless_key_exists(session, values)
    if added is not None:
        return added
    existing = _by_key(session, idempotency_key)
    if existing is None:  # pragma: no cover - the insert or a rival's row is visible
        raise Conflict(f"The job with idempotency key {idempotency_key!r} vanished; retry.")
    if existing.kind != kind:
        raise Conflict(
            f"The idempotency key {idempotency_key!r} already belongs to a job of kind "
            f"{existing.kind!r}; use a key that names the {kind!r} work."
        )
    return existing


def ensure_job(
    session: Session,
    *,
    kind: str,
    payload: dict[str, Any],
    clock: Clock,
    idempotency_key: str,
    run_after: dt.datetime | None = None,
    max_attempts: int = 5,
) -> bool:
    """Add the job unless one with ``idempotency_key`` exists; ``True`` if it was added.

    :func:`enqueue` without handing back the job: for work queued again and again
    under one key (a daily sweep), one statement instead of two once it exists.
    """
    values = _row(kind, payload, idempotency_key, run_after, max_attempts, clock)
    added = _insert_unless_key_exists(session, values) is not None
    if added:
        ring_on_commit(session)
    return added


def _row(
    kind: str,
    payload: dict[str, Any],
    key: str | None,
    run_after: dt.datetime | None,
    max_attempts: int,
    clock: Clock,
) -> dict[str, Any]:
    """The checked column values of a new job."""
    _check_request(kind=kind, key=key, run_after=run_after, attempts=max_attempts)
    try:
        text = json.dumps(payload, sort_keys=True, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(
            f"The payload of job {kind!r} cannot be stored as JSON ({exc}); pass ids and "
            "plain values, not objects."
        ) from exc
    now = clock.now()
    return {
        "kind": kind,
        "payload": text,
        "idempotency_key": key,
        "status": JobStatus.QUEUED.value,
        "attempts": 0,
        "max_attempts": max_attempts,
        "run_after": run_after or now,
        "created_at": now,
    }


def _check_request(
    *, kind: str, key: str | None, run_after: dt.datetime | None, attempts: int
) -> None:
    if not kind.strip() or len(kind) > KIND_LENGTH:
        raise InvalidInput(f"kind must be 1 to {KIND_LENGTH} characters, such as 'mail.send'.")
    if key is not None and (not key or len(key) > KEY_LENGTH):
        raise InvalidInput(
            f"idempotency_key must be 1 to {KEY_LENGTH} characters; derive it from the "
            "work, such as 'notice:7:subject:42'."
        )
    if run_after is not None and run_after.tzinfo is None:
        raise InvalidInput("run_after must be timezone-aware; take it from the clock.")
    if attempts < 1:
        raise InvalidInput("max_attempts must be at least 1.")


def _by_key(session: Session, key: str) -> Job | None:
    return session.scalars(select(Job).where(Job.idempotency_key == key)).one_or_none()


def _insert_unless_key_exists(session: Session, values: dict[str, Any]) -> Job | None:
    """Insert and return the job, or ``None`` when one with the same key exists or is being added.

    PostgreSQL and SQLite use ``ON CONFLICT DO NOTHING … RETURNING``, which waits for a
    rival insert and keeps the caller's transaction usable. Other databases fall
    back to a savepoint around a plain insert.
    """
    dialect = session.get_bind().dialect.name
    if dialect in ("postgresql", "sqlite"):
        module = postgresql if dialect == "postgresql" else sqlite
        statement = (
            module.insert(Job)
            .values(values)
            .on_conflict_do_nothing(index_elements=["idempotency_key"])
            .returning(Job)
        )
        return session.scalars(statement).one_or_none()
    try:
        with session.begin_nested():
            job = Job(**values)
            session.add(job)
            session.flush()
            return job
    except IntegrityError:
        return None


def claim(session: Session, *, worker_id: str, clock: Clock, lease: dt.timedelta) -> Job | None:
    """Take the oldest due job (or one whose lease expired) and mark it running.

    One ``UPDATE … WHERE id = (SELECT … LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING``:
    on PostgreSQL workers never wait for each other; SQLite ignores the lock clause
    and runs one writer at a time. When nothing is due, jobs whose last attempt's
    lease ran out are marked dead (:func:`bury_abandoned`).
    """
    if not worker_id or len(worker_id) > WORKER_LENGTH:
        raise InvalidInput(f"worker_id must be 1 to {WORKER_LENGTH} characters.")
    now = clock.now()
    due = or_(
        and_(Job.status.in_(DUE_STATUSES), Job.run_after <= now),
        and_(
            Job.status == JobStatus.RUNNING.value,
            Job.locked_until < now,
            Job.attempts < Job.max_attempts,
        ),
    )
    candidate = (
        select(Job.id)
        .where(due)
        .order_by(Job.run_after, Job.id)
        .limit(1)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    statement = (
        update(Job)
        .where(Job.id == candidate)
        .values(
            status=JobStatus.RUNNING.value,
            attempts=Job.attempts + 1,
            locked_by=worker_id,
            locked_until=now + lease,
        )
        .returning(Job)
        .execution_options(synchronize_session=False, populate_existing=True)
    )
    job = session.scalars(statement).one_or_none()
    if job is None:
        bury_abandoned(session, clock=clock)
    return job


def bury_abandoned(session: Session, *, clock: Clock) -> int:
    """Mark dead the running jobs whose last attempt's lease expired; return how many."""
    abandoned = (
        select(Job.id)
        .where(
            Job.status == JobStatus.RUNNING.value,
            Job.locked_until < clock.now(),
            Job.attempts >= Job.max_attempts,
        )
        .with_for_update(skip_locked=True)  # a handler still running holds its row: skip it
    )
    statement = (
        update(Job)
        .where(Job.id.in_(abandoned))
        .values(
            status=JobStatus.DEAD.value,
            finished_at=clock.now(),
            locked_by=None,
            locked_until=None,
            last_error="The worker running the last attempt stopped before it finished (its "
            "lease expired).",
        )
        .execution_options(synchronize_session=False)
    )
    return cast(CursorResult[Any], session.execute(statement)).rowcount


def _guarded(job_id: int, *, status: str, attempts: int) -> Update:
    return (
        update(Job)
        .where(Job.id == job_id, Job.status == status, Job.attempts == attempts)
        .execution_options(synchronize_session=False)
    )


def _apply(session: Session, statement: Update) -> bool:
    return cast(CursorResult[Any], session.execute(statement)).rowcount == 1


def _held(job_id: int, *, worker_id: str, attempt: int) -> Update:
    return _guarded(job_id, status=JobStatus.RUNNING.value, attempts=attempt).where(
        Job.locked_by == worker_id
    )


def lock_held(session: Session, *, job_id: int, worker_id: str, attempt: int) -> Job | None:
    """The job if ``worker_id`` still holds this attempt, locked for the transaction."""
    return session.scalars(
        select(Job)
        .where(
            Job.id == job_id,
            Job.status == JobStatus.RUNNING.value,
            Job.attempts == attempt,
            Job.locked_by == worker_id,
        )
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one_or_none()


def complete(session: Session, *, job_id: int, worker_id: str, attempt: int, clock: Clock) -> bool:
    """Mark the attempt done; ``False`` if the worker no longer holds the job."""
    statement = _held(job_id, worker_id=worker_id, attempt=attempt).values(
        status=JobStatus.DONE.value, finished_at=clock.now(), locked_by=None, locked_until=None
    )
    return _apply(session, statement)


def postpone(
    session: Session, *, job_id: int, worker_id: str, attempt: int, until: dt.datetime
) -> bool:
    """Put the job back, due at ``until``; the attempt does not count. ``False`` if not held."""
    if until.tzinfo is None:
        raise InvalidInput("until must be timezone-aware; take it from the clock.")
    statement = _held(job_id, worker_id=worker_id, attempt=attempt).values(
        status=JobStatus.QUEUED.value,
        attempts=attempt - 1,
        run_after=until,
        locked_by=None,
        locked_until=None,
    )
    return _apply(session, statement)


def backoff(attempt: int) -> dt.timedelta:
    """Wait before the next try: 2, 4, 8 … seconds after attempt 1, 2, 3 …, at most an hour."""
    return min(dt.timedelta(seconds=2 ** min(attempt, 30)), MAX_BACKOFF)


def fail(
    session: Session,
    *,
    job_id: int,
    worker_id: str,
    attempt: int,
    max_attempts: int,
    error: str,
    clock: Clock,
) -> JobStatus | None:
    """Record a failed attempt: retry later, or dead after the last attempt."""
    now = clock.now()
    held = _held(job_id, worker_id=worker_id, attempt=attempt)
    message = error[:ERROR_LENGTH]
    if attempt >= max_attempts:
        status = JobStatus.DEAD
        statement = held.values(status=status.value, finished_at=now, last_error=message)
    else:
        status = JobStatus.FAILED
        statement = held.values(status=status.value, run_after=now + backoff(attempt))
        statement = statement.values(last_error=message)
    statement = statement.values(locked_by=None, locked_until=None)
    return status if _apply(session, statement) else None


def get_job(session: Session, job_id: int) -> Job:
    job = session.get(Job, job_id)
    if job is None:
        raise NotFound(f"There is no job {job_id}; list the jobs to find its number.")
    return job


def requeue(session: Session, *, job_id: int, clock: Clock) -> Job:
    """Give a failed or dead job a fresh set of attempts, due now."""
    job = get_job(session, job_id)
    if job.status not in (JobStatus.FAILED.value, JobStatus.DEAD.value):
        raise Conflict(
            f"Job {job_id} is {job.status}; only failed or dead jobs can be queued again."
        )
    job.status = JobStatus.QUEUED.value
    job.attempts = 0
    job.run_after = clock.now()
    job.finished_at = None
    session.flush()
    return job


def purge_finished(session: Session, *, before: dt.datetime) -> int:
    """Delete jobs that finished successfully before ``before``; return how many."""
    result = session.execute(
        delete(Job)
        .where(Job.status == JobStatus.DONE.value, Job.finished_at < before)
        .execution_options(synchronize_session=False)
    )
    return cast(CursorResult[Any], result).rowcount
