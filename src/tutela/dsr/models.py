"""Tables of data-subject requests: lean bookkeeping, no plaintext personal data.

* ``dsr_requests`` — one row per request with its deadlines, status and outcome.
  The identity is kept as a blind index (for lookups and the rate limit) and,
  with the optional free text and contact, sealed under a key of the request's
  own (``wrapped_key``, wrapped by the master key): deleting that key shreds them.
* ``dsr_verifications`` — one row per verification attempt: the digest of the
  link token or code (never the secret), its expiry, attempts left and use.
* ``dsr_approvals`` — only when staff lower a request's required assurance:
  who asked, who approved (a different person, V-5).

The timeline of a request is the audit trail's entries for ``dsr:<id>``; no table
repeats it.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from tutela.dsr.terms import (
    Assurance,
    Channel,
    Jurisdiction,
    Method,
    Outcome,
    RequestType,
    Scope,
    Status,
)
from tutela.storage.base import Base, UTCDateTime
from tutela.subjects.identity import IdentityKind

REFERENCE_LENGTH = 24
TYPE_LENGTH = 24
SHORT_LENGTH = 24
LANGUAGE_LENGTH = 8
KIND_LENGTH = 16
INDEX_LENGTH = 64
DIGEST_LENGTH = 64
ACTOR_LENGTH = 200
FLAG_LENGTH = 32


def _one_of(values: list[str]) -> str:
    return ", ".join(f"'{value}'" for value in values)


TYPES = _one_of([t.value for t in RequestType])
JURISDICTIONS = _one_of([j.value for j in Jurisdiction])
CHANNELS = _one_of([c.value for c in Channel])
STATUSES = _one_of([s.value for s in Status])
ASSURANCES = _one_of([a.value for a in Assurance])
SCOPES = _one_of([s.value for s in Scope])
METHODS = _one_of([m.value for m in Method])
OUTCOMES = _one_of([o.value for o in Outcome])
KINDS = _one_of([k.value for k in IdentityKind])
CODE_OR_LINK = _one_of([Method.LINK.value, Method.CODE.value])


class DsrRequest(Base):
    """One data-subject request from receipt to its answer."""

    __tablename__ = "dsr_requests"
    __table_args__ = (
        CheckConstraint(f"request_type IN ({TYPES})", name="request_type"),
        CheckConstraint(f"jurisdiction IN ({JURISDICTIONS})", name="jurisdiction"),
        CheckConstraint(f"channel IN ({CHANNELS})", name="channel"),
        CheckConstraint(f"scope IN ({SCOPES})", name="scope"),
        CheckConstraint(f"status IN ({STATUSES})", name="status"),
        CheckConstraint(f"required_assurance IN ({ASSURANCES})", name="required_assurance"),
        CheckConstraint(f"identity_kind IN ({KINDS})", name="identity_kind"),
        CheckConstraint(f"verification_method IN ({METHODS})", name="verification_method"),
        CheckConstraint(f"outcome IN ({OUTCOMES})", name="outcome"),
        Index("ix_dsr_requests_status_legal_deadline", "status", "legal_deadline"),
        Index("ix_dsr_requests_identity", "identity_kind", "identity_index", "received_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str] = mapped_column(String(REFERENCE_LENGTH), unique=True)
    request_type: Mapped[str] = mapped_column(String(TYPE_LENGTH))
    jurisdiction: Mapped[str] = mapped_column(String(8))
    channel: Mapped[str] = mapped_column(String(16))
    scope: Mapped[str] = mapped_column(String(16))
    language: Mapped[str] = mapped_column(String(LANGUAGE_LENGTH))
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    legal_deadline: Mapped[dt.date] = mapped_column(Date)
    target_deadline: Mapped[dt.date] = mapped_column(Date)
    confirm_by: Mapped[dt.date | None] = mapped_column(Date)
    extended_until: Mapped[dt.date | None] = mapped_column(Date)
    extension_reason: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(SHORT_LENGTH))
    required_assurance: Mapped[str] = mapped_column(String(SHORT_LENGTH))
    subject_id: Mapped[int | None] = mapped_column(ForeignKey("subjects.id"), index=True)
    identity_kind: Mapped[str] = mapped_column(String(KIND_LENGTH))
    identity_index: Mapped[str] = mapped_column(String(INDEX_LENGTH))
    wrapped_key: Mapped[bytes | None] = mapped_column(LargeBinary)
    identity_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    details_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    flag: Mapped[str | None] = mapped_column(String(FLAG_LENGTH))
    created_by: Mapped[str] = mapped_column(String(ACTOR_LENGTH))
    verified_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    verification_method: Mapped[str | None] = mapped_column(String(SHORT_LENGTH))
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    outcome: Mapped[str | None] = mapped_column(String(SHORT_LENGTH))
    outcome_reason: Mapped[str | None] = mapped_column(Text)
    store_results: Mapped[str | None] = mapped_column(Text)
    """JSON of the last run per connected store (names, statuses, counts, holds, unhandled
    field names; never personal data), kept on the request instead of rows of its own."""
    last_error: Mapped[str | None] = mapped_column(Text)
    """Why the last fulfilment attempt did not finish (a store down …); cleared on success."""

    @property
    def due_on(self) -> dt.date:
        """The deadline in force: the extended one if the request was extended."""
        return self.extended_until or self.legal_deadline

    @property
    def is_open(self) -> bool:
        return self.closed_at is None

    def __repr__(self) -> str:
        return f"<DsrRequest {self.id} {self.reference} {self.request_type} {self.status}>"


class DsrVerification(Base):
    """One link or code sent to the channel on file; only the secret's digest is kept."""

    __tablename__ = "dsr_verifications"
    __table_args__ = (CheckConstraint(f"method IN ({CODE_OR_LINK})", name="method"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("dsr_requests.id", ondelete="CASCADE"), index=True
    )
    method: Mapped[str] = mapped_column(String(8))
    token_digest: Mapped[str] = mapped_column(String(DIGEST_LENGTH), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    attempts_left: Mapped[int] = mapped_column(Integer)
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    def __repr__(self) -> str:
        return f"<DsrVerification {self.id} request={self.request_id} {self.method}>"


class DsrApproval(Base):
    """Staff lowering a request's required assurance: asked by one, approved by another."""

    __tablename__ = "dsr_approvals"
    __table_args__ = (
        CheckConstraint(f"from_level IN ({ASSURANCES})", name="from_level"),
        CheckConstraint(f"to_level IN ({ASSURANCES})", name="to_level"),
        CheckConstraint("approved_by IS NULL OR approved_by <> requested_by", name="two_people"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("dsr_requests.id", ondelete="CASCADE"), index=True
    )
    from_level: Mapped[str] = mapped_column(String(SHORT_LENGTH))
    to_level: Mapped[str] = mapped_column(String(SHORT_LENGTH))
    reason: Mapped[str] = mapped_column(Text)
    requested_by: Mapped[int] = mapped_column(ForeignKey("staff_users.id"))
    requested_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    approved_by: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    approved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    def __repr__(self) -> str:
        return f"<DsrApproval {self.id} request={self.request_id} to={self.to_level}>"
