"""Shared fixtures: every database test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, inspect, text
from sqlalchemy.orm import Session, sessionmaker

from tests.pgcluster import find_bindir, running_cluster
from tutela.storage import make_engine, make_session_factory, upgrade
from tutela.storage.metadata import target_metadata

_counter = itertools.count()


def _postgres_wanted() -> bool:
    return os.environ.get("TUTELA_TEST_POSTGRES", "").lower() not in {"0", "no", "false"}


@pytest.fixture(scope="session")
def pg_admin_url() -> Iterator[str]:
    """Superuser URL of a throwaway cluster, with a migrated template database."""
    if not _postgres_wanted():
        pytest.skip("PostgreSQL tests disabled by TUTELA_TEST_POSTGRES=0")
    if find_bindir() is None:
        if os.environ.get("CI") == "true":
            pytest.fail("PostgreSQL binaries are missing on CI")
        pytest.skip("PostgreSQL binaries not installed")
    with running_cluster() as url:
        admin = create_engine(url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text("CREATE DATABASE tutela_template"))
        template = make_engine(url.rsplit("/", 1)[0] + "/tutela_template")
        upgrade(template)
        template.dispose()
        admin.dispose()
        yield url


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    with contextlib.closing(sqlite3.connect(path)) as conn:  # fold the WAL into the file
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path


@pytest.fixture(scope="session")
def pg_worker_db(pg_admin_url: str) -> Iterator[tuple[str, dict[str, list[dict[str, Any]]]]]:
    """One migrated database per test process, and the rows the migrations put in it."""
    name = f"t_{os.getpid()}_{next(_counter)}"
    admin = create_engine(pg_admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE tutela_template'))
    url = pg_admin_url.rsplit("/", 1)[0] + f"/{name}"
    engine = create_engine(url)
    seeded: dict[str, list[dict[str, Any]]] = {}
    with engine.connect() as conn:
        for table in inspect(conn).get_table_names():
            if table == "alembic_version":
                continue
            rows = [dict(r._mapping) for r in conn.execute(text(f'SELECT * FROM "{table}"'))]
            if rows:
                seeded[table] = rows
    engine.dispose()
    try:
        yield url, seeded
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _reset_postgres(url: str, seeded: dict[str, list[dict[str, Any]]]) -> None:
    """Empty every table (dropping tables a test created) and restore the seeded rows."""
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            tables = [t for t in inspect(conn).get_table_names() if t != "alembic_version"]
            extra = [t for t in tables if t not in target_metadata.tables]
            for table in extra:
                conn.execute(text(f'DROP TABLE "{table}" CASCADE'))
            known = [t for t in tables if t not in extra]
            if known:
                names = ", ".join(f'"{t}"' for t in known)
                conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
            for table, rows in seeded.items():
                conn.execute(target_metadata.tables[table].insert(), rows)
    finally:
        engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """URL of an empty, fully migrated database (fresh for every test)."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        target = tmp_path / "tutela.db"
        shutil.copyfile(template, target)
        yield f"sqlite:///{target}"
        return
    url, seeded = request.getfixturevalue("pg_worker_db")
    try:
        yield url
    finally:
        _reset_postgres(url, seeded)


@pytest.fixture(autouse=True)
def _no_change_grace(monkeypatch: pytest.MonkeyPatch) -> None:
    """Erasures run right after verification in tests, unless a test sets a grace period.

    The shipped default (24 hours) is tested on its own in tests/dsr/test_grace.py.
    """
    monkeypatch.setenv("TUTELA_DSR_CHANGE_GRACE_HOURS", "0")


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def session_factory(engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(engine)


@pytest.fixture
def session(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    with session_factory() as sess:
        yield sess
