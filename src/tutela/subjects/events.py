"""Events of the subjects domain; the audit trail records each of them.

Events name a subject by its database id and an identity only by its kind:
the values themselves (addresses, numbers) never enter the trail.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from tutela.audit.events import DomainEvent


@dataclass(frozen=True, kw_only=True)
class SubjectCreated(DomainEvent):
    """A subject was created with its first identity and its own data key."""

    action: ClassVar[str] = "subject.created"
    subject_id: int
    kind: str

    def target(self) -> str:
        return f"subject:{self.subject_id}"


@dataclass(frozen=True, kw_only=True)
class IdentityAdded(DomainEvent):
    """A further identity of ``kind`` was bound to the subject."""

    action: ClassVar[str] = "subject.identity_added"
    subject_id: int
    kind: str

    def target(self) -> str:
        return f"subject:{self.subject_id}"


@dataclass(frozen=True, kw_only=True)
class SubjectErasure(DomainEvent):
    """The subject's key and identities were destroyed (crypto-shredding)."""

    action: ClassVar[str] = "subject.erased"
    subject_id: int
    identities_removed: int
    kinds: tuple[str, ...]

    def target(self) -> str:
        return f"subject:{self.subject_id}"
