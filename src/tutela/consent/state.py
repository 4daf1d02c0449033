"""The current state per subject and purpose, and how each ledger action changes it.

* ``given``: a new grant; its age counts from now. A confirmation survives only
  if the previous state was confirmed for the same notice text (a repeated
  sign-up does not undo a confirmed subscription; a grant to a new text must be
  confirmed again where double opt-in applies).
* ``confirmed``: needs a pending or confirmed grant; the first confirmation
  time is kept.
* ``refused``, ``withdrawn``, ``objected``, ``expired``: the grant ends.

Rows are read and written with plain statements (no ORM unit of work), which
keeps :func:`tutela.consent.record` cheap; a state object the session already
holds is expired so that it reloads.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import cast

from sqlalchemy import Table, bindparam, insert, select, tuple_, update
from sqlalchemy.orm import Session

from tutela.consent.models import ConsentState
from tutela.consent.rules import StateRow
from tutela.consent.terms import Action
from tutela.errors import Conflict

__all__ = [
    "Transition",
    "read_state",
    "read_states",
    "transition",
    "write_state",
    "write_states",
]

_GRANTED = frozenset({Action.GIVEN.value, Action.CONFIRMED.value})
_TABLE = cast(Table, ConsentState.__table__)


@dataclass(frozen=True, slots=True)
class Transition:
    """The new values of a state row after one event."""

    status: str
    given_at: dt.datetime | None
    confirmed_at: dt.datetime | None
    notice_hash: str | None


_KEY = (_TABLE.c.subject_id == bindparam("key_subject")) & (
    _TABLE.c.purpose_id == bindparam("key_purpose")
)
_READ = select(
    _TABLE.c.status,
    _TABLE.c.given_at,
    _TABLE.c.confirmed_at,
    _TABLE.c.notice_hash,
    _TABLE.c.policy_version,
).where(_KEY)
_UPDATE = update(_TABLE).where(_KEY)
_INSERT = insert(_TABLE)
_READ_CHUNK = 500


def read_state(session: Session, *, subject_id: int, purpose_id: str) -> StateRow | None:
    """The stored state, read from the database (never from the session's cache)."""
    row = (
        session.connection()
        .execute(_READ, {"key_subject": subject_id, "key_purpose": purpose_id})
        .first()
    )
    return None if row is None else StateRow(*row)


def transition(
    current: StateRow | None,
    action: Action,
    *,
    occurred_at: dt.datetime,
    notice_hash: str | None,
    purpose_id: str,
) -> Transition:
    """What ``action`` makes of ``current``; :class:`Conflict` for a confirmation without grant."""
    if action is Action.GIVEN:
        keeps = (
            current is not None
            and current.status == Action.CONFIRMED.value
            and current.notice_hash == notice_hash
        )
        confirmed_at = current.confirmed_at if keeps and current is not None else None
        status = Action.CONFIRMED.value if confirmed_at is not None else Action.GIVEN.value
        return Transition(status, occurred_at, confirmed_at, notice_hash)
    if action is Action.CONFIRMED:
        if current is None or current.status not in _GRANTED:
            raise Conflict(
                f"action: there is no pending grant for purpose {purpose_id!r} to confirm; "
                "record 'given' first (the sign-up), then 'confirmed'.",
                field="action",
            )
        return Transition(
            Action.CONFIRMED.value,
            current.given_at,
            current.confirmed_at or occurred_at,
            current.notice_hash,
        )
    return Transition(action.value, None, None, notice_hash)


def write_state(
    session: Session,
    change: Transition,
    *,
    exists: bool,
    subject_id: int,
    purpose_id: str,
    policy_version: int,
    sequence: int,
    now: dt.datetime,
) -> None:
    """Store ``change`` (updating the row when ``exists``) in the caller's transaction."""
    values: dict[str, object] = {
        "status": change.status,
        "given_at": change.given_at,
        "confirmed_at": change.confirmed_at,
        "notice_hash": change.notice_hash,
        "policy_version": policy_version,
        "last_sequence": sequence,
        "updated_at": now,
    }
    if exists:
        session.connection().execute(
            _UPDATE, {"key_subject": subject_id, "key_purpose": purpose_id, **values}
        )
        held = session.identity_map.get(
            session.identity_key(ConsentState, (subject_id, purpose_id))
        )
        if held is not None:
            session.expire(held)
    else:
        session.connection().execute(
            _INSERT, {"subject_id": subject_id, "purpose_id": purpose_id, **values}
        )


def read_states(
    session: Session, *, keys: Collection[tuple[int, str]]
) -> dict[tuple[int, str], StateRow]:
    """The stored states of many (subject id, purpose id) pairs, in one query per 500 pairs."""
    found: dict[tuple[int, str], StateRow] = {}
    pending = list(keys)
    for start in range(0, len(pending), _READ_CHUNK):
        chunk = pending[start : start + _READ_CHUNK]
        rows = session.execute(
            select(_TABLE.c.subject_id, _TABLE.c.purpose_id, *_READ.selected_columns).where(
                tuple_(_TABLE.c.subject_id, _TABLE.c.purpose_id).in_(chunk)
            )
        )
        for row in rows:
            found[(int(row[0]), str(row[1]))] = StateRow(*row[2:])
    return found


def write_states(
    session: Session,
    changes: Mapping[tuple[int, str], tuple[Transition, int, int]],
    *,
    existing: Collection[tuple[int, str]],
    now: dt.datetime,
) -> None:
    """Store many changes at once: ``(change, policy version, sequence)`` per pair."""
    updates: list[dict[str, object]] = []
    inserts: list[dict[str, object]] = []
    for (subject_id, purpose_id), (change, version, sequence) in changes.items():
        values: dict[str, object] = {
            "status": change.status,
            "given_at": change.given_at,
            "confirmed_at": change.confirmed_at,
            "notice_hash": change.notice_hash,
            "policy_version": version,
            "last_sequence": sequence,
            "updated_at": now,
        }
        if (subject_id, purpose_id) in existing:
            updates.append({"key_subject": subject_id, "key_purpose": purpose_id, **values})
            held = session.identity_map.get(
                session.identity_key(ConsentState, (subject_id, purpose_id))
            )
            if held is not None:
                session.expire(held)
        else:
            inserts.append({"subject_id": subject_id, "purpose_id": purpose_id, **values})
    if updates:
        session.execute(_UPDATE, updates)
    if inserts:
        session.execute(_INSERT, inserts)
