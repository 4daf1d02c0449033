"""Tables of retention: sweep runs, their per-rule checkpoints, and legal holds.

* :class:`SweepRun` — one sweep: when it started, the moment its cutoffs are
  computed from (``as_of``, fixed for the whole run so that a resumed run ends in
  the same state), the declaration version its rules come from, and how it ended.
  At most one run is ``running`` at a time (a partial unique index on both databases).
* :class:`SweepStep` — the checkpoint of one rule in one run (one per rule): the counts taken when
  the rule started (before), the last primary key a committed chunk reached, the
  rows done so far, and the counts at the end (after). Written in Tutela's database
  after the store's chunk committed.
* :class:`LegalHold` — a manual hold that keeps rows out of every sweep: per person
  (a Tutela subject, found by blind index; no identity value is stored here) or per
  record set (one column of one table equal to a value or within a range). A record
  set is never named by a column the dataset declares personal or identifying (those
  are refused: hold the person instead), so its value is a number, a date or a code,
  not a person's data.

Runs and steps hold counts, rule, table and column names only: never a value of a
swept row.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from tutela.storage.base import Base, UTCDateTime

__all__ = [
    "HoldKind",
    "LegalHold",
    "RunStatus",
    "StepStatus",
    "SweepRun",
    "SweepStep",
    "Trigger",
]

RUNNING_ONLY = text("status = 'running'")
NAME_LENGTH = 128
RULE_LENGTH = 300
ACTOR_LENGTH = 200


class Trigger(StrEnum):
    MANUAL = "manual"
    SCHEDULE = "schedule"


class RunStatus(StrEnum):
    RUNNING = "running"
    DONE = "done"
    """Every rule ran to its end."""
    ERRORS = "errors"
    """Finished, but a rule failed or was refused (see its step)."""


class StepStatus(StrEnum):
    RUNNING = "running"
    DONE = "done"
    REFUSED = "refused"
    """The rule would erase every row, or at least 90 % and more than 1,000 rows, of its
    table and was not confirmed."""
    SKIPPED = "skipped"
    """Nothing to do: no period declared, or no field the rule may change."""
    FAILED = "failed"


class HoldKind(StrEnum):
    SUBJECT = "subject"
    RECORDS = "records"


class SweepRun(Base):
    __tablename__ = "retention_runs"
    __table_args__ = (
        Index(
            "uq_retention_runs_running",
            "status",
            unique=True,
            sqlite_where=RUNNING_ONLY,
            postgresql_where=RUNNING_ONLY,
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    trigger: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(ACTOR_LENGTH))
    status: Mapped[str] = mapped_column(String(16), index=True)
    as_of: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    policy_version: Mapped[int] = mapped_column(Integer)
    chunk_size: Mapped[int] = mapped_column(Integer)
    confirmed: Mapped[str] = mapped_column(Text, default="[]")
    """JSON list of ``store.table`` whose rules may erase every or almost every row."""
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    error: Mapped[str | None] = mapped_column(Text)

    def __repr__(self) -> str:
        return f"<SweepRun {self.id} {self.status} as of {self.as_of.isoformat()}>"


class SweepStep(Base):
    __tablename__ = "retention_steps"
    __table_args__ = (UniqueConstraint("run_id", "rule"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("retention_runs.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    rule: Mapped[str] = mapped_column(String(RULE_LENGTH))
    store: Mapped[str] = mapped_column(String(NAME_LENGTH))
    table_name: Mapped[str] = mapped_column(String(NAME_LENGTH))
    action: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    total: Mapped[int] = mapped_column(Integer, default=0)
    before: Mapped[int] = mapped_column(Integer, default=0)
    """Rows the rule would erase when it started (expired, not held, not referenced)."""
    held_statutory: Mapped[int] = mapped_column(Integer, default=0)
    held_until: Mapped[dt.date | None] = mapped_column(Date)
    held_legal: Mapped[int] = mapped_column(Integer, default=0)
    referenced: Mapped[int] = mapped_column(Integer, default=0)
    undated: Mapped[int] = mapped_column(Integer, default=0)
    last_key: Mapped[str | None] = mapped_column(Text)
    """JSON list: the primary key the last committed chunk ended at."""
    rows_done: Mapped[int] = mapped_column(Integer, default=0)
    chunks: Mapped[int] = mapped_column(Integer, default=0)
    restricted: Mapped[int] = mapped_column(Integer, default=0)
    after: Mapped[int | None] = mapped_column(Integer)
    """Rows the rule would still erase when it ended (0 unless something failed)."""
    note: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    def __repr__(self) -> str:
        return f"<SweepStep run={self.run_id} {self.rule} {self.status}>"


class LegalHold(Base):
    __tablename__ = "retention_holds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    subject_id: Mapped[int | None] = mapped_column(ForeignKey("subjects.id"), index=True)
    identity_kind: Mapped[str | None] = mapped_column(String(32))
    blind_index: Mapped[str | None] = mapped_column(String(64), index=True)
    store: Mapped[str | None] = mapped_column(String(NAME_LENGTH))
    table_name: Mapped[str | None] = mapped_column(String(NAME_LENGTH))
    column_name: Mapped[str | None] = mapped_column(String(NAME_LENGTH))
    value: Mapped[str | None] = mapped_column(Text)
    low: Mapped[str | None] = mapped_column(Text)
    high: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(ACTOR_LENGTH))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    until: Mapped[dt.date | None] = mapped_column(Date)
    released_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    released_by: Mapped[str | None] = mapped_column(String(ACTOR_LENGTH))
    release_reason: Mapped[str | None] = mapped_column(Text)

    def active_on(self, day: dt.date) -> bool:
        return self.released_at is None and (self.until is None or self.until >= day)

    def __repr__(self) -> str:
        return f"<LegalHold {self.id} {self.kind}>"
