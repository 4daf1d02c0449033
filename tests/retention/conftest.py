"""Fixtures of the retention tests: Tutela's database with a declaration, and a store next to it.

The store is on the same backend as Tutela's database (``db_url``): an SQLite file,
or a second database in the same throwaway PostgreSQL cluster.
"""

from __future__ import annotations

import contextlib
import itertools
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from tests.retention.store import DATASET, MAPPING, NOW, build_store
from tutela.clock import FrozenClock
from tutela.connectors import parse_dataset
from tutela.crypto import MasterKey
from tutela.policy.duration import Period
from tutela.policy.loader import load_declaration
from tutela.policy.models import Categories, Declaration, Retention
from tutela.policy.terms import RetentionEvent
from tutela.policy.versions import publish
from tutela.retention import SweepContext, SweepStore, parse_mapping

EXAMPLE = Path(__file__).resolve().parents[2] / "src/tutela/policy/examples/example.yaml"
MASTER = MasterKey(bytes(range(32)))
_counter = itertools.count()


def account_declaration() -> Declaration:
    """The example plus a purpose kept 30 days after the account is closed."""
    declaration = load_declaration(EXAMPLE)
    base = declaration.purpose("comfort_settings")
    assert base is not None
    account = base.model_copy(
        update={
            "id": "customer_account",
            "categories": Categories(
                required=["user.contact.email", "user.name.first", "user.name.last"]
            ),
            "retention": Retention(period=Period(days=30), after=RetentionEvent.ACCOUNT_CLOSED),
        }
    )
    return declaration.model_copy(update={"purposes": [*declaration.purposes, account]})


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(NOW)


@pytest.fixture
def published(session_factory: sessionmaker[Session], clock: FrozenClock) -> Declaration:
    declaration = account_declaration()
    with session_factory() as session, session.begin():
        publish(
            session,
            declaration=declaration,
            source_text=EXAMPLE.read_text(encoding="utf-8"),
            actor="test",
            clock=clock,
        )
    return declaration


@contextlib.contextmanager
def store_database(db_url: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """An empty database on the backend of ``db_url``."""
    if db_url.startswith("sqlite"):
        folder = tmp_path / f"store{next(_counter)}"
        folder.mkdir()
        yield f"sqlite:///{folder / 'crm.db'}"
        return
    admin_url: str = request.getfixturevalue("pg_admin_url")
    name = f"crm_{os.getpid()}_{next(_counter)}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        yield admin_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def make_store(
    db_url: str, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Callable[..., str]]:
    """Build a fresh copy of the test store; returns its URL."""
    stack = contextlib.ExitStack()

    def build(*, extra_visits: int = 0) -> str:
        url = stack.enter_context(store_database(db_url, tmp_path, request))
        build_store(url, extra_visits=extra_visits)
        return url

    with stack:
        yield build


@pytest.fixture
def store_url(make_store: Callable[..., str]) -> str:
    return make_store()


def make_context(url: str, mapping: str = MAPPING) -> SweepContext:
    store = SweepStore.sql(name="crm", url=url, dataset=parse_dataset(DATASET), master=MASTER)
    return SweepContext(stores=[store], mapping=parse_mapping(mapping), master=MASTER)


@pytest.fixture
def context(store_url: str) -> Iterator[SweepContext]:
    found = make_context(store_url)
    yield found
    found.close()
