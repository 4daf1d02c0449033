"""Store databases for connector tests: SQLite files and a second PostgreSQL database.

A connector reaches the *operator's* database, not Tutela's, so these fixtures make
empty application databases (in the same throwaway cluster as Tutela's tests on
PostgreSQL) instead of using ``db_url``.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import socket
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tutela.connectors.sample import build_shop
from tutela.crypto import MasterKey

_counter = itertools.count()
SHOP_CUSTOMERS = 16


def _admin(pg_admin_url: str) -> Callable[[str], None]:
    def run(statement: str) -> None:
        engine = create_engine(pg_admin_url, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                conn.execute(text(statement))
        finally:
            engine.dispose()

    return run


def _pg_url(pg_admin_url: str, name: str) -> str:
    return pg_admin_url.rsplit("/", 1)[0] + f"/{name}"


@contextlib.contextmanager
def _pg_database(pg_admin_url: str, *, template: str | None = None) -> Iterator[str]:
    name = f"store_{os.getpid()}_{next(_counter)}"
    run = _admin(pg_admin_url)
    suffix = f' TEMPLATE "{template}"' if template else ""
    run(f'CREATE DATABASE "{name}"{suffix}')
    try:
        yield _pg_url(pg_admin_url, name)
    finally:
        run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _checkpoint(path: Path) -> None:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def store_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty application database on each backend."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
        return
    admin: str = request.getfixturevalue("pg_admin_url")
    with _pg_database(admin) as url:
        yield url


@pytest.fixture(scope="session")
def sqlite_shop_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("shop") / "shop.db"
    build_shop(f"sqlite:///{path}", customers=SHOP_CUSTOMERS)
    _checkpoint(path)
    return path


@pytest.fixture(scope="session")
def pg_shop_template(pg_admin_url: str) -> str:
    name = f"shop_template_{os.getpid()}"
    run = _admin(pg_admin_url)
    run(f'CREATE DATABASE "{name}"')
    build_shop(_pg_url(pg_admin_url, name), customers=SHOP_CUSTOMERS)
    return name


@pytest.fixture
def shop_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh copy of the sample shop with ``SHOP_CUSTOMERS`` customers."""
    if backend == "sqlite":
        template: Path = request.getfixturevalue("sqlite_shop_template")
        target = tmp_path / "shop.db"
        shutil.copyfile(template, target)
        yield f"sqlite:///{target}"
        return
    admin: str = request.getfixturevalue("pg_admin_url")
    name: str = request.getfixturevalue("pg_shop_template")
    with _pg_database(admin, template=name) as url:
        yield url


@pytest.fixture
def down_url(backend: str, tmp_path: Path) -> str:
    """A store URL where nothing answers."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'missing-folder' / 'store.db'}"
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"postgresql+psycopg://tutela@127.0.0.1:{port}/nothing"


@pytest.fixture(scope="session")
def master_key() -> MasterKey:
    return MasterKey(bytes(range(32)))
