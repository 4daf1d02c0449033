"""Tables of the consent ledger, the current state per subject and purpose, and suppressions.

* ``consent_events`` is append-only and hash-chained (``consent_ledger_head`` keeps
  the end of the chain, as ``audit_head`` does for the trail). The proof of each
  event is stored only encrypted under the subject's data key.
* ``consent_state`` holds one row per subject and purpose, written in the same
  transaction as the event that changed it, so checks read one row.
* ``suppressions`` lists blind indexes of addresses that must never be used for a
  scope again (an objection to direct marketing); they outlive the subject.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from tutela.consent.terms import Action, Channel
from tutela.storage.base import Base, UTCDateTime
from tutela.subjects.identity import IdentityKind

HASH_LENGTH = 64
ACTOR_LENGTH = 200
PURPOSE_LENGTH = 64
ACTION_LENGTH = 16
CHANNEL_LENGTH = 32
LANGUAGE_LENGTH = 8
KIND_LENGTH = 16
INDEX_LENGTH = 64
SCOPE_LENGTH = 64
REASON_LENGTH = 32


def _one_of(values: list[str]) -> str:
    return ", ".join(f"'{value}'" for value in values)


ACTIONS = _one_of([a.value for a in Action])
CHANNELS = _one_of([c.value for c in Channel])
KINDS = _one_of([k.value for k in IdentityKind])


class ConsentEvent(Base):
    """One event of the ledger; ``hash`` covers every field and the previous event's hash."""

    __tablename__ = "consent_events"
    __table_args__ = (
        CheckConstraint(f"action IN ({ACTIONS})", name="action"),
        CheckConstraint(f"channel IN ({CHANNELS})", name="channel"),
    )

    sequence: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id"), index=True)
    purpose_id: Mapped[str] = mapped_column(String(PURPOSE_LENGTH))
    action: Mapped[str] = mapped_column(String(ACTION_LENGTH))
    occurred_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    channel: Mapped[str] = mapped_column(String(CHANNEL_LENGTH))
    policy_version: Mapped[int] = mapped_column(Integer)
    language: Mapped[str] = mapped_column(String(LANGUAGE_LENGTH))
    notice_hash: Mapped[str | None] = mapped_column(String(HASH_LENGTH))
    proof_ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    actor: Mapped[str] = mapped_column(String(ACTOR_LENGTH))
    prev_hash: Mapped[str] = mapped_column(String(HASH_LENGTH))
    hash: Mapped[str] = mapped_column(String(HASH_LENGTH))

    def __repr__(self) -> str:
        return (
            f"<ConsentEvent {self.sequence} subject={self.subject_id} "
            f"{self.purpose_id} {self.action}>"
        )


class ConsentLedgerHead(Base):
    """The last sequence and hash of the ledger, updated with every append.

    Appends lock this row, which serialises them; :func:`tutela.consent.verify_ledger`
    compares it with the last event, so removing events at the end is detected too.
    """

    __tablename__ = "consent_ledger_head"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_sequence: Mapped[int] = mapped_column(BigInteger)
    last_hash: Mapped[str] = mapped_column(String(HASH_LENGTH))


class ConsentState(Base):
    """Where one subject stands on one purpose, after the latest event."""

    __tablename__ = "consent_state"
    __table_args__ = (
        CheckConstraint(f"status IN ({ACTIONS})", name="status"),
        Index("ix_consent_state_purpose_id_status", "purpose_id", "status"),
    )

    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id"), primary_key=True)
    purpose_id: Mapped[str] = mapped_column(String(PURPOSE_LENGTH), primary_key=True)
    status: Mapped[str] = mapped_column(String(ACTION_LENGTH))
    given_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    confirmed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    notice_hash: Mapped[str | None] = mapped_column(String(HASH_LENGTH))
    policy_version: Mapped[int | None] = mapped_column(Integer)
    last_sequence: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    def __repr__(self) -> str:
        return f"<ConsentState subject={self.subject_id} {self.purpose_id} {self.status}>"


class Suppression(Base):
    """A blind-indexed address that must not be used for ``scope`` again.

    ``scope`` is ``direct_marketing`` (every direct-marketing purpose) or one
    purpose id. No row names the person: it survives their erasure by design.
    """

    __tablename__ = "suppressions"
    __table_args__ = (
        CheckConstraint(f"kind IN ({KINDS})", name="kind"),
        UniqueConstraint("kind", "blind_index", "scope"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(KIND_LENGTH))
    blind_index: Mapped[str] = mapped_column(String(INDEX_LENGTH))
    scope: Mapped[str] = mapped_column(String(SCOPE_LENGTH))
    reason: Mapped[str] = mapped_column(String(REASON_LENGTH))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    def __repr__(self) -> str:
        return f"<Suppression {self.id} {self.kind} {self.scope}>"
