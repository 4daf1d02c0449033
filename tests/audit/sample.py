"""Sample events and a chain builder shared by the audit tests."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, ClassVar

from sqlalchemy.orm import Session

from tutela.audit import AuditEntry, DomainEvent, emit
from tutela.clock import FrozenClock

START = dt.datetime(2024, 5, 6, 10, 0, 0, 123456, tzinfo=dt.UTC)


@dataclass(frozen=True, kw_only=True)
class SampleRecorded(DomainEvent):
    action: ClassVar[str] = "sample.recorded"
    ref: str
    data: dict[str, Any] = field(default_factory=dict)

    def target(self) -> str:
        return f"sample:{self.ref}"


def build_chain(session: Session, count: int, *, clock: FrozenClock | None = None) -> None:
    """Append ``count`` varied entries one second apart (the caller commits)."""
    clock = clock or FrozenClock(START)
    for number in range(1, count + 1):
        emit(
            session,
            SampleRecorded(ref=str(number), data={"n": number, "tag": f"t{number % 3}"}),
            actor=f"staff:{number % 2 + 1}",
            clock=clock,
            reason=None if number % 2 else f"reason {number}",
        )
        clock.advance(dt.timedelta(seconds=1))


def stored(session: Session, sequence: int) -> AuditEntry:
    entry = session.get(AuditEntry, sequence, populate_existing=True)
    assert entry is not None
    return entry
