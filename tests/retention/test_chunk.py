"""Chunks over keys of every shape: dense and sparse integers, composite text keys."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from tests.retention.conftest import MASTER, store_database
from tests.retention.store import NAIVE_NOW
from tutela.clock import FrozenClock
from tutela.connectors import parse_dataset
from tutela.retention import SweepContext, SweepStore, parse_mapping, recent_runs, run_sweep
from tutela.storage import make_engine

DATASET = """\
name: logs
tables:
  hits:
    erase: delete_row
    fields:
      region: {category: user.unique_id, identity: customer_id, strategy: keep, reason: key}
      ip: {category: user.device.ip_address}
"""
MAPPING = "logs:\n  hits: {purposes: [server_logs], dates: {collection: at}}\n"
ROWS = 90


def _table(composite: bool) -> tuple[sa.MetaData, sa.Table]:
    meta = sa.MetaData()
    keys: list[sa.Column[Any]]
    if composite:
        keys = [
            sa.Column("region", sa.String(8), primary_key=True),
            sa.Column("n", sa.Integer, primary_key=True, autoincrement=False),
        ]
    else:
        keys = [
            sa.Column("n", sa.BigInteger, primary_key=True, autoincrement=False),
            sa.Column("region", sa.String(8), nullable=False),
        ]
    table = sa.Table(
        "hits",
        meta,
        *keys,
        sa.Column("at", sa.DateTime, nullable=False),
        sa.Column("ip", sa.String(45), nullable=False),
    )
    return meta, table


def _rows(composite: bool) -> list[dict[str, Any]]:
    rows = []
    for i in range(ROWS):
        old = i % 3 != 0  # two of three rows expired, spread over the whole key range
        rows.append(
            {
                "region": ("de", "at", "ch")[i % 3] if composite else "de",
                "n": i if composite else i * 10**12,  # sparse: a trillion apart
                "at": NAIVE_NOW - dt.timedelta(days=30 if old else 1, minutes=i),
                "ip": f"192.0.2.{i}",
            }
        )
    return rows


@pytest.fixture(params=["composite", "sparse"])
def shape(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def hits_url(
    db_url: str, tmp_path: Path, request: pytest.FixtureRequest, shape: str
) -> Iterator[str]:
    with store_database(db_url, tmp_path, request) as url:
        meta, table = _table(shape == "composite")
        engine = make_engine(url, check=False)
        with engine.begin() as conn:
            meta.create_all(conn)
            conn.execute(table.insert(), _rows(shape == "composite"))
        engine.dispose()
        yield url


@pytest.mark.usefixtures("published")
def test_every_expired_row_goes_in_bounded_chunks(
    session_factory: sessionmaker[Session], clock: FrozenClock, hits_url: str, shape: str
) -> None:
    store = SweepStore.sql(name="logs", url=hits_url, dataset=parse_dataset(DATASET), master=MASTER)
    context = SweepContext(stores=[store], mapping=parse_mapping(MAPPING), master=MASTER)
    sizes: list[int] = []
    try:
        run_sweep(
            session_factory,
            context=context,
            clock=clock,
            actor="test",
            chunk_size=7,
            observe=lambda o: sizes.append(o.rows) if o.event == "chunk" else None,
        )
    finally:
        context.close()
    engine = make_engine(hits_url, check=False)
    try:
        with engine.connect() as conn:
            table = _table(shape == "composite")[1]
            left = conn.execute(sa.select(table.c.at)).scalars().all()
    finally:
        engine.dispose()
    assert len(left) == ROWS // 3
    assert all(moment > NAIVE_NOW - dt.timedelta(days=7) for moment in left)
    assert sum(sizes) == ROWS - ROWS // 3
    assert max(sizes) <= 7
    # sparse keys: after a thin first range the chunks are cut by rows, not by key values
    assert len(sizes) <= 20
    with session_factory() as session:
        (step,) = recent_runs(session)[0].steps
    assert (step.status, step.before, step.after) == ("done", 60, 0)
