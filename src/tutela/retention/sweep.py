"""Sweep runs: open one, advance it one step at a time, finish it; every step is audited.

A run fixes ``as_of`` (the moment its cutoffs are computed from) and the
declaration version its rules come from, so a run that is interrupted and
resumed — hours later, in another process — ends in the same state as one that
was not. A *step* is the unit of work and of commit:

1. starting a rule: check that text date columns hold ISO dates, count what it
   would erase and what holds keep (no writes); a rule that would erase every row
   of its table, or at least 90 % and more than 1,000 rows of it, is refused unless
   its ``store.table`` is confirmed;
2. one chunk (:func:`~tutela.retention.chunk.run_chunk`): the store's transaction
   commits first, then the checkpoint (last key, rows done) in the caller's
   transaction in Tutela's database;
3. ending a rule: statutory-held rows are marked restricted, the rows still
   matching are counted (``after``) and the counts go to the audit trail.

The caller owns the transaction of each step (:func:`run_sweep` commits one per
step; the job :mod:`tutela.retention.jobs` runs one step per job). The run row is
locked for the step, so two processes on one run take turns, and each rule has one
checkpoint per run (a unique constraint).

At most one run is ``running`` (a partial unique index): :func:`open_run` resumes
it, and a start that races another start is refused (Conflict) with the number of
the run that won. Resuming retries the rules that failed (a store that could not
be reached) and re-runs the refused ones whose table is now confirmed.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tutela.audit import emit
from tutela.calendar import german_date
from tutela.clock import Clock
from tutela.connectors.builtin.sql_errors import described
from tutela.errors import Conflict, InvalidInput, TutelaError
from tutela.retention.chunk import dump_key, load_key, run_chunk
from tutela.retention.conditions import check_text_dates
from tutela.retention.context import SweepContext, declaration_in_effect
from tutela.retention.events import RuleSwept, SweepFinished, SweepStarted
from tutela.retention.models import RunStatus, StepStatus, SweepRun, SweepStep, Trigger
from tutela.retention.plan import count_rule, count_target
from tutela.retention.restriction import restrict_held
from tutela.retention.rules import Rule
from tutela.storage import transaction
from tutela.storage.engine import READ_ONLY

__all__ = [
    "DEFAULT_CHUNK",
    "StepOutcome",
    "busy_message",
    "open_run",
    "run_sweep",
    "sweep_step",
]

DEFAULT_CHUNK = 100_000
MAX_CHUNK = 1_000_000
_ENDED = (StepStatus.DONE, StepStatus.REFUSED, StepStatus.SKIPPED, StepStatus.FAILED)


@dataclass(frozen=True, slots=True)
class StepOutcome:
    """What one step did: ``started``, ``chunk`` or ``ended`` a rule (``rows`` in it)."""

    run_id: int
    rule: str
    event: str
    rows: int
    before: int
    status: str


def _check_chunk(size: int) -> int:
    if not 1 <= size <= MAX_CHUNK:
        raise InvalidInput(
            f"chunk_size: {size} rows is out of range; use 1 to {MAX_CHUNK} "
            f"(default {DEFAULT_CHUNK}).",
            field="chunk_size",
        )
    return size


def _running(session: Session, *, lock: bool) -> SweepRun | None:
    query = (
        select(SweepRun)
        .where(SweepRun.status == RunStatus.RUNNING.value)
        .order_by(SweepRun.id)
        .limit(1)
    )
    return session.scalars(query.with_for_update() if lock else query).first()


def busy_message(run: SweepRun) -> str:
    """What a second start is told while ``run`` is running."""
    return (
        f"A sweep is running (number {run.id}, started {run.started_at:%Y-%m-%d %H:%M} UTC "
        f"by {run.actor}). Wait for it to end (`tutela retention runs` shows it); if its "
        "process has stopped, start the sweep again: it resumes that sweep where it stopped."
    )


def _retry(session: Session, run: SweepRun, confirmed: set[str]) -> None:
    """Make a resumed run redo failed rules and refused rules whose table is now confirmed.

    A rule that failed after chunks committed goes on from its checkpoint; one that
    failed or was refused before any chunk starts again (its counts are taken anew).
    """
    steps = session.scalars(select(SweepStep).where(SweepStep.run_id == run.id))
    for step in steps:
        failed = step.status == StepStatus.FAILED.value
        confirmed_now = (
            step.status == StepStatus.REFUSED.value
            and f"{step.store}.{step.table_name}" in confirmed
        )
        if not (failed or confirmed_now):
            continue
        if failed and step.chunks:
            step.status, step.note, step.after = StepStatus.RUNNING.value, None, None
        else:
            session.delete(step)
    session.flush()


def open_run(
    session: Session,
    *,
    context: SweepContext,
    trigger: Trigger,
    actor: str,
    clock: Clock,
    chunk_size: int = DEFAULT_CHUNK,
    confirmed: Sequence[str] = (),
) -> tuple[SweepRun, bool]:
    """The unfinished run to resume (``True``), else a new one as of now (``False``).

    Confirmations given to a resumed run are added to its own; its failed rules,
    and refused rules whose table is now confirmed, run again. Conflict when another
    process opened a run at the same moment (at most one runs).
    """
    _check_chunk(chunk_size)
    unfinished = _running(session, lock=True)
    if unfinished is not None:
        known = set(json.loads(unfinished.confirmed)) | set(confirmed)
        unfinished.confirmed = json.dumps(sorted(known))
        _retry(session, unfinished, known)
        return unfinished, True
    now = clock.now()
    version, _declaration = declaration_in_effect(session, on=german_date(now))
    rules = context.rules(session, version=version)
    run = SweepRun(
        trigger=trigger.value,
        actor=actor,
        status=RunStatus.RUNNING.value,
        as_of=now,
        policy_version=version,
        chunk_size=chunk_size,
        confirmed=json.dumps(sorted(set(confirmed))),
        started_at=now,
    )
    try:
        with session.begin_nested():
            session.add(run)
            session.flush()
    except sa.exc.IntegrityError:  # another start won the race for the one running run
        other = _running(session, lock=False)
        if other is None:  # pragma: no cover - the winner's run is visible or finished
            raise Conflict("Another sweep started at this moment; start the sweep again.") from None
        raise Conflict(busy_message(other), run_id=other.id) from None
    started = SweepStarted(
        run_id=run.id,
        trigger=run.trigger,
        as_of=now,
        policy_version=version,
        rules=len(rules),
        chunk_size=chunk_size,
    )
    emit(session, started, actor=actor, clock=clock)
    return run, False


def _ended(session: Session, run: SweepRun, step: SweepStep, clock: Clock) -> None:
    event = RuleSwept(
        run_id=run.id,
        rule=step.rule,
        store=step.store,
        table=step.table_name,
        status=step.status,
        before=step.before,
        rows_done=step.rows_done,
        after=step.after,
        held_statutory=step.held_statutory,
        held_until=step.held_until,
        held_legal=step.held_legal,
        referenced=step.referenced,
        restricted=step.restricted,
    )
    emit(session, event, actor=run.actor, clock=clock)


def _outcome(run: SweepRun, step: SweepStep, event: str, rows: int = 0) -> StepOutcome:
    return StepOutcome(run.id, step.rule, event, rows, step.before, step.status)


def _start_rule(
    session: Session,
    run: SweepRun,
    rule: Rule,
    position: int,
    context: SweepContext,
    clock: Clock,
) -> StepOutcome:
    step = SweepStep(
        run_id=run.id,
        position=position,
        rule=rule.id,
        store=rule.store,
        table_name=rule.table,
        action=rule.action_text(),
        status=StepStatus.RUNNING.value,
        total=0,
        before=0,
        held_statutory=0,
        held_legal=0,
        referenced=0,
        undated=0,
        rows_done=0,
        chunks=0,
        restricted=0,
        updated_at=clock.now(),
    )
    session.add(step)
    if not rule.sweeps:
        step.status, step.note = StepStatus.SKIPPED.value, rule.note
    else:
        try:
            sql = context.sql(session, rule, as_of=run.as_of, day=german_date(clock.now()))
            with context.bound(rule.store).engine.connect() as conn:
                conn.execution_options(**{READ_ONLY: True})
                check_text_dates(conn, sql)
                counts = count_rule(conn, sql)
        except TutelaError as error:  # a store down, a mapping that does not fit, a hold …
            step.status, step.note = StepStatus.FAILED.value, error.detail
        except sa.exc.SQLAlchemyError as error:
            step.status = StepStatus.FAILED.value
            step.note = f"counting the rows failed: {described(error)}"
        else:
            step.total, step.before = counts.total, counts.would_go
            step.held_statutory, step.held_until = counts.held_statutory, counts.held_until
            step.held_legal, step.referenced = counts.held_legal, counts.referenced
            step.undated = counts.undated
            notes = list(sql.notes)
            if sql.unhandled:
                names = ", ".join(f.column for f in sql.unhandled)
                notes.append(f"no erasure strategy fits {names}; these fields stay")
            if sql.changes_nothing:
                step.status = StepStatus.SKIPPED.value
                notes.append("no field of this rule has an erasure strategy that changes it")
            elif counts.needs_confirmation and rule.key not in json.loads(run.confirmed):
                step.status = StepStatus.REFUSED.value
                notes.append(counts.refusal(rule.key))
            step.note = "; ".join(notes) or None
    session.flush()
    if step.status != StepStatus.RUNNING.value:
        _ended(session, run, step, clock)
        return _outcome(run, step, "ended")
    return _outcome(run, step, "started")


def _fail(step: SweepStep, text: str) -> None:
    step.status = StepStatus.FAILED.value
    step.note = text if not step.note else f"{step.note}; {text}"


def _advance(
    session: Session,
    run: SweepRun,
    rule: Rule,
    step: SweepStep,
    context: SweepContext,
    clock: Clock,
) -> StepOutcome:
    step.updated_at = clock.now()
    try:
        sql = context.sql(session, rule, as_of=run.as_of, day=german_date(clock.now()))
        bound = context.bound(rule.store)
        with bound.engine.begin() as conn:
            chunk = run_chunk(
                conn,
                sql,
                after=load_key(sql, step.last_key),
                size=run.chunk_size,
                key=context.store(rule.store).key,
                dense=step.rows_done * 2 >= step.chunks * run.chunk_size,
            )
        if chunk.last_key is not None:
            step.last_key = dump_key(chunk.last_key)
            step.rows_done += chunk.rows
            step.chunks += 1
            return _outcome(run, step, "chunk", chunk.rows)
        with bound.engine.begin() as conn:
            step.restricted = restrict_held(conn, sql, as_of=run.as_of)
        with bound.engine.connect() as conn:
            step.after = count_target(conn, sql)
        step.status = StepStatus.DONE.value
    except TutelaError as error:
        _fail(step, error.detail)
    except sa.exc.SQLAlchemyError as error:
        _fail(step, f"a chunk failed and was rolled back: {described(error)}")
    _ended(session, run, step, clock)
    return _outcome(run, step, "ended")


def _finish(session: Session, run: SweepRun, clock: Clock) -> None:
    steps = list(session.scalars(select(SweepStep).where(SweepStep.run_id == run.id)))
    failed = sum(1 for s in steps if s.status == StepStatus.FAILED.value)
    refused = sum(1 for s in steps if s.status == StepStatus.REFUSED.value)
    run.status = (RunStatus.ERRORS if failed or refused else RunStatus.DONE).value
    run.finished_at = clock.now()
    finished = SweepFinished(
        run_id=run.id,
        status=run.status,
        rules=len(steps),
        rows_done=sum(s.rows_done for s in steps),
        failed=failed,
        refused=refused,
    )
    emit(session, finished, actor=run.actor, clock=clock)


def sweep_step(
    session: Session, *, run_id: int, context: SweepContext, clock: Clock
) -> StepOutcome | None:
    """Do the next step of the run; ``None`` once the run is finished (the caller commits)."""
    run = session.get(SweepRun, run_id, with_for_update=True, populate_existing=True)
    if run is None or run.status != RunStatus.RUNNING.value:
        return None
    rules = context.rules(session, version=run.policy_version)
    steps = {
        s.rule: s for s in session.scalars(select(SweepStep).where(SweepStep.run_id == run.id))
    }
    for position, rule in enumerate(rules):
        step = steps.get(rule.id)
        if step is None:
            return _start_rule(session, run, rule, position, context, clock)
        if StepStatus(step.status) not in _ENDED:
            return _advance(session, run, rule, step, context, clock)
    _finish(session, run, clock)
    return None


def run_sweep(
    factory: sessionmaker[Session],
    *,
    context: SweepContext,
    clock: Clock,
    actor: str,
    trigger: Trigger = Trigger.MANUAL,
    chunk_size: int = DEFAULT_CHUNK,
    confirmed: Sequence[str] = (),
    observe: Callable[[StepOutcome], None] | None = None,
    opened: Callable[[SweepRun, bool], None] | None = None,
) -> int:
    """Open (or resume) a run and step it to the end, one transaction per step; the run id."""
    with transaction(factory) as session:
        run, resumed = open_run(
            session,
            context=context,
            trigger=trigger,
            actor=actor,
            clock=clock,
            chunk_size=chunk_size,
            confirmed=confirmed,
        )
        run_id = run.id
        if opened is not None:
            opened(run, resumed)
    while True:
        with transaction(factory) as session:
            outcome = sweep_step(session, run_id=run_id, context=context, clock=clock)
        if outcome is None:
            return run_id
        if observe is not None:
            observe(outcome)
