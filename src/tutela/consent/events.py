"""Events of the consent domain; the audit trail records each of them.

They carry ids only (subject id, purpose id, ledger sequence, the kind of an
address): the proof and the addresses stay in the ledger, encrypted or indexed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from tutela.audit.events import DomainEvent


@dataclass(frozen=True, kw_only=True)
class ConsentRecorded(DomainEvent):
    """An event was appended to the consent ledger."""

    action: ClassVar[str] = "consent.recorded"
    sequence: int
    subject_id: int
    purpose_id: str
    consent_action: str
    channel: str
    policy_version: int

    def target(self) -> str:
        return f"subject:{self.subject_id}"


@dataclass(frozen=True, kw_only=True)
class AddressesSuppressed(DomainEvent):
    """Addresses of a subject were put on the suppression list for ``scope``."""

    action: ClassVar[str] = "consent.suppressed"
    subject_id: int | None
    scope: str
    kinds: tuple[str, ...]
    added: int

    def target(self) -> str:
        if self.subject_id is None:
            return f"suppression:{self.scope}"
        return f"subject:{self.subject_id}"


@dataclass(frozen=True, kw_only=True)
class SuppressionLifted(DomainEvent):
    """A suppression entry was removed by a deliberate staff decision."""

    action: ClassVar[str] = "consent.suppression_lifted"
    kind: str
    scope: str
    removed: int

    def target(self) -> str:
        return f"suppression:{self.kind}:{self.scope}"


@dataclass(frozen=True, kw_only=True)
class ReceiptsExported(DomainEvent):
    """A subject's receipts, with their decrypted proof, were handed out."""

    action: ClassVar[str] = "consent.receipts_exported"
    subject_id: int
    records: int

    def target(self) -> str:
        return f"subject:{self.subject_id}"
