"""The suppression list: addresses that must never be used for a scope again.

An objection to direct marketing (Art. 21(2)–(3) GDPR, § 7(3) UWG) puts every
identity of the subject on the list with the scope ``direct_marketing``. Rows
hold only the kind and the blind index, so they outlive the subject's erasure,
and a later import or sign-up of the same address stays suppressed.

An identity counts as suppressed for a purpose when, for one of the scopes
that apply to the purpose (the purpose id, and ``direct_marketing`` for a
direct-marketing purpose), its own index is listed or any identity of the
same subject is listed — so an address added to a person after they objected
is covered too.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, literal, select, union
from sqlalchemy.orm import Session, aliased

from tutela.audit import emit
from tutela.clock import Clock
from tutela.consent.events import AddressesSuppressed, SuppressionLifted
from tutela.consent.models import Suppression
from tutela.consent.terms import DIRECT_MARKETING
from tutela.crypto import MasterKey
from tutela.errors import InvalidInput
from tutela.policy.models import Purpose
from tutela.subjects import IdentityKind, Subject, SubjectIdentity, index_of, normalize
from tutela.subjects.identity import identity_kind

__all__ = [
    "OBJECTION",
    "is_suppressed",
    "lift_suppression",
    "scopes_for",
    "suppress_address",
    "suppress_subject",
]

OBJECTION = "objection"
STAFF_ENTRY = "staff_entry"
_REASON_LENGTH = 32


def scopes_for(purpose: Purpose) -> tuple[str, ...]:
    """The suppression scopes that apply when checking ``purpose``."""
    if purpose.is_direct_marketing:
        return (purpose.id, DIRECT_MARKETING)
    return (purpose.id,)


def _missing(
    session: Session, pairs: Sequence[tuple[str, str]], scope: str
) -> list[tuple[str, str]]:
    if not pairs:
        return []
    listed = {
        (str(kind), str(index))
        for kind, index in session.execute(
            select(Suppression.kind, Suppression.blind_index).where(
                Suppression.scope == scope,
                Suppression.blind_index.in_([index for _, index in pairs]),
            )
        )
    }
    return [pair for pair in dict.fromkeys(pairs) if pair not in listed]


def _insert(
    session: Session, pairs: Sequence[tuple[str, str]], *, scope: str, reason: str, clock: Clock
) -> int:
    added = 0
    now = clock.now()
    for kind, index in _missing(session, pairs, scope):
        with session.begin_nested():
            session.add(
                Suppression(
                    kind=kind, blind_index=index, scope=scope, reason=reason, created_at=now
                )
            )
        added += 1
    return added


def suppress_subject(
    session: Session,
    *,
    subject: Subject,
    scope: str = DIRECT_MARKETING,
    reason: str = OBJECTION,
    clock: Clock,
    actor: str,
) -> int:
    """List every identity of ``subject`` for ``scope``; returns how many were new."""
    pairs = [
        (str(kind), str(index))
        for kind, index in session.execute(
            select(SubjectIdentity.kind, SubjectIdentity.blind_index)
            .where(SubjectIdentity.subject_id == subject.id)
            .order_by(SubjectIdentity.id)
        )
    ]
    added = _insert(session, pairs, scope=scope, reason=reason[:_REASON_LENGTH], clock=clock)
    if added:
        event = AddressesSuppressed(
            subject_id=subject.id,
            scope=scope,
            kinds=tuple(sorted({kind for kind, _ in pairs})),
            added=added,
        )
        emit(session, event, actor=actor, clock=clock)
    return added


def _index(master: MasterKey, kind: IdentityKind | str, value: str) -> tuple[IdentityKind, str]:
    member = identity_kind(kind)
    return member, index_of(master, member, normalize(member, value))


def _check_scope(scope: str) -> str:
    text = scope.strip()
    if not text or len(text) > 64:
        raise InvalidInput(
            f"scope: use {DIRECT_MARKETING} or a purpose id of at most 64 characters.",
            field="scope",
        )
    return text


def suppress_address(
    session: Session,
    *,
    kind: IdentityKind | str,
    value: str,
    scope: str = DIRECT_MARKETING,
    master: MasterKey,
    clock: Clock,
    actor: str,
    reason: str = STAFF_ENTRY,
) -> bool:
    """List one address (known to Tutela or not) for ``scope``; ``True`` if it was new."""
    member, index = _index(master, kind, value)
    scope = _check_scope(scope)
    added = _insert(
        session, [(member.value, index)], scope=scope, reason=reason[:_REASON_LENGTH], clock=clock
    )
    if added:
        event = AddressesSuppressed(subject_id=None, scope=scope, kinds=(member.value,), added=1)
        emit(session, event, actor=actor, clock=clock)
    return bool(added)


def lift_suppression(
    session: Session,
    *,
    kind: IdentityKind | str,
    value: str,
    scope: str = DIRECT_MARKETING,
    master: MasterKey,
    clock: Clock,
    actor: str,
    reason: str,
) -> int:
    """Remove an address from the list for ``scope`` (a staff decision with a reason).

    Only the listed address is removed; other addresses of the same person stay
    listed. Returns how many entries were removed (0 or 1).
    """
    if not reason.strip():
        raise InvalidInput(
            "reason: say why the address may be used again, such as the person's "
            "written request to receive offers again.",
            field="reason",
        )
    member, index = _index(master, kind, value)
    scope = _check_scope(scope)
    result = session.execute(
        delete(Suppression).where(
            Suppression.kind == member.value,
            Suppression.blind_index == index,
            Suppression.scope == scope,
        )
    )
    removed = int(getattr(result, "rowcount", 0) or 0)
    if removed:
        event = SuppressionLifted(kind=member.value, scope=scope, removed=removed)
        emit(session, event, actor=actor, clock=clock, reason=reason)
    return removed


def is_suppressed(
    session: Session,
    *,
    scopes: Sequence[str],
    subject_id: int | None = None,
    kind: str | None = None,
    index: str | None = None,
) -> bool:
    """Is the identity ``(kind, index)`` or any identity of ``subject_id`` listed for a scope?"""
    parts = []
    if kind is not None and index is not None:
        parts.append(
            select(literal(1)).where(
                Suppression.kind == kind,
                Suppression.blind_index == index,
                Suppression.scope.in_(scopes),
            )
        )
    if subject_id is not None:
        mine = aliased(SubjectIdentity)
        parts.append(
            select(literal(1))
            .select_from(mine)
            .join(
                Suppression,
                (Suppression.kind == mine.kind) & (Suppression.blind_index == mine.blind_index),
            )
            .where(mine.subject_id == subject_id, Suppression.scope.in_(scopes))
        )
    if not parts:
        return False
    query = parts[0] if len(parts) == 1 else union(*parts)
    return session.execute(query.limit(1)).first() is not None
