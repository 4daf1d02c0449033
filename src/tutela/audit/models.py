"""Tables of the audit trail: the hash-chained entries and the one-row chain head."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, CheckConstraint, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from tutela.storage.base import Base, UTCDateTime

HASH_LENGTH = 64
ACTOR_LENGTH = 200
ACTION_LENGTH = 100
TARGET_LENGTH = 200


class AuditEntry(Base):
    """One recorded event; ``hash`` covers every field and the previous entry's hash."""

    __tablename__ = "audit_entries"

    sequence: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    occurred_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    actor: Mapped[str] = mapped_column(String(ACTOR_LENGTH))
    action: Mapped[str] = mapped_column(String(ACTION_LENGTH), index=True)
    target: Mapped[str] = mapped_column(String(TARGET_LENGTH), index=True)
    reason: Mapped[str | None] = mapped_column(Text)
    payload: Mapped[str] = mapped_column(Text)
    payload_digest: Mapped[str] = mapped_column(String(HASH_LENGTH))
    prev_hash: Mapped[str] = mapped_column(String(HASH_LENGTH))
    hash: Mapped[str] = mapped_column(String(HASH_LENGTH))

    def __repr__(self) -> str:
        return f"<AuditEntry {self.sequence} {self.action} {self.target!r}>"


class AuditHead(Base):
    """The last sequence and hash of the chain, updated with every append.

    Appends lock this row, which serialises them; ``verify`` compares it with the
    last entry, so deleting entries at the end of the chain is detected too.
    """

    __tablename__ = "audit_head"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_sequence: Mapped[int] = mapped_column(BigInteger)
    last_hash: Mapped[str] = mapped_column(String(HASH_LENGTH))
