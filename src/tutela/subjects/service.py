"""Use cases: find and create subjects, bind identities, look up in bulk, erase.

Every function runs in the caller's transaction and never commits. Values are
normalised here, looked up by blind index and stored encrypted under the
subject's own key; erasing a subject destroys that key (crypto-shredding).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tutela.audit import emit
from tutela.clock import Clock
from tutela.crypto import MasterKey, decrypt, encrypt, random_token
from tutela.errors import Conflict, InvalidInput
from tutela.subjects.events import IdentityAdded, SubjectCreated, SubjectErasure
from tutela.subjects.identity import IdentityKind, identity_kind, normalize
from tutela.subjects.indexes import index_of
from tutela.subjects.keys import create_key, data_key
from tutela.subjects.models import Subject, SubjectIdentity, SubjectKey

__all__ = [
    "LOOKUP_CHUNK",
    "add_identity",
    "erase_subject",
    "find_subject",
    "get_or_create_subject",
    "identities",
    "subject_by_public_id",
    "subject_ids_for_indexes",
]

LOOKUP_CHUNK: Final = 5000
"""Blind indexes per query in :func:`subject_ids_for_indexes` (well below bind limits)."""

_PUBLIC_ID_BYTES: Final = 16


def _identity_context(kind: IdentityKind) -> bytes:
    return b"tutela/v1/subject-identity\x00" + kind.value.encode("ascii")


def _subject_for_index(session: Session, kind: IdentityKind, index: str) -> Subject | None:
    return session.scalars(
        select(Subject)
        .join(SubjectIdentity, SubjectIdentity.subject_id == Subject.id)
        .where(SubjectIdentity.kind == kind.value, SubjectIdentity.blind_index == index)
    ).one_or_none()


def find_subject(
    session: Session,
    *,
    kind: IdentityKind | str,
    value: str,
    master: MasterKey,
    default_country_code: str = "49",
) -> Subject | None:
    """The subject holding this identity (``value`` is normalised here), else ``None``."""
    member = identity_kind(kind)
    normalized = normalize(member, value, default_country_code=default_country_code)
    return _subject_for_index(session, member, index_of(master, member, normalized))


def subject_by_public_id(session: Session, public_id: str) -> Subject | None:
    """The subject with this public id (as used in links and receipts), else ``None``."""
    return session.scalars(select(Subject).where(Subject.public_id == public_id)).one_or_none()


def _add_identity_row(
    session: Session,
    *,
    subject: Subject,
    kind: IdentityKind,
    normalized: str,
    index: str,
    key: bytes,
    clock: Clock,
) -> None:
    session.add(
        SubjectIdentity(
            subject_id=subject.id,
            kind=kind.value,
            blind_index=index,
            value_ciphertext=encrypt(
                key, normalized.encode("utf-8"), context=_identity_context(kind)
            ),
            created_at=clock.now(),
        )
    )
    session.flush()


def get_or_create_subject(
    session: Session,
    *,
    kind: IdentityKind | str,
    value: str,
    master: MasterKey,
    clock: Clock,
    actor: str,
    default_country_code: str = "49",
) -> tuple[Subject, bool]:
    """The subject holding this identity, created with its own key if new; ``(subject, created)``.

    Two transactions creating the same identity at once end with one subject:
    the loser's insert hits the unique blind index, is rolled back to a
    savepoint, and the winner's subject is returned.
    """
    member = identity_kind(kind)
    normalized = normalize(member, value, default_country_code=default_country_code)
    index = index_of(master, member, normalized)
    existing = _subject_for_index(session, member, index)
    if existing is not None:
        return existing, False
    try:
        with session.begin_nested():
            subject = Subject(public_id=random_token(_PUBLIC_ID_BYTES), created_at=clock.now())
            session.add(subject)
            session.flush()
            key = create_key(session, subject=subject, master=master, clock=clock)
            _add_identity_row(
                session,
                subject=subject,
                kind=member,
                normalized=normalized,
                index=index,
                key=key,
                clock=clock,
            )
    except IntegrityError:
        winner = _subject_for_index(session, member, index)
        if winner is None:
            raise Conflict(
                f"{member.value}: another transaction changed this identity at the same "
                "time; try again.",
                field=member.value,
            ) from None
        return winner, False
    emit(
        session, SubjectCreated(subject_id=subject.id, kind=member.value), actor=actor, clock=clock
    )
    return subject, True


def _taken(kind: IdentityKind) -> Conflict:
    return Conflict(
        f"{kind.value}: this {kind.value} already belongs to another person; erase or "
        f"correct that record first, or bind a different {kind.value}.",
        field=kind.value,
    )


def add_identity(
    session: Session,
    *,
    subject: Subject,
    kind: IdentityKind | str,
    value: str,
    master: MasterKey,
    clock: Clock,
    actor: str,
    default_country_code: str = "49",
) -> None:
    """Bind another identity to ``subject``; binding it again does nothing.

    An identity already bound to another subject raises :class:`Conflict`; an
    erased subject raises :class:`tutela.subjects.SubjectErased`.
    """
    member = identity_kind(kind)
    normalized = normalize(member, value, default_country_code=default_country_code)
    index = index_of(master, member, normalized)
    holder = _subject_for_index(session, member, index)
    if holder is not None:
        if holder.id == subject.id:
            return
        raise _taken(member)
    key = data_key(session, subject=subject, master=master)
    try:
        with session.begin_nested():
            _add_identity_row(
                session,
                subject=subject,
                kind=member,
                normalized=normalized,
                index=index,
                key=key,
                clock=clock,
            )
    except IntegrityError:
        holder = _subject_for_index(session, member, index)
        if holder is not None and holder.id == subject.id:
            return
        raise _taken(member) from None
    emit(session, IdentityAdded(subject_id=subject.id, kind=member.value), actor=actor, clock=clock)


def identities(
    session: Session, *, subject: Subject, master: MasterKey
) -> list[tuple[IdentityKind, str]]:
    """The subject's identities, decrypted, oldest first (none after erasure)."""
    if subject.erased_at is not None:
        return []
    rows = session.scalars(
        select(SubjectIdentity)
        .where(SubjectIdentity.subject_id == subject.id)
        .order_by(SubjectIdentity.id)
    ).all()
    if not rows:
        return []
    key = data_key(session, subject=subject, master=master)
    result: list[tuple[IdentityKind, str]] = []
    for row in rows:
        kind = IdentityKind(row.kind)
        plain = decrypt(key, row.value_ciphertext, context=_identity_context(kind))
        result.append((kind, plain.decode("utf-8")))
    return result


