"""Dates kept as text: ISO 8601 is swept, any other form stops the rule before it runs.

Text compares as text, so ``01.03.2026`` sorts before ``2026-…`` and would read as
long expired. A rule dating rows by such a column must not run at all.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from tests.retention.conftest import MASTER, store_database
from tutela.clock import FrozenClock
from tutela.connectors import parse_dataset
from tutela.retention import (
    SweepContext,
    SweepStore,
    parse_mapping,
    plan,
    recent_runs,
    run_sweep,
)
from tutela.storage import make_engine

DATASET = """\
name: crm
tables:
  visits:
    primary_key: id
    erase: delete_row
    fields:
      id: {category: user.unique_id, identity: customer_id, strategy: keep, reason: row key}
      ip: {category: user.device.ip_address}
  invoices:
    primary_key: id
    erase: delete_row
    fields:
      billing_name: {category: user.name}
"""
MAPPING = """\
crm:
  visits: {purposes: [server_logs], dates: {collection: at}}
  invoices: {purposes: [invoicing], dates: {collection: issued_on}}
"""
Build = Callable[[list[str | None], list[str]], str]


def _tables() -> tuple[sa.MetaData, sa.Table, sa.Table]:
    meta = sa.MetaData()
    visits = sa.Table(
        "visits",
        meta,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("at", sa.String(30), nullable=True),
        sa.Column("ip", sa.String(45), nullable=False),
    )
    invoices = sa.Table(
        "invoices",
        meta,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("issued_on", sa.Text, nullable=False),
        sa.Column("billing_name", sa.String(100), nullable=False),
    )
    return meta, visits, invoices


@pytest.fixture
def build(db_url: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Build]:
    """A store whose visits and invoices are dated by the given texts (ids from 1)."""
    stack = contextlib.ExitStack()

    def make(visits: list[str | None], invoices: list[str]) -> str:
        url = stack.enter_context(store_database(db_url, tmp_path, request))
        meta, visit_table, invoice_table = _tables()
        engine = make_engine(url, check=False)
        with engine.begin() as conn:
            meta.create_all(conn)
            if visits:
                conn.execute(
                    visit_table.insert(),
                    [{"id": n, "at": at, "ip": "192.0.2.1"} for n, at in enumerate(visits, 1)],
                )
            if invoices:
                conn.execute(
                    invoice_table.insert(),
                    [
                        {"id": n, "issued_on": day, "billing_name": "B"}
                        for n, day in enumerate(invoices, 1)
                    ],
                )
        engine.dispose()
        return url

    with stack:
        yield make


def _ids(url: str) -> dict[str, set[int]]:
    _meta, visits, invoices = _tables()
    engine = make_engine(url, check=False)
    try:
        with engine.connect() as conn:
            return {
                "visits": set(conn.execute(sa.select(visits.c.id)).scalars()),
                "invoices": set(conn.execute(sa.select(invoices.c.id)).scalars()),
            }
    finally:
        engine.dispose()


def _sweep(
    factory: sessionmaker[Session], clock: FrozenClock, url: str
) -> tuple[dict[str, str | None], dict[str, tuple[str, str | None]]]:
    """The plan's error per rule, then the sweep's status and note per rule."""
    store = SweepStore.sql(name="crm", url=url, dataset=parse_dataset(DATASET), master=MASTER)
    context = SweepContext(stores=[store], mapping=parse_mapping(MAPPING), master=MASTER)
    try:
        with factory() as session:
            found = plan(session, context=context, clock=clock)
        run_sweep(factory, context=context, clock=clock, actor="t")
    finally:
        context.close()
    with factory() as session:
        steps = recent_runs(session)[0].steps
    return (
        {p.rule.id: p.error for p in found.rules},
        {s.rule: (s.status, s.note) for s in steps},
    )


@pytest.mark.usefixtures("published")
def test_german_text_dates_stop_the_rule_and_delete_nothing(
    session_factory: sessionmaker[Session], clock: FrozenClock, build: Build
) -> None:
    # today is 2 March 2026: only the first visit is older than the 7 days of server logs
    url = build(["01.01.2020", "01.03.2026", "15.02.2026", "28.02.2026", None], [])
    errors, steps = _sweep(session_factory, clock, url)
    status, note = steps["crm.visits:server_logs"]
    assert status == "failed"
    for text in (
        "crm.visits.at is a text column and 4 of its values are not ISO 8601 dates",
        "the rule does not run",
        "YYYY-MM-DD",
        "retention.yaml",
    ):
        assert text in (note or "")
        assert text in (errors["crm.visits:server_logs"] or "")
    assert _ids(url)["visits"] == {1, 2, 3, 4, 5}


@pytest.mark.usefixtures("published")
def test_a_statutory_hold_on_a_text_column_needs_iso_dates_too(
    session_factory: sessionmaker[Session], clock: FrozenClock, build: Build
) -> None:
    url = build([], ["30.11.2017", "2024-05-10"])
    errors, steps = _sweep(session_factory, clock, url)
    status, note = steps["crm.invoices:invoicing"]
    assert status == "failed"
    assert "crm.invoices.issued_on is a text column and 1 of its values" in (note or "")
    assert errors["crm.invoices:invoicing"] is not None
    assert _ids(url)["invoices"] == {1, 2}


@pytest.mark.usefixtures("published")
def test_iso_text_dates_are_swept(
    session_factory: sessionmaker[Session], clock: FrozenClock, build: Build
) -> None:
    url = build(
        ["2020-01-01", "2026-03-01 10:00:00", "2026-02-15T08:00:00", "2026-02-28"],
        ["2017-11-30", "2024-05-10 12:00:00", "2018-01-15"],
    )
    errors, steps = _sweep(session_factory, clock, url)
    assert set(errors.values()) == {None}
    assert {status for status, _note in steps.values()} == {"done"}
    assert _ids(url) == {"visits": {2, 4}, "invoices": {2, 3}}
