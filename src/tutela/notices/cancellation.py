"""Stopping the notices of a version that is no longer upcoming.

A notice says "version N takes effect on D". Once a later version takes N's
place before D (``superseded``), or D has come (``in_effect``), that sentence
is wrong or too late: the campaign is cancelled, every delivery still waiting
is marked ``cancelled``, the campaign key and sealed addresses are destroyed,
and ``notices.cancelled`` is audited with the counts. A notice in flight at
that moment keeps its outcome; if it then fails, it is cancelled too. The
replacing version gets notices of its own through the planner.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Final

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from tutela.audit import emit
from tutela.calendar import german_date
from tutela.clock import Clock
from tutela.notices.campaign import PlanState, plan_for
from tutela.notices.completion import counts_by_status
from tutela.notices.events import NoticesCancelled
from tutela.notices.models import (
    ACTIVE_CAMPAIGN,
    OPEN_STATUSES,
    WAITING_STATUSES,
    CampaignStatus,
    DeliveryStatus,
    NoticeCampaign,
    NoticeDelivery,
)
from tutela.policy.versions import current_version, get_version

__all__ = ["STOPPING", "next_abandoned", "settle_cancelled", "stop_if_outdated"]

ACTOR: Final = "system"
STOPPING: Final = (PlanState.SUPERSEDED, PlanState.IN_EFFECT)
"""Plan states in which a version's notices must not go out any more."""
_WHY: Final = {
    PlanState.SUPERSEDED: "not sent: a later version replaced this one before it took effect",
    PlanState.IN_EFFECT: "not sent: the version took effect before this notice went out",
}
_ABANDONED: Final = "the worker stopped while sending; the notices were cancelled meanwhile"


def _locked(session: Session, version: int) -> NoticeCampaign | None:
    return session.scalars(
        select(NoticeCampaign)
        .where(NoticeCampaign.version == version)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one_or_none()


def stop_if_outdated(session: Session, *, version: int, clock: Clock) -> bool:
    """Cancel the open campaign of ``version`` if it is superseded or in effect now.

    ``True`` if it was cancelled now. Runs in the caller's transaction; the
    campaign row is locked, so a recipient search or a claim running at the same
    time either finishes first or sees the campaign cancelled.
    """
    campaign = _locked(session, version)
    if campaign is None or campaign.status not in ACTIVE_CAMPAIGN:
        return False
    plan = plan_for(session, version=get_version(session, version), today=german_date(clock.now()))
    if plan.state not in STOPPING:
        return False
    counts = counts_by_status(session, version=version)
    if campaign.status == CampaignStatus.SENDING.value and not any(
        counts.get(status, 0) for status in OPEN_STATUSES
    ):
        return False  # everyone was told already: the campaign just ends (done)
    replaced_by = None
    if plan.state is PlanState.SUPERSEDED:
        then = current_version(session, on=campaign.effective_on)
        replaced_by = then.number if then is not None else None
    cancelled: Any = session.execute(
        update(NoticeDelivery)
        .where(NoticeDelivery.version == version, NoticeDelivery.status.in_(WAITING_STATUSES))
        .values(status=DeliveryStatus.CANCELLED.value, last_error=_WHY[plan.state])
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(NoticeDelivery)
        .where(NoticeDelivery.version == version, NoticeDelivery.address_sealed.is_not(None))
        .values(address_sealed=None)
        .execution_options(synchronize_session=False)
    )
    campaign.status = CampaignStatus.CANCELLED.value
    campaign.cancelled_because = plan.state.value
    campaign.finished_at = clock.now()
    campaign.wrapped_key = None
    session.flush()
    counts = counts_by_status(session, version=version)
    event = NoticesCancelled(
        version=version,
        reason=plan.state.value,
        replaced_by=replaced_by,
        cancelled=int(cancelled.rowcount or 0),
        sent=counts.get(DeliveryStatus.SENT.value, 0),
        in_flight=counts.get(DeliveryStatus.SENDING.value, 0),
    )
    emit(session, event, actor=ACTOR, clock=clock)
    return True


def next_abandoned(session: Session, *, version: int) -> dt.datetime | None:
    """When the next notice of ``version`` still being sent counts as abandoned."""
    return session.scalar(
        select(func.min(NoticeDelivery.next_attempt_at)).where(
            NoticeDelivery.version == version,
            NoticeDelivery.status == DeliveryStatus.SENDING.value,
        )
    )


def settle_cancelled(session: Session, *, version: int, clock: Clock) -> dt.datetime | None:
    """Cancel the abandoned claims of a cancelled campaign; when to look again (or ``None``)."""
    session.execute(
        update(NoticeDelivery)
        .where(
            NoticeDelivery.version == version,
            NoticeDelivery.status == DeliveryStatus.SENDING.value,
            NoticeDelivery.next_attempt_at <= clock.now(),
        )
        .values(status=DeliveryStatus.CANCELLED.value, last_error=_ABANDONED)
        .execution_options(synchronize_session=False)
    )
    return next_abandoned(session, version=version)
