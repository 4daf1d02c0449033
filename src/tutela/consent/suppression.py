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

A restricted person (Art. 18 GDPR) is listed with the scope ``restricted``, which
applies to every purpose: while it stands, every check answers ``restricted``.
:func:`suppress_indexes` lists blind indexes a request named (also of people
Tutela does not know) and :func:`lift_indexes` removes them again.

Staff list an address of someone Tutela may not know with
:func:`suppress_address` and lift one with :func:`lift_suppression`; both need a
reason that goes into the audit trail (never the address itself, which only
ever exists here as its blind index). :func:`listing_of` answers where one
address stands, :func:`scope_choices` and :func:`check_scope` name the scopes
staff may choose, and :func:`masked` is how an address given by staff is shown
back to them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete, literal, or_, select, union
from sqlalchemy.orm import Session, aliased

from tutela.audit import emit
from tutela.clock import Clock
from tutela.consent.events import AddressesSuppressed, SuppressionLifted
from tutela.consent.models import Suppression
from tutela.consent.staff_text import MAX_STAFF_REASON, masked, staff_reason
from tutela.consent.terms import DIRECT_MARKETING
from tutela.crypto import MasterKey
from tutela.errors import InvalidInput
from tutela.policy.models import Declaration, LegalBasis, Purpose
from tutela.subjects import IdentityKind, Subject, SubjectIdentity, index_of, normalize
from tutela.subjects.identity import identity_kind

__all__ = [
    "MAX_STAFF_REASON",
    "OBJECTION",
    "RESTRICTED",
    "RESTRICTION",
    "STAFF_ENTRY",
    "Listing",
    "check_scope",
    "is_suppressed",
    "lift_indexes",
    "lift_suppression",
    "listing_of",
    "masked",
    "scope_choices",
    "scopes_for",
    "suppress_address",
    "suppress_indexes",
    "suppress_subject",
]

OBJECTION = "objection"
RESTRICTION = "restriction"
STAFF_ENTRY = "staff_entry"
RESTRICTED = "restricted"
"""The scope of a restricted person: it applies to every purpose."""
_REASON_LENGTH = 32


def scopes_for(purpose: Purpose) -> tuple[str, ...]:
    """The suppression scopes that apply when checking ``purpose``."""
    if purpose.is_direct_marketing:
        return (purpose.id, DIRECT_MARKETING, RESTRICTED)
    return (purpose.id, RESTRICTED)


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


def suppress_indexes(
    session: Session,
    *,
    pairs: Sequence[tuple[str, str]],
    scope: str,
    reason: str,
    clock: Clock,
    actor: str,
) -> int:
    """List blind indexes ``(kind, index)`` for ``scope`` (a request names them, so the
    person may be unknown to Tutela); returns how many were new."""
    scope = _check_scope(scope)
    added = _insert(session, pairs, scope=scope, reason=reason[:_REASON_LENGTH], clock=clock)
    if added:
        kinds = tuple(sorted({kind for kind, _ in pairs}))
        event = AddressesSuppressed(subject_id=None, scope=scope, kinds=kinds, added=added)
        emit(session, event, actor=actor, clock=clock)
    return added


def lift_indexes(
    session: Session,
    *,
    pairs: Sequence[tuple[str, str]],
    scope: str,
    clock: Clock,
    actor: str,
    reason: str,
) -> int:
    """Remove blind indexes from the list for ``scope``; returns how many entries went."""
    removed = 0
    for kind, index in dict.fromkeys(pairs):
        result = session.execute(
            delete(Suppression).where(
                Suppression.kind == kind,
                Suppression.blind_index == index,
                Suppression.scope == scope,
            )
        )
        removed += int(getattr(result, "rowcount", 0) or 0)
    if removed:
        kinds = ",".join(sorted({kind for kind, _ in pairs}))
        event = SuppressionLifted(kind=kinds[:16], scope=scope, removed=removed)
        emit(session, event, actor=actor, clock=clock, reason=reason)
    return removed


def _index(
    master: MasterKey, kind: IdentityKind | str, value: str, default_country_code: str
) -> tuple[IdentityKind, str]:
    member = identity_kind(kind)
    normalized = normalize(member, value, default_country_code=default_country_code)
    return member, index_of(master, member, normalized)


