"""Events of the policy domain; the audit trail records each of them.

Events name a version by number and digest only: the declaration itself is in
the version table, and no event carries personal data.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import ClassVar

from tutela.audit.events import DomainEvent


@dataclass(frozen=True, kw_only=True)
class PolicyPublished(DomainEvent):
    """A declaration version was published; it takes effect on ``effective_at``."""

    action: ClassVar[str] = "policy.published"
    number: int
    content_hash: str
    effective_at: dt.date
    notice_on: dt.date
    previous: int | None = None

    def target(self) -> str:
        return f"policy_version:{self.number}"
