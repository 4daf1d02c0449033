"""Events of policy-change notices; the audit trail records each of them.

They carry counts, dates and version numbers only: never an address, a subject
or a language of one person.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar

from tutela.audit.events import DomainEvent


@dataclass(frozen=True, kw_only=True)
class NoticesQueued(DomainEvent):
    """Every recipient of a version's notice was found and queued (counts per source)."""

    action: ClassVar[str] = "notices.queued"
    version: int
    previous: int | None
    effective_on: dt.date
    send_by: dt.date
    recipients: int
    by_source: Mapping[str, int] = field(default_factory=dict)
    by_language: Mapping[str, int] = field(default_factory=dict)

    def target(self) -> str:
        return f"policy_version:{self.version}"


@dataclass(frozen=True, kw_only=True)
class NoticesLate(DomainEvent):
    """Notices for a version cannot all reach people by ``send_by``.

    ``refused``: the notices were not queued at all (too late to queue);
    ``accepted``: an operator queued them anyway, knowingly late; otherwise
    ``pending`` deliveries were still open when the day passed.
    """

    action: ClassVar[str] = "notices.late"
    version: int
    effective_on: dt.date
    send_by: dt.date
    today: dt.date
    refused: bool = False
    accepted: bool = False
    pending: int = 0

    def target(self) -> str:
        return f"policy_version:{self.version}"


@dataclass(frozen=True, kw_only=True)
class NoticesFinished(DomainEvent):
    """No delivery of a version's notice is open any more (counts per outcome)."""

    action: ClassVar[str] = "notices.finished"
    version: int
    sent: int
    failed: int
    bounced: int
    dropped: int
    sent_late: int
    send_by: dt.date

    def target(self) -> str:
        return f"policy_version:{self.version}"


@dataclass(frozen=True, kw_only=True)
class NoticesCancelled(DomainEvent):
    """A version's notices were stopped: it was replaced before it took effect
    (``superseded``, by ``replaced_by``) or took effect while some were open
    (``in_effect``). ``cancelled`` deliveries will not go out, ``sent`` went out
    before, ``in_flight`` were being sent at that moment (their outcome is kept).
    """

    action: ClassVar[str] = "notices.cancelled"
    version: int
    reason: str
    replaced_by: int | None
    cancelled: int
    sent: int
    in_flight: int

    def target(self) -> str:
        return f"policy_version:{self.version}"


@dataclass(frozen=True, kw_only=True)
class NoticesSourceSkipped(DomainEvent):
    """An audience table could not be read; its account holders were not told.

    ``reason`` is a fixed sentence naming the table and what to change; the other
    tables are read and told as usual.
    """

    action: ClassVar[str] = "notices.source_skipped"
    version: int
    source: str
    reason: str

    def target(self) -> str:
        return f"policy_version:{self.version}"
