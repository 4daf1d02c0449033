"""Appending to the trail, reading it back, and verifying the stored chain."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Select, Table, bindparam, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tutela.audit.chain import (
    GENESIS_HASH,
    ChainChecker,
    ChainRecord,
    VerifyResult,
    canonical_json,
    entry_hash,
    sha256_hex,
    timestamp_text,
)
from tutela.audit.events import DomainEvent
from tutela.audit.models import (
    ACTION_LENGTH,
    ACTOR_LENGTH,
    TARGET_LENGTH,
    AuditEntry,
    AuditHead,
)
from tutela.clock import Clock
from tutela.errors import InvalidInput

HEAD_ID = 1
VERIFY_BATCH = 1000
ACTION_PATTERN = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")

_ENTRIES = cast(Table, AuditEntry.__table__)
_HEAD = cast(Table, AuditHead.__table__)
_APPEND = insert(_ENTRIES)
_BUMP = (
    update(_HEAD)
    .where(_HEAD.c.id == HEAD_ID)
    .values(last_sequence=_HEAD.c.last_sequence + bindparam("by"))
    .returning(_HEAD.c.last_sequence, _HEAD.c.last_hash)
)
_SET_HASH = update(_HEAD).where(_HEAD.c.id == HEAD_ID).values(last_hash=bindparam("new_hash"))


@dataclass(frozen=True, kw_only=True)
class ChainHead:
    """Where the chain ends; publish it elsewhere to anchor the trail."""

    last_sequence: int
    last_hash: str


def emit(
    session: Session,
    event: DomainEvent,
    *,
    actor: str,
    clock: Clock,
    reason: str | None = None,
) -> AuditEntry:
    """Append ``event`` to the trail inside the caller's transaction.

    The chain head row stays locked until the caller commits or rolls back, so
    concurrent appends queue behind each other and the chain never forks; emit
    late in a transaction to keep that window short. The returned entry is a
    snapshot of the stored row, not attached to ``session``.
    """
    return emit_many(session, [event], actor=actor, clock=clock, reason=reason)[0]


def emit_many(
    session: Session,
    events: Sequence[DomainEvent],
    *,
    actor: str,
    clock: Clock,
    reason: str | None = None,
) -> list[AuditEntry]:
    """Append ``events`` in order, as one run of the chain, inside the caller's transaction.

    Every event is checked before anything is written; the head moves once and
    the entries go in with one multi-row insert. Same locking as :func:`emit`.
    """
    if not events:
        return []
    checked = [_validated(event, actor=actor) for event in events]
    session.flush()  # pending rows of the caller go first, as with any ORM statement
    occurred_at = clock.now()
    occurred_text = timestamp_text(occurred_at)
    last_sequence, prev_hash = _advance_head(session, by=len(checked))
    sequence = last_sequence - len(checked)
    rows: list[dict[str, Any]] = []
    for action, target, payload in checked:
        sequence += 1
        digest = sha256_hex(payload)
        entry_value = entry_hash(
            sequence=sequence,
            occurred_at=occurred_text,
            actor=actor,
            action=action,
            target=target,
            reason=reason,
            payload_digest=digest,
            prev_hash=prev_hash,
        )
        rows.append(
            {
                "sequence": sequence,
                "occurred_at": occurred_at,
                "actor": actor,
                "action": action,
                "target": target,
                "reason": reason,
                "payload": payload,
                "payload_digest": digest,
                "prev_hash": prev_hash,
                "hash": entry_value,
            }
        )
        prev_hash = entry_value
    connection = session.connection()
    connection.execute(_APPEND, rows)
    connection.execute(_SET_HASH, {"new_hash": prev_hash})
    return [AuditEntry(**row) for row in rows]


def _validated(event: DomainEvent, *, actor: str) -> tuple[str, str, str]:
    name = type(event).__name__
    action = getattr(type(event), "action", None)
    if not isinstance(action, str) or not ACTION_PATTERN.match(action):
        raise InvalidInput(
            f"The event {name} has no valid 'action': set a class attribute such as "
            'action = "policy.published" (lower case words joined by dots).'
        )
    if len(action) > ACTION_LENGTH:
        raise InvalidInput(
            f"The action of {name} is longer than {ACTION_LENGTH} characters; shorten it."
        )
    if not actor.strip() or len(actor) > ACTOR_LENGTH:
        raise InvalidInput(
            f"The actor for {action} must be 1 to {ACTOR_LENGTH} characters, such as "
            "'staff:3' or 'system'; pass who caused the change."
        )
    target = event.target()
    if len(target) > TARGET_LENGTH:
        raise InvalidInput(
            f"The target of {action} is longer than {TARGET_LENGTH} characters; "
            "use a short reference such as 'subject:<id>'."
        )
    try:
        payload = canonical_json(event.payload())
    except (TypeError, ValueError) as exc:
        raise InvalidInput(
            f"The payload of {action} cannot be stored as JSON ({exc}); give {name} "
            "plain fields (text, numbers, dates, enums, lists, mappings)."
        ) from exc
    return action, target, payload


def _advance_head(session: Session, *, by: int = 1) -> tuple[int, str]:
    """Lock the head, reserve ``by`` sequences; return the last of them and the previous hash.

    The UPDATE comes first so that it takes the write lock (the row lock on
    PostgreSQL, the database lock on SQLite) before anything is read; RETURNING
    hands back the moved head in the same statement.
    """
    row = session.connection().execute(_BUMP, {"by": by}).one_or_none()
    if row is None:
        _create_head(session)
        row = session.execute(_BUMP, {"by": by}).one()
    return int(row.last_sequence), str(row.last_hash)


def _create_head(session: Session) -> None:
    """Create the head row where the schema was built without migrations."""
    try:
        with session.begin_nested():
            session.add(AuditHead(id=HEAD_ID, last_sequence=0, last_hash=GENESIS_HASH))
    except IntegrityError:
        pass  # another transaction created it first


def head(session: Session) -> ChainHead:
    """The recorded end of the chain (sequence 0 and the genesis hash when empty)."""
    row = session.execute(
        select(AuditHead.last_sequence, AuditHead.last_hash).where(AuditHead.id == HEAD_ID)
    ).one_or_none()
    if row is None:
        return ChainHead(last_sequence=0, last_hash=GENESIS_HASH)
    return ChainHead(last_sequence=int(row.last_sequence), last_hash=str(row.last_hash))


def entries(
    session: Session,
    *,
    limit: int = 50,
    offset: int = 0,
    action: str | None = None,
    target: str | None = None,
) -> list[AuditEntry]:
    """Entries newest first, optionally only one action or one target."""
    if limit < 1 or offset < 0:
        raise InvalidInput("limit must be at least 1 and offset at least 0.")
    query: Select[tuple[AuditEntry]] = select(AuditEntry)
    if action is not None:
        query = query.where(AuditEntry.action == action)
    if target is not None:
        query = query.where(AuditEntry.target == target)
    query = query.order_by(AuditEntry.sequence.desc()).limit(limit).offset(offset)
    return list(session.scalars(query))


def stored_records(session: Session, *, after: int = 0) -> list[ChainRecord]:
    """The next batch of stored entries after sequence ``after``, in order."""
    rows = session.execute(
        select(AuditEntry.__table__)
        .where(AuditEntry.sequence > after)
        .order_by(AuditEntry.sequence)
        .limit(VERIFY_BATCH)
    )
    return [
        ChainRecord(
            sequence=row.sequence,
            occurred_at=timestamp_text(row.occurred_at),
            actor=row.actor,
            action=row.action,
            target=row.target,
            reason=row.reason,
            payload=row.payload,
            payload_digest=row.payload_digest,
            prev_hash=row.prev_hash,
            hash=row.hash,
        )
        for row in rows
    ]


def _first_unreadable(session: Session, *, after: int) -> int:
    """The first entry after ``after`` whose stored values no longer load."""
    sequences = session.scalars(
        select(AuditEntry.sequence).where(AuditEntry.sequence > after).order_by(AuditEntry.sequence)
    )
    for sequence in sequences:
        try:
            _load_one(session, sequence)
        except (ValueError, TypeError, OverflowError):
            return sequence
    return after + 1


def _load_one(session: Session, sequence: int) -> None:
    session.execute(select(AuditEntry.__table__).where(AuditEntry.sequence == sequence)).one()


def verify(session: Session) -> VerifyResult:
    """Recompute every hash in order and compare the end with the chain head.

    Detects changed fields, removed, inserted or reordered entries and entries
    removed from the end. Appends committed while it runs are checked too.
    """
    checker = ChainChecker()
    lowest = session.execute(select(func.min(AuditEntry.sequence))).scalar()
    if lowest is not None and lowest < 1:
        checker.fail(lowest, f"entry {lowest} lies before the start of the chain (inserted)")
        return checker.result()
    while True:
        try:
            batch = stored_records(session, after=checker.last_sequence)
        except (ValueError, TypeError, OverflowError):
            bad = _first_unreadable(session, after=checker.last_sequence)
            checker.fail(bad, f"entry {bad} cannot be read: a stored value was altered")
            return checker.result()
        for record in batch:
            if not checker.feed(record):
                return checker.result()
        if len(batch) == VERIFY_BATCH:
            continue
        recorded = session.execute(
            select(AuditHead.last_sequence, AuditHead.last_hash).where(AuditHead.id == HEAD_ID)
        ).one_or_none()
        if recorded is None:
            if checker.checked:
                checker.fail(
                    checker.last_sequence,
                    "the chain head record is missing; the end of the chain cannot be checked",
                )
            return checker.result()
        if recorded.last_sequence > checker.last_sequence and stored_records(
            session, after=checker.last_sequence
        ):
            continue  # entries committed meanwhile
        checker.check_head(last_sequence=recorded.last_sequence, last_hash=recorded.last_hash)
        return checker.result()
