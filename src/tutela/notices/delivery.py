"""Sending the queued notices one by one, each claimed and recorded in its own transaction.

A mail server cannot take part in a database transaction, so every notice goes
through three steps, each committed on its own:

1. *claim*: the next due delivery (``FOR UPDATE SKIP LOCKED``, so two workers
   never take the same row) becomes ``sending`` with the claim time and the
   worker, and its address is resolved only now — from the subject's encrypted
   identity or the address sealed under the campaign key;
2. *send*: the mail goes to the mail server, with no transaction open;
3. *record*: ``sent``; ``bounced`` when the server refuses the recipient for
   good; otherwise ``retrying`` with a growing wait, and ``failed`` after
   :data:`MAX_ATTEMPTS`. A recipient erased meanwhile is ``dropped``.

If the worker dies (or the database fails) between 2 and 3, that one delivery
stays ``sending``; once the claim is older than :data:`SENDING_TIMEOUT` it is
claimed again, so that one mail may arrive twice (with the same Message-ID) —
never more than the one in flight per worker. A batch stops after
:data:`SEND_BATCH` notices or :data:`BATCH_TIME`, whichever comes first.
The error kept is a fixed description, never the server's text (it may quote
the address).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Final

from sqlalchemy import Connection, Engine, select
from sqlalchemy.orm import Session

from tutela.clock import Clock
from tutela.crypto import DecryptionError, MasterKey
from tutela.errors import InvalidInput
from tutela.mail import MailDeliveryFailed, Mailer, OutboundMail, build_message
from tutela.notices.completion import current_campaign
from tutela.notices.letter import NoticeText, compose
from tutela.notices.models import (
    ACTIVE_CAMPAIGN,
    DeliveryStatus,
    NoticeCampaign,
    NoticeDelivery,
)
from tutela.notices.sealing import open_address, unwrapped_key
from tutela.policy.versions import get_version
from tutela.subjects import IdentityKind, Subject, identities, index_of

__all__ = [
    "BATCH_TIME",
    "MAX_ATTEMPTS",
    "SENDING_TIMEOUT",
    "SEND_BATCH",
    "BatchResult",
    "PreparedBatch",
    "Sender",
    "prepare_batch",
    "retry_delay",
    "send_due",
]

log = logging.getLogger(__name__)

SEND_BATCH: Final = 100
BATCH_TIME: Final = dt.timedelta(seconds=60)
"""No new notice is started after this long; well under the five-minute job lease."""
SENDING_TIMEOUT: Final = dt.timedelta(minutes=15)
"""A claim older than this was abandoned (the worker died): the notice is sent again.

