"""Rows a statutory hold keeps after their purpose expired are marked restricted until it ends.

Holds counted from the end of the calendar year are covered in test_sweep; here a
hold that runs a period from the record's own date (``from_end_of_year: false``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from tests.retention.conftest import EXAMPLE, MASTER, account_declaration, store_database
from tests.retention.store import NAIVE_NOW, TODAY
from tutela.clock import FrozenClock
from tutela.connectors import parse_dataset
from tutela.policy.duration import Period
from tutela.policy.models import Categories, Retention, StatutoryHold
from tutela.policy.terms import RetentionEvent
from tutela.policy.versions import publish
from tutela.retention import SweepContext, SweepStore, parse_mapping, recent_runs, run_sweep
from tutela.storage import make_engine, transaction

DATASET = """\
name: crm
tables:
  letters:
    primary_key: id
    erase: delete_row
    restriction: restricted_until
    fields:
      id: {category: user.unique_id, identity: customer_id, strategy: keep, reason: row key}
      name: {category: user.name}
"""
MAPPING = "crm:\n  letters: {purposes: [letters], dates: {collection: sent}}\n"
AGES = {1: 10, 2: 45, 3: 60, 4: 70, 5: 400}  # days before today
"""1 has not expired (30 days); 2–4 have, but the one-year hold keeps them; 5 is free."""


def _declaration() -> Any:
    declaration = account_declaration()
    base = declaration.purpose("comfort_settings")
    assert base is not None
    letters = base.model_copy(
        update={
            "id": "letters",
            "categories": Categories(required=["user.name.first"]),
            "retention": Retention(
                period=Period(days=30),
                after=RetentionEvent.COLLECTION,
                statutory=StatutoryHold(
                    law="§ 1 Test (letters)", period=Period(years=1), from_end_of_year=False
                ),
            ),
        }
    )
    return declaration.model_copy(update={"purposes": [*declaration.purposes, letters]})


def _table(kind: str) -> tuple[sa.MetaData, sa.Table]:
    meta = sa.MetaData()
    sent: sa.types.TypeEngine[Any] = sa.Date() if kind == "date" else sa.DateTime()
    table = sa.Table(
        "letters",
        meta,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("sent", sent, nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("restricted_until", sa.Date, nullable=True),
    )
    return meta, table


@pytest.fixture(params=["date", "timestamp"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def url(db_url: str, tmp_path: Path, request: pytest.FixtureRequest, kind: str) -> Iterator[str]:
    with store_database(db_url, tmp_path, request) as found:
        meta, table = _table(kind)
        engine = make_engine(found, check=False)
        with engine.begin() as conn:
            meta.create_all(conn)
            conn.execute(
                table.insert(),
                [
                    {
                        "id": n,
                        "sent": (
                            TODAY - dt.timedelta(days=age)
                            if kind == "date"
                            else NAIVE_NOW - dt.timedelta(days=age)
                        ),
                        "name": f"Name {n}",
                    }
                    for n, age in AGES.items()
                ],
            )
        engine.dispose()
        yield found


@pytest.mark.promise("P18")
def test_a_period_hold_marks_expired_rows_restricted_until_it_ends(
    session_factory: sessionmaker[Session], clock: FrozenClock, url: str, kind: str
) -> None:
    with transaction(session_factory) as session:
        publish(
            session,
            declaration=_declaration(),
            source_text=EXAMPLE.read_text(encoding="utf-8"),
            actor="test",
            clock=clock,
        )
    store = SweepStore.sql(name="crm", url=url, dataset=parse_dataset(DATASET), master=MASTER)
    context = SweepContext(stores=[store], mapping=parse_mapping(MAPPING), master=MASTER)
    try:
        run_sweep(session_factory, context=context, clock=clock, actor="t")
        with session_factory() as session:
            (first,) = recent_runs(session)[0].steps
        run_sweep(session_factory, context=context, clock=clock, actor="t")
        with session_factory() as session:
            (second,) = recent_runs(session)[0].steps
    finally:
        context.close()
    engine = make_engine(url, check=False)
    try:
        with engine.connect() as conn:
            table = _table(kind)[1]
            rows = dict(conn.execute(sa.select(table.c.id, table.c.restricted_until)).all())
    finally:
        engine.dispose()
    # marked per month of the date: held a year after the month's last day at most
    assert rows == {
        1: None,
        2: dt.date(2027, 1, 31),  # sent 16 January 2026
        3: dt.date(2027, 1, 31),  # sent 1 January 2026
        4: dt.date(2026, 12, 31),  # sent 22 December 2025
    }
    assert (first.status, first.rows_done, first.held_statutory, first.restricted) == (
        "done",
        1,
        3,
        3,
    )
    assert (second.rows_done, second.restricted) == (0, 0)  # marked once
