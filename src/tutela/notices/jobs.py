"""The notice jobs: plan (daily and after a publication), find recipients, send.

* ``notices.plan`` starts a campaign for every upcoming version that needs one
  and has none, flags open campaigns whose last sending day passed, restarts a
  campaign's jobs if they died, and queues the next daily run (05:00 German time).
  :func:`plan_soon` queues a run right away, in the publishing transaction.
* ``notices.fanout`` queues one chunk of recipients per run and queues its own
  successor until every source was read; then the campaign is ``sending`` and
  ``notices.queued`` is audited with the counts.
* ``notices.send`` first checks that the version is still upcoming and not
  replaced (else its notices are cancelled, :mod:`tutela.notices.cancellation`),
  then queues its successor — at once while notices are due, at the next retry
  time while some wait, every few seconds while recipients are still being
  found — and sends one batch after its transaction committed
  (:mod:`tutela.notices.batch`); once nothing is open the campaign is closed
  (``notices.finished``).

Successors carry an idempotency key derived from the job that queues them, so
a run repeated after a crash never forks the chain.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, Final

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tutela.audit import emit
from tutela.calendar import german_date
from tutela.clock import Clock
from tutela.crypto import MasterKey
from tutela.errors import InvalidInput
from tutela.jobs import Job, JobContext, JobStatus, enqueue, registry, schedule
from tutela.notices.audience import AudienceReader
from tutela.notices.batch import send_after_commit
from tutela.notices.campaign import (
    PlanState,
    campaign_of,
    flag_overdue,
    open_campaign,
    plan_for,
    upcoming_versions,
)
from tutela.notices.cancellation import settle_cancelled, stop_if_outdated
from tutela.notices.completion import finish_if_done, next_due
from tutela.notices.events import NoticesQueued
from tutela.notices.models import (
    ACTIVE_CAMPAIGN,
    OPEN_STATUSES,
    CampaignStatus,
    DeliveryStatus,
    NoticeCampaign,
    NoticeDelivery,
)
from tutela.notices.recipients import fan_out_chunk
from tutela.notices.runtime import NoticeRuntime, installed_runtime
from tutela.policy.versions import get_version

__all__ = [
    "FANOUT_JOB",
    "PLAN_JOB",
    "SEND_JOB",
    "ensure_daily_plan",
    "plan_soon",
    "queue_notices",
    "run_fanout",
    "run_plan",
    "run_send",
    "start_jobs",
]

PLAN_JOB: Final = "notices.plan"
FANOUT_JOB: Final = "notices.fanout"
SEND_JOB: Final = "notices.send"
ACTOR: Final = "system"
PLAN_HOUR: Final = 5
POLL: Final = dt.timedelta(seconds=15)
ATTEMPTS: Final = 8
_LIVE = (JobStatus.QUEUED.value, JobStatus.RUNNING.value, JobStatus.FAILED.value)


def _version(payload: dict[str, Any], kind: str) -> int:
    try:
        return int(payload["version"])
    except (KeyError, TypeError, ValueError):
        raise InvalidInput(
            f"The {kind} job payload names no version; queue it through tutela.notices."
        ) from None


def _job(session: Session, kind: str, version: int, clock: Clock, **options: Any) -> None:
    key = options.pop("key", None)
    enqueue(
        session,
        kind=kind,
        payload={"version": version},
        clock=clock,
        idempotency_key=key,
        max_attempts=ATTEMPTS,
        **options,
    )


def _live(session: Session, kind: str, version: int) -> bool:
    """Whether a job of ``kind`` for ``version`` is waiting, running or due for a retry."""
    payloads = session.scalars(select(Job.payload).where(Job.kind == kind, Job.status.in_(_LIVE)))
    return any(json.loads(payload).get("version") == version for payload in payloads)


def start_jobs(session: Session, campaign: NoticeCampaign, clock: Clock) -> None:
    """Queue the first recipient-finding and sending jobs of a new campaign."""
    _job(session, FANOUT_JOB, campaign.version, clock)
    _job(session, SEND_JOB, campaign.version, clock)


def queue_notices(
    session: Session,
    *,
    version: int,
    master: MasterKey,
    clock: Clock,
    actor: str,
    allow_late: bool = False,
) -> NoticeCampaign:
    """Start the notices about ``version`` in the caller's transaction (idempotent).

    See :func:`tutela.notices.campaign.open_campaign`: a campaign returned with
    status ``refused`` was too late and is audited; after committing, raise
    :func:`tutela.notices.too_late` so the operator hears of it.
    """
    return open_campaign(
        session,
        version=version,
        master=master,
        clock=clock,
        actor=actor,
        start=start_jobs,
        allow_late=allow_late,
    )


def next_plan_at(now: dt.datetime) -> dt.datetime:
    """The next 05:00 German time after ``now`` (UTC)."""
    return schedule.next_daily_at(now, hour=PLAN_HOUR)


def ensure_daily_plan(session: Session, *, clock: Clock) -> None:
    """Make sure the next daily ``notices.plan`` run is queued (one per day)."""
    schedule.ensure_daily(
        session, kind=PLAN_JOB, hour=PLAN_HOUR, clock=clock, max_attempts=ATTEMPTS
    )


def plan_soon(session: Session, *, clock: Clock) -> None:
    """Queue a ``notices.plan`` run now (call it in the transaction that publishes)."""
    enqueue(session, kind=PLAN_JOB, payload={}, clock=clock, max_attempts=ATTEMPTS)


def _open_count(session: Session, version: int) -> int:
    return int(
        session.scalar(
            select(func.count()).where(
                NoticeDelivery.version == version, NoticeDelivery.status.in_(OPEN_STATUSES)
            )
        )
        or 0
    )


def _in_flight(session: Session, version: int) -> bool:
    return bool(
        session.scalar(
            select(func.count()).where(
                NoticeDelivery.version == version,
                NoticeDelivery.status == DeliveryStatus.SENDING.value,
            )
        )
    )


def run_plan(session: Session, *, runtime: NoticeRuntime, clock: Clock) -> list[int]:
    """Start the campaigns that are due; return the versions started now."""
    today = german_date(clock.now())
    started: list[int] = []
    for version in upcoming_versions(session, today=today):
        if campaign_of(session, version.number) is not None:
            continue
        if plan_for(session, version=version, today=today).state is not PlanState.DUE:
            continue
        campaign = queue_notices(
            session, version=version.number, master=runtime.master, clock=clock, actor=ACTOR
        )
        if campaign.status == CampaignStatus.PLANNING.value:
            started.append(version.number)
    open_campaigns = session.scalars(
        select(NoticeCampaign).where(NoticeCampaign.status.in_(ACTIVE_CAMPAIGN))
    ).all()
    for campaign in open_campaigns:
        if campaign.version in started:
            continue
        if stop_if_outdated(session, version=campaign.version, clock=clock):
            if _in_flight(session, campaign.version) and not _live(
                session, SEND_JOB, campaign.version
            ):
                _job(session, SEND_JOB, campaign.version, clock)  # settles the abandoned ones
            continue
        flag_overdue(
            session, campaign=campaign, pending=_open_count(session, campaign.version), clock=clock
        )
        planning = campaign.status == CampaignStatus.PLANNING.value
        if planning and not _live(session, FANOUT_JOB, campaign.version):
            _job(session, FANOUT_JOB, campaign.version, clock)
        if not _live(session, SEND_JOB, campaign.version):
            _job(session, SEND_JOB, campaign.version, clock)
    ensure_daily_plan(session, clock=clock)
    return started


def _given_counts(session: Session, campaign: NoticeCampaign) -> frozenset[str]:
    """Purposes for which a grant counts without confirmation (no double opt-in)."""
    number = campaign.previous if campaign.previous is not None else campaign.version
    declaration = get_version(session, number).declaration()
    return frozenset(p.id for p in declaration.purposes if not p.needs_double_opt_in)


def _queued_event(session: Session, campaign: NoticeCampaign) -> NoticesQueued:
    def grouped(column: Any) -> dict[str, int]:
        rows = session.execute(
            select(column, func.count())
            .where(NoticeDelivery.version == campaign.version)
            .group_by(column)
        )
        return {str(name): int(count) for name, count in rows}

    by_source = grouped(NoticeDelivery.source)
    return NoticesQueued(
        version=campaign.version,
        previous=campaign.previous,
        effective_on=campaign.effective_on,
        send_by=campaign.send_by,
        recipients=sum(by_source.values()),
        by_source=by_source,
        by_language=grouped(NoticeDelivery.language),
    )


def run_fanout(
    session: Session,
    *,
    version: int,
    runtime: NoticeRuntime,
    clock: Clock,
    job_id: int,
    last_attempt: bool = False,
) -> bool:
    """Queue one chunk of recipients; ``True`` once all are queued.

    ``last_attempt``: this is the job's last try, so an audience table whose
    database cannot be reached is skipped (and reported) instead of failing again.
    """
    campaign = campaign_of(session, version, lock=True)
    if campaign is None or campaign.status != CampaignStatus.PLANNING.value:
        return True
    reader = AudienceReader(runtime.audience_specs())
    try:
        done = fan_out_chunk(
            session,
            campaign=campaign,
            reader=reader,
            master=runtime.master,
            given_counts=_given_counts(session, campaign),
            default_language=runtime.settings.default_language,
            clock=clock,
            skip_unreachable=last_attempt,
        )
    finally:
        reader.close()
    if not done:
        _job(session, FANOUT_JOB, version, clock, key=f"{FANOUT_JOB}:{version}:after:{job_id}")
        return False
    campaign.status = CampaignStatus.SENDING.value
    campaign.planned_at = clock.now()
    session.flush()
    emit(session, _queued_event(session, campaign), actor=ACTOR, clock=clock)
    if not _live(session, SEND_JOB, version):
        _job(session, SEND_JOB, version, clock)
    return True


def run_send(
    session: Session,
    *,
    version: int,
    runtime: NoticeRuntime,
    clock: Clock,
    job_id: int,
    worker: str = ACTOR,
) -> None:
    """Check the plan, queue the next run (or close the campaign), send a batch after commit.

    The batch runs once this transaction has committed, each notice in its own
    short transaction (:mod:`tutela.notices.batch`); ``worker`` names the claims.
    """
    stop_if_outdated(session, version=version, clock=clock)
    campaign = campaign_of(session, version)
    if campaign is None:
        return
    now = clock.now()
    key = f"{SEND_JOB}:{version}:after:{job_id}"
    if campaign.status == CampaignStatus.CANCELLED.value:
        look_again = settle_cancelled(session, version=version, clock=clock)
        if look_again is not None:
            _job(session, SEND_JOB, version, clock, key=key, run_after=max(look_again, now))
        return
    if campaign.status not in ACTIVE_CAMPAIGN:
        return
    if finish_if_done(session, version=version, clock=clock):
        return
    due = next_due(session, version=version)
    if due is None:
        if campaign.status != CampaignStatus.PLANNING.value:
            return
        if not _live(session, FANOUT_JOB, version):
            return  # the daily plan restarts the search for recipients
        due = now + POLL
    elif due <= now:
        send_after_commit(session, version=version, runtime=runtime, clock=clock, worker=worker)
    _job(session, SEND_JOB, version, clock, key=key, run_after=max(due, now))


@registry.handler(PLAN_JOB)
def plan_job(session: Session, payload: dict[str, Any], ctx: JobContext) -> None:
    del payload
    run_plan(session, runtime=installed_runtime(), clock=ctx.clock)


@registry.handler(FANOUT_JOB)
def fanout_job(session: Session, payload: dict[str, Any], ctx: JobContext) -> None:
    run_fanout(
        session,
        version=_version(payload, FANOUT_JOB),
        runtime=installed_runtime(),
        clock=ctx.clock,
        job_id=ctx.job_id,
        last_attempt=ctx.attempt >= ctx.max_attempts,
    )


@registry.handler(SEND_JOB)
def send_job(session: Session, payload: dict[str, Any], ctx: JobContext) -> None:
    run_send(
        session,
        version=_version(payload, SEND_JOB),
        runtime=installed_runtime(),
        clock=ctx.clock,
        job_id=ctx.job_id,
        worker=ctx.worker_id,
    )
