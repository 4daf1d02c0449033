"""Events of outbound mail; the audit trail records each of them.

Events name the recipient by subject id and the message by its Message-ID
(random, no personal data); addresses, subjects and bodies never enter the trail.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from tutela.audit.events import DomainEvent


@dataclass(frozen=True, kw_only=True)
class MailSent(DomainEvent):
    """A queued mail was handed to the mail server (or written to the outbox)."""

    action: ClassVar[str] = "mail.sent"
    job_id: int
    recipient_id: int
    message_id: str
    category: str

    def target(self) -> str:
        return f"subject:{self.recipient_id}"


@dataclass(frozen=True, kw_only=True)
class MailDiscarded(DomainEvent):
    """A queued mail was dropped unsent because its recipient was erased meanwhile."""

    action: ClassVar[str] = "mail.discarded"
    job_id: int
    recipient_id: int
    message_id: str

    def target(self) -> str:
        return f"subject:{self.recipient_id}"
