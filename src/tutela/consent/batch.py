"""Many ledger events in one transaction: imports, banner bursts, staff batches.

The same rules, chain and proof as :func:`tutela.consent.ledger.record`, with every
check done before anything is written and multi-row inserts for the rest.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from tutela.audit.trail import emit_many
from tutela.clock import Clock
from tutela.consent.declarations import (
    CurrentPolicy,
)
from tutela.consent.ledger import (
    _APPEND,
    _MOVE_HEAD,
    LedgerItem,
    _check_actor,
    _event,
    _lock_head,
    _Plan,
    _plan,
    _policy_for,
    _recorded,
    _row,
)
from tutela.consent.models import ConsentEvent
from tutela.consent.proof import proof_context, proof_plaintext
from tutela.consent.rules import StateRow
from tutela.consent.state import (
    Transition,
    read_states,
    transition,
    write_states,
)
from tutela.consent.suppression import suppress_subject
from tutela.consent.terms import DIRECT_MARKETING, Action
from tutela.crypto import MasterKey, encrypt
from tutela.subjects.keys import data_key
from tutela.subjects.models import SubjectKey


def _plans(
    session: Session, items: Sequence[LedgerItem], *, clock: Clock, policy: CurrentPolicy | None
) -> list[_Plan]:
    """Check every item; each policy version is looked up once."""
    versions: dict[int | None, CurrentPolicy] = {}
    plans = []
    for item in items:
        chosen = policy
        if chosen is None:
            wanted = item.proof.policy_version
            if wanted not in versions:
                versions[wanted] = _policy_for(session, item.proof.checked(), clock=clock)
            chosen = versions[wanted]
        plans.append(_plan(session, item, clock=clock, policy=chosen))
    return plans


def record_many(
    session: Session,
    *,
    items: Sequence[LedgerItem],
    master: MasterKey,
    clock: Clock,
    actor: str,
    policy: CurrentPolicy | None = None,
) -> list[ConsentEvent]:
    """Append ``items`` in order as :func:`record` would, with one head move per batch.

    For imports and bursts of banner decisions: every item is checked and every
    state change worked out (events for the same subject and purpose follow
    each other) before anything is written; then the events, the state rows and
    one audit entry per event go in with multi-row inserts. It runs in the
    caller's transaction, so an error anywhere in the batch leaves nothing
    behind once the caller rolls back. The chain is the same as with
    :func:`record`. Returns snapshots of the stored events, in order.
    """
    _check_actor(actor)
    if not items:
        return []
    plans = _plans(session, items, clock=clock, policy=policy)
    now = clock.now()
    keys = {(plan.subject.id, plan.purpose.id) for plan in plans}
    last_sequence, prev_hash = _lock_head(session)  # before reading states, as in record()
    stored = read_states(session, keys=keys)
    states: dict[tuple[int, str], StateRow] = dict(stored)
    changes: list[Transition] = []
    for plan in plans:
        key = (plan.subject.id, plan.purpose.id)
        change = transition(
            states.get(key),
            plan.kind,
            occurred_at=now,
            notice_hash=plan.shown,
            purpose_id=plan.purpose.id,
        )
        states[key] = StateRow(
            change.status,
            change.given_at,
            change.confirmed_at,
            change.notice_hash,
            plan.policy.number,
        )
        changes.append(change)
    owners = {plan.subject.id: plan.subject for plan in plans}
    # one query for all wrapped keys; held here so that data_key() finds them in the session
    loaded = session.scalars(select(SubjectKey).where(SubjectKey.subject_id.in_(owners))).all()
    data_keys = {
        owner_id: data_key(session, subject=owner, master=master)
        for owner_id, owner in owners.items()
    }
    del loaded
    events: list[ConsentEvent] = []
    final: dict[tuple[int, str], tuple[Transition, int, int]] = {}
    for offset, (plan, change) in enumerate(zip(plans, changes, strict=True)):
        sequence = last_sequence + 1 + offset
        sealed = encrypt(
            data_keys[plan.subject.id],
            proof_plaintext(plan.proof),
            context=proof_context(sequence),
        )
        event = _event(
            plan,
            change,
            sequence=sequence,
            prev_hash=prev_hash,
            sealed=sealed,
            occurred_at=now,
            actor=actor,
        )
        prev_hash = event.hash
        events.append(event)
        final[(plan.subject.id, plan.purpose.id)] = (change, plan.policy.number, sequence)
    session.execute(_APPEND, [_row(event) for event in events])
    session.execute(_MOVE_HEAD, {"new_sequence": events[-1].sequence, "new_hash": prev_hash})
    write_states(session, final, existing=stored.keys(), now=now)
    objected = {
        plan.subject.id: plan.subject
        for plan in plans
        if plan.kind is Action.OBJECTED and plan.purpose.is_direct_marketing
    }
    for subject in objected.values():
        suppress_subject(session, subject=subject, scope=DIRECT_MARKETING, clock=clock, actor=actor)
    recorded = [_recorded(plan, event.sequence) for plan, event in zip(plans, events, strict=True)]
    emit_many(session, recorded, actor=actor, clock=clock)
    return events
