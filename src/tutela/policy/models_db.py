"""The table of published declaration versions.

A row is written once, by :func:`tutela.policy.versions.publish`, and never
changed: the migration adds database triggers that refuse ``UPDATE`` and
``DELETE`` on both engines, so a published version stays what subjects were told.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, Date, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from tutela.policy.models import Declaration
from tutela.storage.base import Base, UTCDateTime

HASH_LENGTH = 64
ACTOR_LENGTH = 200


class PolicyVersion(Base):
    """One published, immutable version of the declaration.

    ``document`` is the canonical JSON the ``content_hash`` covers; ``source_text``
    is the YAML as it was published, kept for reference only.
    """

    __tablename__ = "policy_versions"
    __table_args__ = (CheckConstraint("number >= 1", name="number_positive"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[int] = mapped_column(Integer, unique=True)
    content_hash: Mapped[str] = mapped_column(String(HASH_LENGTH))
    document: Mapped[str] = mapped_column(Text)
    source_text: Mapped[str] = mapped_column(Text)
    published_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    effective_at: Mapped[dt.date] = mapped_column(Date, index=True)
    notice_on: Mapped[dt.date] = mapped_column(Date)
    published_by: Mapped[str] = mapped_column(String(ACTOR_LENGTH))
    note: Mapped[str | None] = mapped_column(Text)

    def declaration(self) -> Declaration:
        """The declaration of this version, validated again from the stored JSON."""
        return Declaration.model_validate_json(self.document)

    def __repr__(self) -> str:
        return f"<PolicyVersion {self.number} {self.content_hash[:12]} from {self.effective_at}>"
