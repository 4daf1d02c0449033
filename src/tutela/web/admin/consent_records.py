"""What the consent pages show: counts per purpose and one person's records.

Reads only; the caller passes a session of a read-only transaction. A person's
records are read here only after the page checked the access grant.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tutela.clock import Clock
from tutela.consent import (
    ConsentState,
    CurrentPolicy,
    Suppression,
    check,
    current_policy,
    events_of,
    open_proof,
)
from tutela.crypto import MasterKey
from tutela.errors import Conflict
from tutela.policy.models import LegalBasis, Purpose
from tutela.subjects import Subject, SubjectIdentity, identities

__all__ = ["counts", "current_or_none", "person_records", "suppression_total", "tracked"]


def tracked(purpose: Purpose) -> bool:
    """Purposes the console follows: consent, soft opt-in and direct marketing."""
    basis = purpose.legal_basis is LegalBasis.CONSENT
    return basis or purpose.soft_opt_in or purpose.is_direct_marketing


def current_or_none(session: Session, *, clock: Clock) -> CurrentPolicy | None:
    """The version in effect, or None before the first one takes effect."""
    try:
        return current_policy(session, clock=clock)
    except Conflict:
        return None


def counts(
    session: Session, *, policy: CurrentPolicy | None, language: str
) -> list[dict[str, Any]]:
    """Per followed purpose (then any other purpose with state): how many people per status."""
    found: dict[str, dict[str, int]] = {}
    query = select(ConsentState.purpose_id, ConsentState.status, func.count()).group_by(
        ConsentState.purpose_id, ConsentState.status
    )
    for purpose_id, status, count in session.execute(query):
        found.setdefault(str(purpose_id), {})[str(status)] = int(count)
    declared = [p for p in policy.declaration.purposes if tracked(p)] if policy else []
    rows = [
        {"id": p.id, "name": p.name.get(language), "counts": found.pop(p.id, {})} for p in declared
    ]
    rows.extend({"id": pid, "name": pid, "counts": c} for pid, c in sorted(found.items()))
    return rows


def suppression_total(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Suppression)) or 0


def _suppressed_scopes(session: Session, subject: Subject) -> list[str]:
    query = (
        select(Suppression.scope)
        .join(
            SubjectIdentity,
            (SubjectIdentity.kind == Suppression.kind)
            & (SubjectIdentity.blind_index == Suppression.blind_index),
        )
        .where(SubjectIdentity.subject_id == subject.id)
        .distinct()
    )
    return sorted(str(scope) for scope in session.scalars(query))


def _proof_fields(proof: dict[str, Any] | None) -> list[tuple[str, str]]:
    if proof is None:
        return []
    fields = [(k, str(proof[k])) for k in ("ip", "user_agent", "form_url") if proof.get(k)]
    for key, value in sorted(dict(proof.get("extra") or {}).items()):
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        fields.append((str(key), text))
    return fields


def person_records(
    session: Session, *, subject: Subject, master: MasterKey, clock: Clock, language: str
) -> dict[str, Any]:
    """Everything the person view shows: identities, state and decision per purpose,
    every ledger event with its decrypted proof, and the suppression scopes."""
    policy = current_or_none(session, clock=clock)
    declared = {p.id: p for p in policy.declaration.purposes} if policy else {}
    names = {pid: p.name.get(language) for pid, p in declared.items()}
    rows = session.scalars(select(ConsentState).where(ConsentState.subject_id == subject.id))
    states = {row.purpose_id: row for row in rows}
    shown = [pid for pid, p in declared.items() if tracked(p) or pid in states]
    shown += sorted(pid for pid in states if pid not in declared)
    current = []
    for pid in shown:
        decision = None
        if policy is not None and pid in declared:
            decision = check(
                session,
                purpose_id=pid,
                master=master,
                clock=clock,
                declaration=policy.declaration,
                subject=subject,
            )
        current.append(
            {"id": pid, "name": names.get(pid, pid), "state": states.get(pid), "decision": decision}
        )
    events = [
        {
            "event": event,
            "name": names.get(event.purpose_id, event.purpose_id),
            "proof": _proof_fields(
                open_proof(session, event=event, subject=subject, master=master)
            ),
        }
        for event in events_of(session, subject=subject)
    ]
    return {
        "subject": subject,
        "identities": identities(session, subject=subject, master=master),
        "current": current,
        "events": events,
        "scopes": _suppressed_scopes(session, subject),
        "purposes": [p for p in declared.values() if tracked(p)],
    }
