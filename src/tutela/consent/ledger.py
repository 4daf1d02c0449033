"""The consent ledger: append events with their proof, keep the state, verify the chain.

Every event is one row of ``consent_events``, never changed afterwards. Its
hash uses the audit trail's chain format (:mod:`tutela.audit.chain`), with

* ``action`` = ``consent.<action>``, ``target`` = ``subject:<subject id>``,
  ``reason`` = null, and
* ``payload`` = the canonical JSON of ``{purpose, channel, policy_version,
  language, notice_hash, proof_digest}``, where ``proof_digest`` is the SHA-256
  of the encrypted proof,

so the same checker verifies both chains and any change to a stored field, a
removed, inserted or reordered row breaks it. ``consent_ledger_head`` keeps the
end of the chain; appends lock it, which serialises them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Any, Protocol, cast

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tutela.audit.chain import (
    GENESIS_HASH,
    ChainChecker,
    ChainRecord,
    VerifyResult,
    canonical_json,
    record_hash,
    sha256_hex,
    timestamp_text,
)
from tutela.audit.trail import emit
from tutela.clock import Clock
from tutela.consent.declarations import (
    CurrentPolicy,
    current_policy,
    policy_version,
    purpose_of,
)
from tutela.consent.events import ConsentRecorded
from tutela.consent.models import ACTOR_LENGTH, ConsentEvent, ConsentLedgerHead
from tutela.consent.notice import notice_hash as text_hash
from tutela.consent.proof import Proof, proof_context, proof_plaintext
from tutela.consent.state import (
    Transition,
    read_state,
    transition,
    write_state,
)
from tutela.consent.suppression import suppress_subject
from tutela.consent.terms import DIRECT_MARKETING, Action, parse_action
from tutela.crypto import MasterKey
from tutela.errors import InvalidInput, NotFound
from tutela.policy.models import Purpose
from tutela.subjects import Subject, SubjectErased, decrypt_for, encrypt_for

__all__ = [
    "HEAD_ID",
    "LedgerItem",
    "events_of",
    "ledger_head",
    "open_proof",
    "record",
    "verify_ledger",
]

HEAD_ID = 1
VERIFY_BATCH = 1000
_DEFAULT_HASH_ACTIONS = (Action.GIVEN, Action.REFUSED)


class EventFields(Protocol):
    """What the chain covers of an event (an ORM object or a plain row)."""

    sequence: int
    subject_id: int
    purpose_id: str
    action: str
    occurred_at: dt.datetime
    channel: str
    policy_version: int
    language: str
    notice_hash: str | None
    proof_ciphertext: bytes
    actor: str
    prev_hash: str
    hash: str


def chain_record(event: EventFields) -> ChainRecord:
    """The event as a record of the audit chain format (see the module text)."""
    payload = canonical_json(
        {
            "purpose": event.purpose_id,
            "channel": event.channel,
            "policy_version": event.policy_version,
            "language": event.language,
            "notice_hash": event.notice_hash,
            "proof_digest": hashlib.sha256(event.proof_ciphertext).hexdigest(),
        }
    )
    return ChainRecord(
        sequence=event.sequence,
        occurred_at=timestamp_text(event.occurred_at),
        actor=event.actor,
        action=f"consent.{event.action}",
        target=f"subject:{event.subject_id}",
        reason=None,
        payload=payload,
        payload_digest=sha256_hex(payload),
        prev_hash=event.prev_hash,
        hash=event.hash,
    )


_EVENTS = cast(Table, ConsentEvent.__table__)
_HEAD = cast(Table, ConsentLedgerHead.__table__)


_LOCK_HEAD = (
    select(_HEAD.c.last_sequence, _HEAD.c.last_hash).where(_HEAD.c.id == HEAD_ID).with_for_update()
)
_MOVE_HEAD = (
    update(_HEAD)
    .where(_HEAD.c.id == HEAD_ID)
    .values(last_sequence=bindparam("new_sequence"), last_hash=bindparam("new_hash"))
)
_APPEND = insert(_EVENTS)


def _lock_head(session: Session) -> tuple[int, str]:
    """Lock the head row (creating it where the schema was built without migrations)."""
    query = _LOCK_HEAD
    row = session.connection().execute(query).one_or_none()
    if row is None:
        try:
            with session.begin_nested():
                session.add(ConsentLedgerHead(id=HEAD_ID, last_sequence=0, last_hash=GENESIS_HASH))
        except IntegrityError:
            pass  # another transaction created it first
        row = session.execute(query).one()
    return int(row.last_sequence), str(row.last_hash)


def _policy_for(session: Session, proof: Proof, *, clock: Clock) -> CurrentPolicy:
    if proof.policy_version is None:
        return current_policy(session, clock=clock)
    shown = policy_version(session, proof.policy_version)
    if shown is None:
        raise NotFound(
            f"policy_version: version {proof.policy_version} has not been published; send the "
            "number of the version whose text was shown, or leave it out.",
            field="policy_version",
        )
    return shown


def _check_actor(actor: str) -> None:
    if not actor.strip() or len(actor) > ACTOR_LENGTH:
        raise InvalidInput(
            f"actor: name who records the event in 1 to {ACTOR_LENGTH} characters, such as "
            "'api:<key prefix>' or 'staff:3'.",
            field="actor",
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class LedgerItem:
    """One event for :func:`record_many`: who, which purpose, what happened, the proof."""

    subject: Subject
    purpose_id: str
    action: Action | str
    proof: Proof


@dataclass(frozen=True, slots=True)
class _Plan:
    """An event checked against the declaration, before anything is written."""

    subject: Subject
    kind: Action
    proof: Proof
    policy: CurrentPolicy
    purpose: Purpose
    shown: str | None


def _plan(
    session: Session, item: LedgerItem, *, clock: Clock, policy: CurrentPolicy | None
) -> _Plan:
    kind = parse_action(str(item.action))
    checked = item.proof.checked()
    subject = item.subject
    if subject.erased_at is not None:
        raise SubjectErased(
            f"Subject {subject.public_id} was erased; nothing more can be recorded for it.",
            subject=subject.public_id,
        )
    policy = policy if policy is not None else _policy_for(session, checked, clock=clock)
    purpose = purpose_of(policy, item.purpose_id)
    shown = checked.notice_hash
    if shown is None and kind in _DEFAULT_HASH_ACTIONS:
        shown = text_hash(purpose, checked.language)
    return _Plan(subject, kind, checked, policy, purpose, shown)


def _event(
    plan: _Plan, change: Transition, *, sequence: int, prev_hash: str, sealed: bytes, **common: Any
) -> ConsentEvent:
    """The event row with its chain hash (``common``: ``occurred_at`` and ``actor``)."""
    kind = plan.kind
    event = ConsentEvent(
        sequence=sequence,
        subject_id=plan.subject.id,
        purpose_id=plan.purpose.id,
        action=kind.value,
        channel=str(plan.proof.channel),
        policy_version=plan.policy.number,
        language=plan.proof.language,
        notice_hash=change.notice_hash if kind is Action.CONFIRMED else plan.shown,
        proof_ciphertext=sealed,
        prev_hash=prev_hash,
        hash="",
        **common,
    )
    event.hash = record_hash(chain_record(event))
    return event


def _row(event: ConsentEvent) -> dict[str, Any]:
    return {column.key: getattr(event, column.key) for column in _EVENTS.columns}


def _recorded(plan: _Plan, sequence: int) -> ConsentRecorded:
    return ConsentRecorded(
        sequence=sequence,
        subject_id=plan.subject.id,
        purpose_id=plan.purpose.id,
        consent_action=plan.kind.value,
        channel=str(plan.proof.channel),
        policy_version=plan.policy.number,
    )


def record(
    session: Session,
    *,
    subject: Subject,
    purpose_id: str,
    action: Action | str,
    proof: Proof,
    master: MasterKey,
    clock: Clock,
    actor: str,
    policy: CurrentPolicy | None = None,
) -> ConsentEvent:
    """Append one event for ``subject`` and ``purpose_id`` and update the state with it.

    Runs in the caller's transaction: the event, the state row, any suppression
    and the audit entry commit together or not at all. The purpose must exist
    in the version in effect (``policy``, looked up when not given), which is
    recorded with the event (or the version named in ``proof.policy_version``,
    whose text was shown). A grant or refusal without ``notice_hash`` is
    recorded against the purpose's current text in ``proof.language``. An
    objection to a direct-marketing purpose also puts all of the subject's
    addresses on the suppression list.

    The returned event is a snapshot of the stored row, not attached to ``session``.
    """
    item = LedgerItem(subject=subject, purpose_id=purpose_id, action=action, proof=proof)
    plan = _plan(session, item, clock=clock, policy=policy)
    _check_actor(actor)
    now = clock.now()
    purpose = plan.purpose
    # Lock the chain head BEFORE reading the state: a concurrent withdrawal then commits
    # first and is seen here (PostgreSQL reads committed data per statement).
    last_sequence, prev_hash = _lock_head(session)
    current = read_state(session, subject_id=subject.id, purpose_id=purpose.id)
    change = transition(
        current, plan.kind, occurred_at=now, notice_hash=plan.shown, purpose_id=purpose.id
    )
    sequence = last_sequence + 1
    sealed = encrypt_for(
        session,
        subject=subject,
        master=master,
        plaintext=proof_plaintext(plan.proof),
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
    connection = session.connection()
    connection.execute(_APPEND, _row(event))
    connection.execute(_MOVE_HEAD, {"new_sequence": sequence, "new_hash": event.hash})
    write_state(
        session,
        change,
        exists=current is not None,
        subject_id=subject.id,
        purpose_id=purpose.id,
        policy_version=plan.policy.number,
        sequence=sequence,
        now=now,
    )
    if plan.kind is Action.OBJECTED and purpose.is_direct_marketing:
        suppress_subject(session, subject=subject, scope=DIRECT_MARKETING, clock=clock, actor=actor)
    emit(session, _recorded(plan, sequence), actor=actor, clock=clock)
    return event


def events_of(session: Session, *, subject: Subject) -> list[ConsentEvent]:
    """Every ledger event of ``subject``, oldest first."""
    return list(
        session.scalars(
            select(ConsentEvent)
            .where(ConsentEvent.subject_id == subject.id)
            .order_by(ConsentEvent.sequence)
        )
    )


def open_proof(
    session: Session, *, event: ConsentEvent, subject: Subject, master: MasterKey
) -> dict[str, Any] | None:
    """The decrypted proof of ``event``, or ``None`` once the subject was erased."""
    try:
        plain = decrypt_for(
            session,
            subject=subject,
            master=master,
            blob=event.proof_ciphertext,
            context=proof_context(event.sequence),
        )
    except SubjectErased:
        return None
    document: dict[str, Any] = json.loads(plain)
    return document


def ledger_head(session: Session) -> tuple[int, str]:
    """The recorded end of the ledger: last sequence and hash (0 and genesis when empty)."""
    row = session.execute(
        select(ConsentLedgerHead.last_sequence, ConsentLedgerHead.last_hash).where(
            ConsentLedgerHead.id == HEAD_ID
        )
    ).one_or_none()
    if row is None:
        return 0, GENESIS_HASH
    return int(row.last_sequence), str(row.last_hash)


def _batch(session: Session, *, after: int) -> list[ChainRecord]:
    table = ConsentEvent.__table__
    rows = session.execute(
        select(table).where(table.c.sequence > after).order_by(table.c.sequence).limit(VERIFY_BATCH)
    )
    return [chain_record(row) for row in rows]


def verify_ledger(session: Session) -> VerifyResult:
    """Recompute every hash in order and compare the end with the ledger head.

    Detects changed fields, removed, inserted or reordered events and events
    removed from the end. Events committed while it runs are checked too.
    """
    checker = ChainChecker()
    while True:
        batch = _batch(session, after=checker.last_sequence)
        for item in batch:
            if not checker.feed(item):
                return checker.result()
        if len(batch) == VERIFY_BATCH:
            continue
        recorded = session.execute(
            select(ConsentLedgerHead.last_sequence, ConsentLedgerHead.last_hash).where(
                ConsentLedgerHead.id == HEAD_ID
            )
        ).one_or_none()
        if recorded is None:
            if checker.checked:
                checker.fail(
                    checker.last_sequence,
                    "the ledger head record is missing; the end of the ledger cannot be checked",
                )
            return checker.result()
        if recorded.last_sequence > checker.last_sequence and _batch(
            session, after=checker.last_sequence
        ):
            continue  # events committed meanwhile
        checker.check_head(last_sequence=recorded.last_sequence, last_hash=recorded.last_hash)
        return checker.result()