def subject_ids_for_indexes(
    session: Session, *, kind: IdentityKind | str, indexes: Sequence[str]
) -> dict[str, int]:
    """Blind index → subject id for the indexes that are known; one query per chunk.

    Indexes come from :func:`tutela.subjects.index_many`; duplicates are looked
    up once, and at most :data:`LOOKUP_CHUNK` indexes go into one query.
    """
    member = identity_kind(kind)
    unique = list(dict.fromkeys(indexes))
    found: dict[str, int] = {}
    for start in range(0, len(unique), LOOKUP_CHUNK):
        chunk = unique[start : start + LOOKUP_CHUNK]
        rows = session.execute(
            select(SubjectIdentity.blind_index, SubjectIdentity.subject_id).where(
                SubjectIdentity.kind == member.value, SubjectIdentity.blind_index.in_(chunk)
            )
        )
        found.update((str(index), int(subject_id)) for index, subject_id in rows)
    return found


def erase_subject(
    session: Session, *, subject: Subject, clock: Clock, actor: str, reason: str
) -> None:
    """Crypto-shred ``subject``: delete its key and identities and mark it erased.

    Everything encrypted under the subject's key elsewhere becomes unreadable.
    The subject row stays as a tombstone (its public id in old receipts still
    resolves, to "erased"). Erasing an erased subject does nothing.
    """
    if not reason.strip():
        raise InvalidInput(
            "reason: say why the person's data is erased (such as 'erasure request 42').",
            field="reason",
        )
    if subject.erased_at is not None:
        return
    kinds = session.scalars(
        select(SubjectIdentity.kind).where(SubjectIdentity.subject_id == subject.id)
    ).all()
    session.execute(delete(SubjectIdentity).where(SubjectIdentity.subject_id == subject.id))
    session.execute(delete(SubjectKey).where(SubjectKey.subject_id == subject.id))
    subject.erased_at = clock.now()
    session.flush()
    event = SubjectErasure(
        subject_id=subject.id, identities_removed=len(kinds), kinds=tuple(sorted(set(kinds)))
    )
    emit(session, event, actor=actor, clock=clock, reason=reason)
