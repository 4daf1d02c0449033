"""Finding the people a notice goes to, one chunk at a time, and queuing them.

Stage 0 reads the subscribers: subjects with a current consent (confirmed, or
given where the purpose needs no double opt-in) and an e-mail identity; their
language is that of their latest consent event. Each later stage reads one
audience table (:mod:`tutela.notices.audience`). A person is one delivery per
version however often they are found: the blind index of the address is the
recipient key, and keys already queued are skipped. Each chunk is one short
transaction; the campaign row remembers where the next one starts.

A table that cannot be read is skipped so that the tables after it are still
read: it is listed on the campaign (``tables_skipped``, shown by the status) and
``notices.source_skipped`` is audited. A database that cannot be reached is
retried with the job, and skipped the same way on the job's last attempt.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from sqlalchemy import exc as sa_exc
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from tutela.audit import emit
from tutela.clock import Clock
from tutela.consent.models import ConsentEvent, ConsentState
from tutela.consent.terms import Action
from tutela.crypto import MasterKey
from tutela.errors import InvalidInput
from tutela.notices.audience import AudienceReader, AudienceUnreadable, Cursor, Holder
from tutela.notices.events import NoticesSourceSkipped
from tutela.notices.models import (
    CONSENT_SOURCE,
    DeliveryStatus,
    NoticeCampaign,
    NoticeDelivery,
)
from tutela.notices.sealing import seal_address, unwrapped_key
from tutela.policy.diff_compare import language_code
from tutela.subjects import IdentityKind, SubjectIdentity, index_many, normalize

__all__ = [
    "FANOUT_CHUNK",
    "Recipient",
    "fan_out_chunk",
    "language_of",
    "subscribers",
    "tables_skipped",
]

FANOUT_CHUNK = 1000
"""People read and queued per transaction."""


@dataclass(frozen=True, slots=True)
class Recipient:
    """One person to queue: the blind index of the address and how to reach them."""

    recipient_key: str
    language: str
    subject_id: int | None = None
    address: str | None = None


def language_of(value: str | None, *, default: str) -> str:
    """``de``/``en`` from a stored value such as ``de-DE``; ``default`` when unknown."""
    if not value or not value.strip():
        return default
    try:
        return language_code(value.strip())
    except InvalidInput:
        return default


def subscribers(
    session: Session, *, after: int | None, limit: int, given_counts: Collection[str], default: str
) -> tuple[list[Recipient], int | None, int]:
    """Up to ``limit`` subjects with a current consent after subject id ``after``.

    Returns the recipients (subjects without an e-mail identity are left out), the
    last subject id read (``None`` when there was none) and how many were read.
    """
    current = (ConsentState.status == Action.CONFIRMED.value) | (
        (ConsentState.status == Action.GIVEN.value)
        & ConsentState.purpose_id.in_(sorted(given_counts))
    )
    query = select(ConsentState.subject_id).where(current).distinct()
    if after is not None:
        query = query.where(ConsentState.subject_id > after)
    ids = list(session.scalars(query.order_by(ConsentState.subject_id).limit(limit)))
    if not ids:
        return [], None, 0
    emails: dict[int, str] = {}
    rows = session.execute(
        select(SubjectIdentity.subject_id, SubjectIdentity.blind_index)
        .where(SubjectIdentity.kind == IdentityKind.EMAIL.value)
        .where(SubjectIdentity.subject_id.in_(ids))
        .order_by(SubjectIdentity.id)
    )
    for subject_id, index in rows:
        emails.setdefault(int(subject_id), str(index))
    latest = (
        select(func.max(ConsentEvent.sequence))
        .where(ConsentEvent.subject_id.in_(ids))
        .group_by(ConsentEvent.subject_id)
    )
    rows = session.execute(
        select(ConsentEvent.subject_id, ConsentEvent.language).where(
            ConsentEvent.sequence.in_(latest)
        )
    )
    languages = {int(subject_id): str(language) for subject_id, language in rows}
    found = [
        Recipient(
            recipient_key=emails[subject_id],
            language=language_of(languages.get(subject_id), default=default),
            subject_id=subject_id,
        )
        for subject_id in ids
        if subject_id in emails
    ]
    return found, ids[-1], len(ids)


def holders_to_recipients(
    master: MasterKey, holders: Sequence[Holder], *, default: str
) -> tuple[list[Recipient], int]:
    """The holders with a usable address as recipients, and how many were not usable."""
    usable: list[tuple[str, str | None]] = []
    for holder in holders:
        try:
            usable.append((normalize(IdentityKind.EMAIL, holder.email), holder.language))
        except InvalidInput:
            continue
    indexes = index_many(master, IdentityKind.EMAIL, [address for address, _ in usable])
    found = [
        Recipient(
            recipient_key=index,
            language=language_of(language, default=default),
            address=address,
        )
        for index, (address, language) in zip(indexes, usable, strict=True)
    ]
    return found, len(holders) - len(usable)


def _queue(
    session: Session,
    *,
    campaign: NoticeCampaign,
    recipients: Sequence[Recipient],
    source: str,
    key: bytes | None,
    clock: Clock,
) -> int:
    """Insert the recipients not queued yet for the campaign; return how many were added."""
    unique: dict[str, Recipient] = {}
    for recipient in recipients:
        unique.setdefault(recipient.recipient_key, recipient)  # the first occurrence wins
    if not unique:
        return 0
    known = set(
        session.scalars(
            select(NoticeDelivery.recipient_key).where(
                NoticeDelivery.version == campaign.version,
                NoticeDelivery.recipient_key.in_(list(unique)),
            )
        )
    )
    now = clock.now()
    rows = []
    for recipient_key, recipient in unique.items():
        if recipient_key in known:
            continue
        sealed = None
        if recipient.address is not None and key is not None:
            sealed = seal_address(
                key, recipient.address, version=campaign.version, recipient_key=recipient_key
            )
        rows.append(
            {
                "version": campaign.version,
                "recipient_key": recipient_key,
                "subject_id": recipient.subject_id,
                "source": source,
                "language": recipient.language,
                "address_sealed": sealed,
                "status": DeliveryStatus.QUEUED.value,
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
            }
        )
    if rows:
        session.execute(insert(NoticeDelivery), rows)
    return len(rows)


def _cursor(campaign: NoticeCampaign) -> Cursor | None:
    if campaign.cursor is None:
        return None
    value = json.loads(campaign.cursor)
    if isinstance(value, list) and all(isinstance(part, int | str) for part in value):
        return value
    return value if isinstance(value, int | str) else None


def tables_skipped(campaign: NoticeCampaign) -> list[tuple[str, str]]:
    """The audience tables that could not be read: ``(name, reason)`` in order."""
    try:
        loaded = json.loads(campaign.tables_skipped or "[]")
    except ValueError:
        return []
    return [(str(name), str(reason)) for name, reason in loaded if isinstance(name, str)]


def _skip(
    session: Session, campaign: NoticeCampaign, source: str, reason: str, clock: Clock
) -> None:
    """Record and audit that the table ``source`` was not read, and why."""
    found = tables_skipped(campaign)
    found.append((source, reason))
    campaign.tables_skipped = json.dumps(found)
    emit(
        session,
        NoticesSourceSkipped(version=campaign.version, source=source, reason=reason),
        actor="system",
        clock=clock,
    )


def _unreachable(error: Exception) -> str:
    return (
        f"the database could not be read ({type(error).__name__}) on any attempt of the "
        "recipient search; check that the store is reachable and its url"
    )


def fan_out_chunk(
    session: Session,
    *,
    campaign: NoticeCampaign,
    reader: AudienceReader,
    master: MasterKey,
    given_counts: Collection[str],
    default_language: str,
    clock: Clock,
    limit: int = FANOUT_CHUNK,
    skip_unreachable: bool = False,
) -> bool:
    """Queue the next chunk of recipients; ``True`` once every stage has been read.

    A table that cannot be read is skipped and reported; with ``skip_unreachable``
    also one whose database cannot be reached (else that error is raised, to retry).
    """
    stages = 1 + len(reader.specs)
    if campaign.stage >= stages:
        return True
    after = _cursor(campaign)
    if campaign.stage == 0:
        found, last, count = subscribers(
            session,
            after=after if isinstance(after, int) else None,
            limit=limit,
            given_counts=given_counts,
            default=default_language,
        )
        read: Cursor | None = last
        _queue(
            session,
            campaign=campaign,
            recipients=found,
            source=CONSENT_SOURCE,
            key=None,
            clock=clock,
        )
        full = count >= limit
    else:
        spec_index = campaign.stage - 1
        source = reader.specs[spec_index].name
        try:
            holders = reader.chunk(spec_index, after=after, limit=limit)
        except AudienceUnreadable as error:
            _skip(session, campaign, source, error.detail, clock)
            holders = []
        except (sa_exc.SQLAlchemyError, OSError) as error:
            if not skip_unreachable:
                raise
            _skip(session, campaign, source, f"audience {source!r}: {_unreachable(error)}", clock)
            holders = []
        found, skipped = holders_to_recipients(master, holders, default=default_language)
        key = (
            unwrapped_key(master, campaign.wrapped_key, version=campaign.version)
            if campaign.wrapped_key is not None
            else None
        )
        _queue(
            session,
            campaign=campaign,
            recipients=found,
            source=source,
            key=key,
            clock=clock,
        )
        campaign.skipped += skipped
        read = holders[-1].key if holders else None
        full = len(holders) >= limit
    if full and read is not None:
        campaign.cursor = json.dumps(read)
    else:
        campaign.stage += 1
        campaign.cursor = None
    session.flush()
    return campaign.stage >= stages
