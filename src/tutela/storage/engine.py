"""Engine and session factories; the only place that knows about dialects."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from tutela.errors import ConfigurationError, StorageUnavailable


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # pysqlite's own transaction handling commits a SAVEPOINT's outer transaction in
    # some cases; turn it off and let SQLAlchemy emit BEGIN itself (see _sqlite_begin).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


READ_ONLY = "tutela_read_only"


def _sqlite_begin(connection: Any) -> None:
    # A writing transaction starts IMMEDIATE: it takes the write lock at once, so one
    # that reads first and writes later can never fail with "database is locked" on
    # the lock upgrade; busy_timeout makes the others wait instead. Writers are
    # serialised, as SQLite does anyway. Read-only sessions (make_session_factory(…,
    # read_only=True)) start a plain deferred transaction and never block anyone.
    if connection.get_execution_options().get(READ_ONLY):
        connection.exec_driver_sql("BEGIN")
    else:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(url: str, *, check: bool = True) -> Engine:
    """Create an engine for ``url``; with ``check`` fail early with one clear sentence."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigurationError(
            f"The database URL {url!r} is not valid: use sqlite:///PATH or "
            "postgresql+psycopg://USER@HOST/DB."
        ) from exc
    # errors and logs never show statement parameters: they may be personal data
    kwargs: dict[str, Any] = {"hide_parameters": True}
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:":
            folder = Path(database).parent
            if not folder.exists():
                raise StorageUnavailable(
                    f"The database folder {folder} does not exist; run `tutela init` "
                    "or point --data-dir at a writable folder."
                )
        kwargs["connect_args"] = {"check_same_thread": False}
    else:
        kwargs["pool_pre_ping"] = True
    try:
        engine = create_engine(parsed, **kwargs)
    except (NoSuchModuleError, ImportError, ArgumentError) as exc:
        raise ConfigurationError(
            f"The database URL {parsed.render_as_string(hide_password=True)!r} names a "
            "database Tutela cannot use: use sqlite:///PATH or postgresql+psycopg://… "
            "(pip install 'tutela[postgresql]')."
        ) from exc
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
    if check:
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except OperationalError as exc:
            engine.dispose()
            raise StorageUnavailable(
                f"The database at {parsed.render_as_string(hide_password=True)} cannot "
                f"be reached: {str(exc.orig).strip().splitlines()[0]}"
            ) from exc
    return engine


def is_postgresql(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


def make_session_factory(engine: Engine, *, read_only: bool = False) -> sessionmaker[Session]:
    """Sessions on ``engine``; ``read_only`` ones never take SQLite's write lock.

    A read-only session that tries to write fails on SQLite (and is not meant to
    write on PostgreSQL either); use it for pages and API reads.
    """
    if read_only:
        engine = engine.execution_options(**{READ_ONLY: True})
        return sessionmaker(bind=engine, expire_on_commit=False, autoflush=False)
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session whose work commits on success and rolls back on any error."""
    with factory() as session, session.begin():
        yield session
