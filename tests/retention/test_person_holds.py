"""A legal hold on a person keeps every row of theirs, whatever its key looks like.

The person's rows are found as stored: a key that an access copy would mask (a
Luhn-valid number of 16 digits) or withhold (a column named like a credential) still
selects the row, so the hold never fails open.
"""

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
from tutela.retention import (
    SweepContext,
    SweepStore,
    parse_mapping,
    place_subject_hold,
    plan,
    recent_runs,
    run_sweep,
)
from tutela.storage import make_engine, transaction

CARD_LIKE = 4111111111111111  # passes the Luhn check: an access copy masks it
DATASET = """\
name: crm
tables:
  visits:
    primary_key: id
    erase: delete_row
    fields:
      email: {category: user.contact.email, identity: email}
  logins:
    primary_key: token
    erase: delete_row
    fields:
      email: {category: user.contact.email, identity: email, match: casefold}
"""
MAPPING = """\
crm:
  visits: {purposes: [server_logs], dates: {collection: at}}
  logins: {purposes: [server_logs], dates: {collection: at}}
"""
OLD = NAIVE_NOW - dt.timedelta(days=30)


def _tables() -> tuple[sa.MetaData, sa.Table, sa.Table]:
    meta = sa.MetaData()
    visits = sa.Table(
        "visits",
        meta,
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("at", sa.DateTime, nullable=False),
        sa.Column("email", sa.String(254), nullable=True),
    )
    logins = sa.Table(
        "logins",
        meta,
        sa.Column("token", sa.String(40), primary_key=True),
        sa.Column("at", sa.DateTime, nullable=False),
        sa.Column("email", sa.String(254), nullable=True),
    )
    return meta, visits, logins


@pytest.fixture
def url(db_url: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    with store_database(db_url, tmp_path, request) as found:
        meta, visits, logins = _tables()
        engine = make_engine(found, check=False)
        with engine.begin() as conn:
            meta.create_all(conn)
            conn.execute(
                visits.insert(),
                [
                    {"id": CARD_LIKE, "at": OLD, "email": "held@example.org"},
                    {"id": 5, "at": OLD, "email": "held@example.org"},
                    {"id": 7, "at": OLD, "email": "other@example.org"},
                    {"id": 8, "at": OLD, "email": None},
                    {"id": 9, "at": NAIVE_NOW, "email": "other@example.org"},
                ],
            )
            conn.execute(
                logins.insert(),
                [
                    {"token": "a1", "at": OLD, "email": "Held@Example.org"},
                    {"token": "b2", "at": OLD, "email": "other@example.org"},
                    {"token": "c3", "at": NAIVE_NOW, "email": "other@example.org"},
                ],
            )
        engine.dispose()
        yield found


def _left(url: str) -> dict[str, set[Any]]:
    _meta, visits, logins = _tables()
    engine = make_engine(url, check=False)
    try:
        with engine.connect() as conn:
            return {
                "visits": set(conn.execute(sa.select(visits.c.id)).scalars()),
                "logins": set(conn.execute(sa.select(logins.c.token)).scalars()),
            }
    finally:
        engine.dispose()


@pytest.mark.promise("P18")
@pytest.mark.usefixtures("published")
def test_a_person_hold_keeps_rows_whose_keys_an_access_copy_would_hide(
    session_factory: sessionmaker[Session], clock: FrozenClock, url: str
) -> None:
    with transaction(session_factory) as session:
        place_subject_hold(
            session,
            kind="email",
            value="held@example.org",
            reason="Court case 4 O 12/26",
            until=None,
            master=MASTER,
            clock=clock,
            actor="dpo",
        )
    store = SweepStore.sql(name="crm", url=url, dataset=parse_dataset(DATASET), master=MASTER)
    context = SweepContext(stores=[store], mapping=parse_mapping(MAPPING), master=MASTER)
    try:
        with session_factory() as session:
            found = plan(session, context=context, clock=clock)
            planned = {p.rule.id: p.counts for p in found.rules}
        run_sweep(session_factory, context=context, clock=clock, actor="t")
    finally:
        context.close()
    left = _left(url)
    # the held person's rows stay (the card-like key and the credential-named key too);
    # expired rows of others go, and so does an expired row with no address at all
    assert left["visits"] == {CARD_LIKE, 5, 9}
    assert left["logins"] == {"a1", "c3"}
    visits = planned["crm.visits:server_logs"]
    assert visits is not None
    assert (visits.held_legal, visits.would_go) == (2, 2)
    with session_factory() as session:
        steps = {s.rule: s for s in recent_runs(session)[0].steps}
    assert steps["crm.visits:server_logs"].held_legal == 2
    assert steps["crm.logins:server_logs"].held_legal == 1
    assert {s.status for s in steps.values()} == {"done"}
