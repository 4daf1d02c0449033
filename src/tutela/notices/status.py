"""Where the notices of each version stand: counts per outcome, language and source.

Read by ``tutela notices status`` and the console page; counts only, never a
recipient.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tutela.notices.campaign import PlanState, plan_for, upcoming_versions
from tutela.notices.models import DeliveryStatus, NoticeCampaign, NoticeDelivery
from tutela.notices.recipients import tables_skipped
from tutela.policy.versions import get_version

__all__ = ["VersionNotices", "notices_of", "overview"]


@dataclass(frozen=True)
class VersionNotices:
    """The notices of one version, or why it has none (``state``).

    ``tables_skipped``: audience tables that could not be read, ``(name, reason)``;
    ``cancelled_because``: why a cancelled campaign stopped (superseded, in_effect).
    """

    version: int
    effective_on: dt.date
    state: str
    send_by: dt.date | None = None
    previous: int | None = None
    late: bool = False
    skipped: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    by_language: dict[str, int] = field(default_factory=dict)
    by_source: dict[str, int] = field(default_factory=dict)
    tables_skipped: tuple[tuple[str, str], ...] = ()
    cancelled_because: str | None = None

    @property
    def recipients(self) -> int:
        return sum(self.by_status.values())

    def count(self, status: DeliveryStatus) -> int:
        return self.by_status.get(status.value, 0)

    @property
    def open(self) -> int:
        return sum(
            self.count(status)
            for status in (DeliveryStatus.QUEUED, DeliveryStatus.SENDING, DeliveryStatus.RETRYING)
        )


def _grouped(session: Session, version: int, column: object) -> dict[str, int]:
    rows = session.execute(
        select(column, func.count())  # type: ignore[call-overload]
        .where(NoticeDelivery.version == version)
        .group_by(column)
    )
    return {str(name): int(count) for name, count in rows}


def _of_campaign(session: Session, campaign: NoticeCampaign) -> VersionNotices:
    return VersionNotices(
        version=campaign.version,
        effective_on=campaign.effective_on,
        state=campaign.status,
        send_by=campaign.send_by,
        previous=campaign.previous,
        late=campaign.late,
        skipped=campaign.skipped,
        by_status=_grouped(session, campaign.version, NoticeDelivery.status),
        by_language=_grouped(session, campaign.version, NoticeDelivery.language),
        by_source=_grouped(session, campaign.version, NoticeDelivery.source),
        tables_skipped=tuple(tables_skipped(campaign)),
        cancelled_because=campaign.cancelled_because,
    )


def notices_of(session: Session, *, version: int, today: dt.date) -> VersionNotices:
    """The notices of ``version``; without a campaign, what it would need (``due`` …)."""
    campaign = session.scalars(
        select(NoticeCampaign).where(NoticeCampaign.version == version)
    ).one_or_none()
    if campaign is not None:
        return _of_campaign(session, campaign)
    plan = plan_for(session, version=get_version(session, version), today=today)
    state = "not_queued" if plan.state is PlanState.DUE else plan.state.value
    return VersionNotices(
        version=version,
        effective_on=plan.effective_on,
        state=state,
        send_by=plan.send_by,
        previous=plan.previous,
        late=plan.send_by is not None and plan.state is PlanState.DUE and today > plan.send_by,
    )


def overview(session: Session, *, today: dt.date) -> list[VersionNotices]:
    """Every campaign and every upcoming version without one, newest version first."""
    campaigns = session.scalars(select(NoticeCampaign)).all()
    found = {c.version: _of_campaign(session, c) for c in campaigns}
    for version in upcoming_versions(session, today=today):
        if version.number not in found:
            found[version.number] = notices_of(session, version=version.number, today=today)
    return [found[number] for number in sorted(found, reverse=True)]