Longer than one mail can take with the mail server's timeouts, so a live worker's
notice is never taken from it.
"""
MAX_ATTEMPTS: Final = 8
RETRY_BASE: Final = dt.timedelta(minutes=5)
RETRY_CAP: Final = dt.timedelta(hours=6)
LANGUAGES: Final = ("de", "en")

Bind = Engine | Connection


def retry_delay(attempts: int) -> dt.timedelta:
    """Wait after ``attempts`` failed tries: 5, 10, 20 … minutes, at most six hours."""
    factor = 1 << max(0, min(attempts - 1, 16))
    return min(RETRY_BASE * factor, RETRY_CAP)


@dataclass(frozen=True, kw_only=True)
class Sender:
    """How notices leave: the mailer, the From address, the Message-ID domain, links."""

    mailer: Mailer
    sender: str
    message_id_domain: str
    base_url: str


@dataclass
class BatchResult:
    """What one batch did, per outcome."""

    counts: dict[str, int] = field(default_factory=dict)

    def add(self, status: DeliveryStatus) -> None:
        self.counts[status.value] = self.counts.get(status.value, 0) + 1

    @property
    def handled(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True, slots=True)
class _Claim:
    """A delivery this worker holds: what to send, and how to find the row again."""

    id: int
    version: int
    attempt: int
    language: str
    address: str


@dataclass(frozen=True, slots=True)
class PreparedBatch:
    """What every notice of a campaign shares: the text per language, the campaign key."""

    version: int
    texts: dict[str, NoticeText]
    key: bytes | None = field(repr=False)


def _own(bind: Bind) -> Session:
    return Session(bind=bind, expire_on_commit=False)


def prepare_batch(
    session: Session, *, version: int, master: MasterKey, base_url: str
) -> PreparedBatch | None:
    """Render the notice and open the campaign key (``None``: the campaign is not open).

    Done in the job's transaction, so that a failure here fails the job (and is
    retried with the job's back-off) instead of the batch.
    """
    campaign = current_campaign(session, version)
    if campaign is None or campaign.status not in ACTIVE_CAMPAIGN:
        return None
    announced = get_version(session, campaign.version)
    previous = get_version(session, campaign.previous or campaign.version)
    texts = {
        language: compose(
            version=announced, previous=previous, language=language, base_url=base_url
        )
        for language in LANGUAGES
    }
    key = (
        unwrapped_key(master, campaign.wrapped_key, version=version)
        if campaign.wrapped_key is not None
        else None
    )
    return PreparedBatch(version, texts, key)


def _subject_address(session: Session, row: NoticeDelivery, master: MasterKey) -> str | None:
    subject = session.get(Subject, row.subject_id)
    if subject is None or subject.erased_at is not None:
        return None
    emails = [
        v for kind, v in identities(session, subject=subject, master=master) if kind == "email"
    ]
    for value in emails:
        if index_of(master, IdentityKind.EMAIL, value) == row.recipient_key:
            return value
    return emails[0] if emails else None


def _address(
    session: Session, row: NoticeDelivery, master: MasterKey, key: bytes | None
) -> str | None:
    if row.subject_id is not None:
        return _subject_address(session, row, master)
    if row.address_sealed is None or key is None:
        return None
    return open_address(
        key, row.address_sealed, version=row.version, recipient_key=row.recipient_key
    )


def _end(row: NoticeDelivery, status: DeliveryStatus, error: str | None) -> DeliveryStatus:
    row.status = status.value
    row.last_error = error
    row.address_sealed = None
    return status


def _next_due(session: Session, version: int, now: dt.datetime) -> NoticeDelivery | None:
    """The first due delivery nobody else holds: never tried first, then retries, then
    abandoned claims. One status at a time, so each look-up is a short index range."""
    for status in (DeliveryStatus.QUEUED, DeliveryStatus.RETRYING, DeliveryStatus.SENDING):
        row = session.scalars(
            select(NoticeDelivery)
            .where(
                NoticeDelivery.version == version,
                NoticeDelivery.status == status.value,
                NoticeDelivery.next_attempt_at <= now,
            )
            .order_by(NoticeDelivery.next_attempt_at, NoticeDelivery.id)
            .limit(1)
            .with_for_update(skip_locked=True)
        ).one_or_none()
        if row is not None:
            return row
    return None


def _claim(
    session: Session,
    *,
    version: int,
    master: MasterKey,
    key: bytes | None,
    worker: str,
    clock: Clock,
) -> _Claim | DeliveryStatus | None:
    """Take the next due delivery: a claim to send, an outcome without mail, or nothing due."""
    campaign = session.scalars(
        select(NoticeCampaign)
        .where(NoticeCampaign.version == version)
        .with_for_update(read=True)  # a cancellation waits for this claim, or comes first
        .execution_options(populate_existing=True)
    ).one_or_none()
    if campaign is None or campaign.status not in ACTIVE_CAMPAIGN:
        return None
    now = clock.now()
    row = _next_due(session, version, now)
    if row is None:
        return None
    abandoned = row.status == DeliveryStatus.SENDING.value
    stopped = f"the worker stopped while sending attempt {row.attempts}; it may have arrived"
    if abandoned and row.attempts >= MAX_ATTEMPTS:
        return _end(row, DeliveryStatus.FAILED, stopped)
    try:
        address = _address(session, row, master, key)
    except (DecryptionError, InvalidInput, UnicodeDecodeError) as error:
        return _end(
            row, DeliveryStatus.FAILED, f"the address could not be read ({type(error).__name__})"
        )
    if address is None:
        return _end(
            row, DeliveryStatus.DROPPED, "the recipient was erased or has no address any more"
        )
    row.attempts += 1
    row.status = DeliveryStatus.SENDING.value
    row.claimed_at = now
    row.claimed_by = worker
    row.next_attempt_at = now + SENDING_TIMEOUT
    if abandoned:
        row.last_error = stopped
    return _Claim(row.id, row.version, row.attempts, row.language, address)


def _deliver(claim: _Claim, text: NoticeText, out: Sender, clock: Clock) -> Exception | None:
    """Hand the notice to the mail server; the failure, if any (never raised)."""
    mail = OutboundMail(to=claim.address, subject=text.subject, text=text.text, html=text.html)
    try:
        message = build_message(
            mail,
            sender=out.sender,
            message_id_domain=out.message_id_domain,
            clock=clock,
            message_id=f"<notice.{claim.version}.{claim.id}@{out.message_id_domain}>",
        )
        out.mailer.send(message)
    except Exception as exc:  # any failure is recorded on the row and retried
        return exc
    return None


def _failure(row: NoticeDelivery, exc: Exception, now: dt.datetime) -> DeliveryStatus:
    permanent = isinstance(exc, MailDeliveryFailed) and bool(exc.extra.get("permanent"))
    kind = "refused for good by the mail server" if permanent else "not accepted by the mail server"
    if isinstance(exc, MailDeliveryFailed):
        row.last_error = f"{kind} (attempt {row.attempts})"
    else:
        row.last_error = f"sending failed with {type(exc).__name__} (attempt {row.attempts})"
    if permanent:
        return DeliveryStatus.BOUNCED
    if row.attempts >= MAX_ATTEMPTS:
        return DeliveryStatus.FAILED
    row.next_attempt_at = now + retry_delay(row.attempts)
    return DeliveryStatus.RETRYING


def _record(
    session: Session, claim: _Claim, error: Exception | None, *, worker: str, clock: Clock
) -> DeliveryStatus | None:
    """Write the outcome of a claim this worker still holds (``None``: it holds it no more)."""
    row = session.scalars(
        select(NoticeDelivery)
        .where(
            NoticeDelivery.id == claim.id,
            NoticeDelivery.status == DeliveryStatus.SENDING.value,
            NoticeDelivery.claimed_by == worker,
            NoticeDelivery.attempts == claim.attempt,
        )
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one_or_none()
    if row is None:
        log.warning("notice %s: the claim ran out before its outcome was recorded", claim.id)
        return None
    now = clock.now()
    if error is None:
        row.sent_at = now
        return _end(row, DeliveryStatus.SENT, None)
    status = _failure(row, error, now)
    if status is DeliveryStatus.RETRYING:
        campaign = current_campaign(session, claim.version)
        if campaign is None or campaign.status not in ACTIVE_CAMPAIGN:
            return _end(row, DeliveryStatus.CANCELLED, row.last_error)
        row.status = status.value
        return status
    return _end(row, status, row.last_error)


def send_due(
    bind: Bind,
    *,
    prepared: PreparedBatch,
    master: MasterKey,
    out: Sender,
    clock: Clock,
    worker: str,
    limit: int = SEND_BATCH,
    budget: dt.timedelta = BATCH_TIME,
) -> BatchResult:
    """Send up to ``limit`` due notices of ``prepared.version`` for at most ``budget``.

    Unlike a service, this commits: each claim and each outcome in a short
    transaction of its own on ``bind``. Call it with no transaction open that
    holds SQLite's write lock (after the job's transaction committed).
    """
    result = BatchResult()
    version = prepared.version
    stop_at = clock.now() + budget
    for _ in range(limit):
        if clock.now() >= stop_at:
            break
        with _own(bind) as session, session.begin():
            claimed = _claim(
                session,
                version=version,
                master=master,
                key=prepared.key,
                worker=worker,
                clock=clock,
            )
        if claimed is None:
            break
        if isinstance(claimed, DeliveryStatus):
            result.add(claimed)
            continue
        error = _deliver(claimed, prepared.texts[claimed.language], out, clock)
        with _own(bind) as session, session.begin():
            status = _record(session, claimed, error, worker=worker, clock=clock)
        if status is not None:
            result.add(status)
    return result
