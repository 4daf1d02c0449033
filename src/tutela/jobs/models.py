"""The job table: durable background work in the application database."""

from __future__ import annotations

import datetime as dt
import json
from enum import StrEnum
from typing import Any

from sqlalchemy import CheckConstraint, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from tutela.storage.base import Base, UTCDateTime

KIND_LENGTH = 100
KEY_LENGTH = 200
WORKER_LENGTH = 200


class JobStatus(StrEnum):
    """Life of a job: queued → running → done, or failed (retry due) → … → dead."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    DEAD = "dead"


_STATUS_VALUES = ", ".join(f"'{status.value}'" for status in JobStatus)


class Job(Base):
    """One unit of work; ``payload`` is JSON text, ``attempts`` counts claims."""

    __tablename__ = "jobs"
    __table_args__ = (
        CheckConstraint(f"status IN ({_STATUS_VALUES})", name="status"),
        Index(None, "status", "run_after"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(KIND_LENGTH))
    payload: Mapped[str] = mapped_column(Text)
    idempotency_key: Mapped[str | None] = mapped_column(String(KEY_LENGTH), unique=True)
    status: Mapped[str] = mapped_column(String(20))
    attempts: Mapped[int] = mapped_column(Integer)
    max_attempts: Mapped[int] = mapped_column(Integer)
    run_after: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    locked_by: Mapped[str | None] = mapped_column(String(WORKER_LENGTH))
    locked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    @property
    def data(self) -> dict[str, Any]:
        """The payload as a mapping."""
        value: dict[str, Any] = json.loads(self.payload)
        return value

    def __repr__(self) -> str:
        return f"<Job {self.id} {self.kind} {self.status}>"
