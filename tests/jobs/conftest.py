"""A side table for handlers to write to, a frozen clock and a private registry."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy import Column, Engine, Integer, MetaData, String, Table, func, select
from sqlalchemy.orm import Session, sessionmaker

from tutela.clock import FrozenClock
from tutela.jobs import JobRegistry

START = dt.datetime(2024, 5, 6, 9, 0, tzinfo=dt.UTC)

side = MetaData()
marks = Table(
    "job_marks",
    side,
    Column("id", Integer, primary_key=True),
    Column("job_id", Integer, nullable=False),
    Column("note", String(50), nullable=False),
)


@pytest.fixture
def with_marks(engine: Engine) -> Iterator[None]:
    side.create_all(engine)
    yield
    side.drop_all(engine)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


@pytest.fixture
def jobs_registry() -> JobRegistry:
    return JobRegistry()


def mark_notes(factory: sessionmaker[Session]) -> list[str]:
    with factory() as session:
        return list(session.scalars(select(marks.c.note).order_by(marks.c.id)))


def mark_count(factory: sessionmaker[Session]) -> int:
    with factory() as session:
        return int(session.scalar(select(func.count()).select_from(marks)) or 0)