def _check_scope(scope: str) -> str:
    text = scope.strip()
    if not text or len(text) > 64:
        raise InvalidInput(
            f"scope: use {DIRECT_MARKETING} or a purpose id of at most 64 characters.",
            field="scope",
        )
    return text


def scope_choices(declaration: Declaration | None) -> tuple[str, ...]:
    """The scopes staff may list an address for: all direct marketing, then every purpose
    of ``declaration`` that rests on consent or is direct marketing (in declared order)."""
    if declaration is None:
        return (DIRECT_MARKETING,)
    ids = [
        p.id
        for p in declaration.purposes
        if p.is_direct_marketing or p.soft_opt_in or p.legal_basis is LegalBasis.CONSENT
    ]
    return (DIRECT_MARKETING, *ids)


def check_scope(scope: str, *, choices: Sequence[str]) -> str:
    """``scope`` without surrounding blanks when it is one of ``choices``; InvalidInput if not."""
    text = scope.strip()
    if text not in choices:
        named = ", ".join(choices)
        raise InvalidInput(
            f"scope: {text[:64]!r} is not a suppression scope; use one of {named}.",
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
    reason: str | None = None,
    default_country_code: str = "49",
) -> bool:
    """List one address (known to Tutela or not) for ``scope``; ``True`` if it was new.

    The entry is marked as entered by staff; ``reason`` (optional here, asked for by
    the CLI and the console) goes into the audit trail with the entry.
    """
    member = identity_kind(kind)
    normalized = normalize(member, value, default_country_code=default_country_code)
    index = index_of(master, member, normalized)
    scope = _check_scope(scope)
    said = staff_reason(reason, value=value, normalized=normalized, required=False)
    added = _insert(session, [(member.value, index)], scope=scope, reason=STAFF_ENTRY, clock=clock)
    if added:
        event = AddressesSuppressed(subject_id=None, scope=scope, kinds=(member.value,), added=1)
        emit(session, event, actor=actor, clock=clock, reason=said)
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
    default_country_code: str = "49",
) -> int:
    """Remove an address from the list for ``scope`` (a staff decision with a reason).

    Only the listed address is removed; other addresses of the same person stay
    listed. Returns how many entries were removed (0 or 1).
    """
    member = identity_kind(kind)
    normalized = normalize(member, value, default_country_code=default_country_code)
    said = staff_reason(reason, value=value, normalized=normalized, required=True)
    index = index_of(master, member, normalized)
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
        emit(session, event, actor=actor, clock=clock, reason=said)
    return removed


@dataclass(frozen=True)
class Listing:
    """Where one address stands on the suppression list."""

    own: tuple[str, ...]
    """Scopes the address itself is listed for."""
    through_person: tuple[str, ...]
    """Scopes another address of the same person is listed for; they cover this one too."""

    @property
    def listed(self) -> bool:
        return bool(self.own or self.through_person)


def listing_of(
    session: Session,
    *,
    kind: IdentityKind | str,
    value: str,
    master: MasterKey,
    default_country_code: str = "49",
) -> Listing:
    """The scopes one address is listed for, itself and through the person holding it."""
    member, index = _index(master, kind, value, default_country_code)
    own = session.scalars(
        select(Suppression.scope)
        .where(Suppression.kind == member.value, Suppression.blind_index == index)
        .distinct()
    )
    mine, other = aliased(SubjectIdentity), aliased(SubjectIdentity)
    through = session.scalars(
        select(Suppression.scope)
        .select_from(mine)
        .join(other, other.subject_id == mine.subject_id)
        .join(
            Suppression,
            (Suppression.kind == other.kind) & (Suppression.blind_index == other.blind_index),
        )
        .where(
            mine.kind == member.value,
            mine.blind_index == index,
            or_(other.kind != member.value, other.blind_index != index),
        )
        .distinct()
    )
    own_scopes = tuple(sorted(str(scope) for scope in own))
    return Listing(own=own_scopes, through_person=tuple(sorted(str(scope) for scope in through)))


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
