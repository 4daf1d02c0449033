"""Where a campaign's deliveries stand, when the next one is due, and closing the campaign.

A campaign is done once every recipient was found and no delivery is open any
more — ``sending`` counts as open, since its outcome is not recorded yet.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Final

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from tutela.audit import emit
from tutela.calendar import GERMAN_TIME
from tutela.clock import Clock
from tutela.notices.events import NoticesFinished
from tutela.notices.models import (
    OPEN_STATUSES,
    CampaignStatus,
    DeliveryStatus,
    NoticeCampaign,
    NoticeDelivery,
)

__all__ = ["counts_by_status", "current_campaign", "finish_if_done", "next_due"]

ACTOR: Final = "system"


def current_campaign(session: Session, version: int) -> NoticeCampaign | None:
    """The campaign of ``version`` as the database has it now (not a cached copy)."""
    return session.scalars(
        select(NoticeCampaign)
        .where(NoticeCampaign.version == version)
        .execution_options(populate_existing=True)
    ).one_or_none()


def next_due(session: Session, *, version: int) -> dt.datetime | None:
    """When the next open delivery of ``version`` is due (``None``: none is open).

    For a delivery being sent, that is when its claim counts as abandoned.
    """
    return session.scalar(
        select(func.min(NoticeDelivery.next_attempt_at)).where(
            NoticeDelivery.version == version, NoticeDelivery.status.in_(OPEN_STATUSES)
        )
    )


def counts_by_status(session: Session, *, version: int) -> dict[str, int]:
    """Deliveries of ``version`` per status."""
    rows = session.execute(
        select(NoticeDelivery.status, func.count())
        .where(NoticeDelivery.version == version)
        .group_by(NoticeDelivery.status)
    )
    return {str(status): int(count) for status, count in rows}


def _sent_late(session: Session, campaign: NoticeCampaign) -> int:
    after = dt.datetime.combine(
        campaign.send_by + dt.timedelta(days=1), dt.time(0), tzinfo=GERMAN_TIME
    ).astimezone(dt.UTC)
    return int(
        session.scalar(
            select(func.count()).where(
                NoticeDelivery.version == campaign.version,
                NoticeDelivery.status == DeliveryStatus.SENT.value,
                NoticeDelivery.sent_at >= after,
            )
        )
        or 0
    )


def finish_if_done(session: Session, *, version: int, clock: Clock) -> bool:
    """Close the campaign once every recipient was found and no delivery is open.

    The campaign's status is read before the deliveries: once it says ``sending``,
    every recipient is already queued, so an empty open list really is the end.
    The campaign key is destroyed and the outcome audited (counts only).
    """
    campaign = current_campaign(session, version)
    if campaign is None or campaign.status != CampaignStatus.SENDING.value:
        return False
    counts = counts_by_status(session, version=version)
    if any(counts.get(status, 0) for status in OPEN_STATUSES):
        return False
    closed: Any = session.execute(
        update(NoticeCampaign)
        .where(
            NoticeCampaign.version == version,
            NoticeCampaign.status == CampaignStatus.SENDING.value,
        )
        .values(status=CampaignStatus.DONE.value, finished_at=clock.now(), wrapped_key=None)
        .execution_options(synchronize_session=False)
    )
    if closed.rowcount != 1:
        return False
    session.execute(
        update(NoticeDelivery)
        .where(NoticeDelivery.version == version, NoticeDelivery.address_sealed.is_not(None))
        .values(address_sealed=None)
        .execution_options(synchronize_session=False)
    )
    event = NoticesFinished(
        version=version,
        sent=counts.get(DeliveryStatus.SENT.value, 0),
        failed=counts.get(DeliveryStatus.FAILED.value, 0),
        bounced=counts.get(DeliveryStatus.BOUNCED.value, 0),
        dropped=counts.get(DeliveryStatus.DROPPED.value, 0),
        sent_late=_sent_late(session, campaign),
        send_by=campaign.send_by,
    )
    emit(session, event, actor=ACTOR, clock=clock)
    session.expire(campaign)
    return True
