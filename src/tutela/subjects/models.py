"""Tables for data subjects, their wrapped keys and their identities.

No table holds an identity in plaintext: ``subject_identities`` keeps a blind
index for lookups and the value encrypted under the subject's data key, and
``subject_keys`` keeps that data key only wrapped by the master key. Deleting a
subject's key row makes everything encrypted under it unreadable.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, ForeignKey, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tutela.storage.base import Base, UTCDateTime
from tutela.subjects.identity import IdentityKind

PUBLIC_ID_LENGTH = 32
KEY_ID_LENGTH = 64
KIND_LENGTH = 16
INDEX_LENGTH = 64

_KINDS = ", ".join(f"'{kind.value}'" for kind in IdentityKind)


class Subject(Base):
    """A person Tutela knows about; after erasure only this tombstone row remains."""

    __tablename__ = "subjects"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    public_id: Mapped[str] = mapped_column(String(PUBLIC_ID_LENGTH), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    erased_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)

    @property
    def erased(self) -> bool:
        return self.erased_at is not None

    def __repr__(self) -> str:
        state = " erased" if self.erased else ""
        return f"<Subject {self.id} {self.public_id}{state}>"


class SubjectKey(Base):
    """The subject's data key, wrapped by the master key and bound to ``key_id``."""

    __tablename__ = "subject_keys"

    subject_id: Mapped[int] = mapped_column(
        ForeignKey("subjects.id", ondelete="CASCADE"), primary_key=True
    )
    wrapped_key: Mapped[bytes] = mapped_column(LargeBinary)
    key_id: Mapped[str] = mapped_column(String(KEY_ID_LENGTH))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class SubjectIdentity(Base):
    """One identity of a subject: its blind index and its encrypted normalised value."""

    __tablename__ = "subject_identities"
    __table_args__ = (
        CheckConstraint(f"kind IN ({_KINDS})", name="kind"),
        UniqueConstraint("kind", "blind_index"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subject_id: Mapped[int] = mapped_column(
        ForeignKey("subjects.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(KIND_LENGTH))
    blind_index: Mapped[str] = mapped_column(String(INDEX_LENGTH))
    value_ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    def __repr__(self) -> str:
        return f"<SubjectIdentity {self.id} subject={self.subject_id} {self.kind}>"
