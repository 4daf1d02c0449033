"""Deciding and starting the notices about a published version.

:func:`plan_for` works out what a version needs: the version people read before
it (the diff is taken against that one), the notice rules that apply (its own
and those of the versions already promised) and the last day the notice may
reach people (:func:`tutela.notices.deadline.latest_send_on`).
:func:`open_campaign` starts a campaign: the campaign row, its sealing key and
the jobs that find the recipients and send. Queuing twice does nothing the
second time. Queuing after the last sending day is refused: the campaign is
recorded as ``refused`` and ``notices.late`` audited, and the caller must say so
loudly (:func:`too_late`). Only an explicit ``allow_late`` sends anyway, and that
too is audited.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from tutela.audit import emit
from tutela.calendar import german_date
from tutela.clock import Clock
from tutela.crypto import MasterKey
from tutela.errors import Conflict, PolicyViolation
from tutela.notices.deadline import latest_send_on, notify_required
from tutela.notices.events import NoticesLate
from tutela.notices.models import CampaignStatus, NoticeCampaign
from tutela.notices.sealing import new_campaign_key
from tutela.policy.models import ChangeNotice
from tutela.policy.models_db import PolicyVersion
from tutela.policy.versions import current_version, get_version

__all__ = [
    "NoticePlan",
    "NoticesTooLate",
    "PlanState",
    "Starter",
    "campaign_of",
    "open_campaign",
    "plan_for",
    "too_late",
    "upcoming_versions",
]


class NoticesTooLate(PolicyViolation):
    """The last day to notify people of a version has passed; nothing was sent."""

    code = "notices-too-late"
    title = "It is too late to announce this version"


class PlanState(StrEnum):
    """What a version needs: notices (``due``), or why not."""

    DUE = "due"
    FIRST = "first"
    IN_EFFECT = "in_effect"
    SUPERSEDED = "superseded"
    NOT_REQUIRED = "not_required"


@dataclass(frozen=True, slots=True)
class NoticePlan:
    """The notices a version needs: against which version, until when."""

    version: int
    state: PlanState
    effective_on: dt.date
    previous: int | None = None
    send_by: dt.date | None = None
    rules: tuple[ChangeNotice, ...] = ()


Starter = Callable[[Session, NoticeCampaign, Clock], None]
"""Enqueues the jobs of a new campaign (given by :mod:`tutela.notices.jobs`)."""


def plan_for(session: Session, *, version: PolicyVersion, today: dt.date) -> NoticePlan:
    """What ``version`` needs on ``today`` (see :class:`PlanState`)."""
    effective = version.effective_at
    if effective <= today:
        return NoticePlan(version.number, PlanState.IN_EFFECT, effective)
    then = current_version(session, on=effective)
    if then is None or then.number != version.number:
        return NoticePlan(version.number, PlanState.SUPERSEDED, effective)
    before = current_version(session, on=effective - dt.timedelta(days=1))
    if before is None:
        return NoticePlan(version.number, PlanState.FIRST, effective)
    rules = [version.declaration().change_notice, before.declaration().change_notice]
    now = current_version(session, on=today)
    if now is not None and now.number not in (before.number, version.number):
        rules.append(now.declaration().change_notice)
    state = PlanState.DUE if notify_required(rules) else PlanState.NOT_REQUIRED
    return NoticePlan(
        version.number,
        state,
        effective,
        previous=before.number,
        send_by=latest_send_on(effective, rules),
        rules=tuple(rules),
    )


def campaign_of(session: Session, version: int, *, lock: bool = False) -> NoticeCampaign | None:
    """The campaign of version ``version``, if one was started (``lock``: for update)."""
    query = select(NoticeCampaign).where(NoticeCampaign.version == version)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    return session.scalars(query).one_or_none()


def upcoming_versions(session: Session, *, today: dt.date) -> list[PolicyVersion]:
    """Published versions that take effect after ``today``, oldest first."""
    return list(
        session.scalars(
            select(PolicyVersion)
            .where(PolicyVersion.effective_at > today)
            .order_by(PolicyVersion.number)
        )
    )


_NOT_DUE = {
    PlanState.IN_EFFECT: "it is already in effect, so it can no longer be announced ahead",
    PlanState.SUPERSEDED: "a later version takes its place before it takes effect",
    PlanState.FIRST: "it is the first version in effect; there is nothing earlier to compare",
    PlanState.NOT_REQUIRED: (
        "change_notice.notify_subjects is false in it and in the version it replaces"
    ),
}


def too_late(campaign: NoticeCampaign, *, today: dt.date) -> NoticesTooLate:
    """The error to show for a refused campaign (the refusal itself is already audited)."""
    return NoticesTooLate(
        f"version {campaign.version}: the notices had to reach people by "
        f"{campaign.send_by.isoformat()} for the change to take effect on "
        f"{campaign.effective_on.isoformat()}, and today is {today.isoformat()}; nothing was "
        "sent. Publish the declaration again with a later effective date (tutela policy "
        "publish --effective-on), or send knowingly late with --accept-late.",
        version=campaign.version,
        send_by=campaign.send_by.isoformat(),
    )


def open_campaign(
    session: Session,
    *,
    version: int,
    master: MasterKey,
    clock: Clock,
    actor: str,
    start: Starter,
    allow_late: bool = False,
) -> NoticeCampaign:
    """Start the campaign of ``version`` (or return the one started before).

    Refused with :class:`Conflict` when the version needs no notices (the
    message says why). After the last sending day the campaign is stored as
    ``refused`` and audited; raise :func:`too_late` after committing. With
    ``allow_late`` it is sent anyway and flagged ``late``.
    """
    row = get_version(session, version)
    today = german_date(clock.now())
    existing = campaign_of(session, version)
    if existing is not None and not (
        existing.status == CampaignStatus.REFUSED.value and allow_late
    ):
        return existing
    plan = plan_for(session, version=row, today=today)
    if plan.state is not PlanState.DUE or plan.send_by is None:
        raise Conflict(
            f"version {version}: no notices are sent for it, because {_NOT_DUE[plan.state]}."
        )
    campaign = existing or NoticeCampaign(
        version=version,
        previous=plan.previous,
        effective_on=plan.effective_on,
        send_by=plan.send_by,
        status=CampaignStatus.PLANNING.value,
        late=False,
        stage=0,
        skipped=0,
        created_at=clock.now(),
    )
    if existing is None:
        session.add(campaign)
    late = today > plan.send_by
    if late and not allow_late:
        campaign.status = CampaignStatus.REFUSED.value
        session.flush()
        _audit_late(session, campaign, today=today, clock=clock, actor=actor, refused=True)
        return campaign
    _key, wrapped = new_campaign_key(master, version=version)
    campaign.status = CampaignStatus.PLANNING.value
    campaign.wrapped_key = wrapped
    campaign.late = late
    campaign.stage, campaign.cursor = 0, None
    session.flush()
    if late:
        _audit_late(session, campaign, today=today, clock=clock, actor=actor, accepted=True)
    start(session, campaign, clock)
    return campaign


def _audit_late(
    session: Session,
    campaign: NoticeCampaign,
    *,
    today: dt.date,
    clock: Clock,
    actor: str,
    refused: bool = False,
    accepted: bool = False,
    pending: int = 0,
) -> None:
    event = NoticesLate(
        version=campaign.version,
        effective_on=campaign.effective_on,
        send_by=campaign.send_by,
        today=today,
        refused=refused,
        accepted=accepted,
        pending=pending,
    )
    emit(session, event, actor=actor, clock=clock)


def flag_overdue(session: Session, *, campaign: NoticeCampaign, pending: int, clock: Clock) -> bool:
    """Mark an open campaign late once its last sending day passed; ``True`` if marked now.

    Open means: recipients are still being found, or ``pending`` deliveries wait.
    """
    today = german_date(clock.now())
    still_planning = campaign.status == CampaignStatus.PLANNING.value
    if campaign.late or today <= campaign.send_by or not (still_planning or pending):
        return False
    campaign.late = True
    session.flush()
    _audit_late(session, campaign, today=today, clock=clock, actor="system", pending=pending)
    return True
