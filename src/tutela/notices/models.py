"""Tables of policy-change notices: one campaign per version, one delivery per recipient.

No table holds an address in plaintext. A delivery names its recipient by the
blind index of the e-mail address (``recipient_key``, which also makes a second
queuing for the same version a no-op) and either by subject id — the address is
read from the subject's encrypted identity when the mail goes out — or by the
address sealed under the campaign's own data key, which is kept only wrapped by
the master key. Once a delivery has ended (sent, failed, bounced, dropped,
cancelled) its sealed address is cleared; when the campaign ends, its key is
destroyed too.

A delivery is ``sending`` from the moment a worker claimed it (committed, with
``claimed_at``/``claimed_by``) until its outcome is committed; its
``next_attempt_at`` is then the moment the claim counts as abandoned (the worker
died mid-send) and the delivery is tried again.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from tutela.storage.base import Base, UTCDateTime

KEY_LENGTH = 64
SOURCE_LENGTH = 64
LANGUAGE_LENGTH = 8
STATUS_LENGTH = 16
ERROR_LENGTH = 200
WORKER_LENGTH = 200
CONSENT_SOURCE = "consent"
"""The ``source`` of recipients found through a current consent."""


class CampaignStatus(StrEnum):
    """Life of a campaign: planning (finding recipients) → sending → done; or refused.

    ``cancelled``: the version was replaced before it took effect, or took effect
    while notices were still open; what was still open is not sent.
    """

    PLANNING = "planning"
    SENDING = "sending"
    DONE = "done"
    REFUSED = "refused"
    CANCELLED = "cancelled"


class DeliveryStatus(StrEnum):
    """Life of one delivery: queued → sending → sent, or retrying → … → failed; bounced;
    dropped (the recipient is gone); cancelled (the campaign was stopped)."""

    QUEUED = "queued"
    SENDING = "sending"
    RETRYING = "retrying"
    SENT = "sent"
    FAILED = "failed"
    BOUNCED = "bounced"
    DROPPED = "dropped"
    CANCELLED = "cancelled"


WAITING_STATUSES = (DeliveryStatus.QUEUED.value, DeliveryStatus.RETRYING.value)
"""Deliveries waiting for a worker to claim them."""
OPEN_STATUSES = (*WAITING_STATUSES, DeliveryStatus.SENDING.value)
"""Deliveries that still have to go out (or whose outcome is not recorded yet)."""
ACTIVE_CAMPAIGN = (CampaignStatus.PLANNING.value, CampaignStatus.SENDING.value)
"""Campaigns whose notices may still go out."""


def _one_of(values: type[StrEnum]) -> str:
    return ", ".join(f"'{member.value}'" for member in values)


class NoticeCampaign(Base):
    """The notices about one published version: deadline, progress and the sealing key.

    ``send_by`` is the last day on which a notice may reach people so that the
    notice period still runs before ``effective_on``. ``stage``/``cursor`` are
    where finding recipients goes on after an interruption (stage 0: consent
    subscribers, 1…: the audience tables in order); ``skipped`` counts values
    found there that are no usable e-mail address, ``tables_skipped`` (JSON list of
    ``[name, reason]``) the audience tables that could not be read at all.
    ``cancelled_because`` says why a cancelled campaign stopped (``superseded`` or
    ``in_effect``).
    """

    __tablename__ = "notice_campaigns"
    __table_args__ = (
        CheckConstraint(f"status IN ({_one_of(CampaignStatus)})", name="status"),
        CheckConstraint("stage >= 0", name="stage_not_negative"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(ForeignKey("policy_versions.number"), unique=True)
    previous: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(STATUS_LENGTH))
    effective_on: Mapped[dt.date] = mapped_column(Date)
    send_by: Mapped[dt.date] = mapped_column(Date)
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    wrapped_key: Mapped[bytes | None] = mapped_column(LargeBinary)
    stage: Mapped[int] = mapped_column(Integer, default=0)
    cursor: Mapped[str | None] = mapped_column(Text)
    skipped: Mapped[int] = mapped_column(Integer, default=0)
    tables_skipped: Mapped[str | None] = mapped_column(Text)
    cancelled_because: Mapped[str | None] = mapped_column(String(STATUS_LENGTH))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    planned_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    def __repr__(self) -> str:
        return f"<NoticeCampaign version={self.version} {self.status} send_by={self.send_by}>"


class NoticeDelivery(Base):
    """One notice to one person about one version, and what became of it."""

    __tablename__ = "notice_deliveries"
    __table_args__ = (
        UniqueConstraint("version", "recipient_key", name="uq_notice_deliveries_recipient"),
        CheckConstraint(f"status IN ({_one_of(DeliveryStatus)})", name="status"),
        CheckConstraint("language IN ('de', 'en')", name="language"),
        Index("ix_notice_deliveries_due", "version", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(ForeignKey("notice_campaigns.version"))
    recipient_key: Mapped[str] = mapped_column(String(KEY_LENGTH))
    subject_id: Mapped[int | None] = mapped_column(ForeignKey("subjects.id"))
    source: Mapped[str] = mapped_column(String(SOURCE_LENGTH))
    language: Mapped[str] = mapped_column(String(LANGUAGE_LENGTH))
    address_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(STATUS_LENGTH))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(String(ERROR_LENGTH))
    claimed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    claimed_by: Mapped[str | None] = mapped_column(String(WORKER_LENGTH))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    def __repr__(self) -> str:
        return f"<NoticeDelivery {self.id} version={self.version} {self.status}>"
