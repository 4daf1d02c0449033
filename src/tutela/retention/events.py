"""Events of retention; the audit trail records each of them.

Sweeps target ``retention_run:<id>``, legal holds ``retention_hold:<id>``. Payloads
hold counts, rule names, store/table/column names and dates: never a value of a
swept row, an identity value or a held value. The reason a member of staff gives
for a hold travels as the entry's ``reason``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import ClassVar

from tutela.audit.events import DomainEvent

__all__ = [
    "HoldPlaced",
    "HoldReleased",
    "RuleSwept",
    "SweepFinished",
    "SweepStarted",
]


@dataclass(frozen=True, kw_only=True)
class _RunEvent(DomainEvent):
    run_id: int

    def target(self) -> str:
        return f"retention_run:{self.run_id}"


@dataclass(frozen=True, kw_only=True)
class SweepStarted(_RunEvent):
    action: ClassVar[str] = "retention.sweep_started"
    trigger: str
    as_of: dt.datetime
    policy_version: int
    rules: int
    chunk_size: int


@dataclass(frozen=True, kw_only=True)
class RuleSwept(_RunEvent):
    """One rule ended: what it found at the start and what it did (counts only)."""

    action: ClassVar[str] = "retention.rule_swept"
    rule: str
    store: str
    table: str
    status: str
    before: int
    rows_done: int
    after: int | None
    held_statutory: int
    held_until: dt.date | None
    held_legal: int
    referenced: int
    restricted: int


@dataclass(frozen=True, kw_only=True)
class SweepFinished(_RunEvent):
    action: ClassVar[str] = "retention.sweep_finished"
    status: str
    rules: int
    rows_done: int
    failed: int
    refused: int


@dataclass(frozen=True, kw_only=True)
class _HoldEvent(DomainEvent):
    hold_id: int

    def target(self) -> str:
        return f"retention_hold:{self.hold_id}"


@dataclass(frozen=True, kw_only=True)
class HoldPlaced(_HoldEvent):
    action: ClassVar[str] = "retention.hold_placed"
    kind: str
    subject_id: int | None
    store: str | None
    table: str | None
    column: str | None
    until: dt.date | None


@dataclass(frozen=True, kw_only=True)
class HoldReleased(_HoldEvent):
    action: ClassVar[str] = "retention.hold_released"
