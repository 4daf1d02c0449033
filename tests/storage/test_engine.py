"""Engine creation: pragmas on SQLite, clear errors for bad URLs and missing databases."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, select, text

from tutela.errors import ConfigurationError, StorageUnavailable
from tutela.storage import UTCDateTime, make_engine, make_session_factory, transaction


def test_sqlite_pragmas(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
    engine.dispose()


def test_bad_url_is_one_sentence() -> None:
    with pytest.raises(ConfigurationError, match="not valid"):
        make_engine("no-such-scheme")


def test_missing_sqlite_folder(tmp_path: Path) -> None:
    with pytest.raises(StorageUnavailable, match="does not exist"):
        make_engine(f"sqlite:///{tmp_path / 'missing' / 'x.db'}")


def test_unreachable_postgres() -> None:
    with pytest.raises(StorageUnavailable, match="cannot be reached"):
        make_engine("postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2")


def test_utc_datetime_round_trip(engine) -> None:  # type: ignore[no-untyped-def]
    meta = MetaData()
    table = Table(
        "t_when", meta, Column("id", Integer, primary_key=True), Column("at", UTCDateTime)
    )
    meta.create_all(engine)
    moment = dt.datetime(2026, 3, 29, 1, 30, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    factory = make_session_factory(engine)
    with transaction(factory) as session:
        session.execute(table.insert().values(id=1, at=moment))
    with factory() as session:
        stored = session.execute(select(table.c.at)).scalar_one()
    assert stored == moment
    assert stored.tzinfo is not None
    assert stored.utcoffset() == dt.timedelta(0)


def test_naive_datetime_refused(engine) -> None:  # type: ignore[no-untyped-def]
    meta = MetaData()
    table = Table(
        "t_naive", meta, Column("id", Integer, primary_key=True), Column("at", UTCDateTime)
    )
    meta.create_all(engine)
    factory = make_session_factory(engine)
    with pytest.raises(Exception, match="timezone-aware"), transaction(factory) as session:
        session.execute(table.insert().values(id=1, at=dt.datetime(2026, 1, 1)))


def test_transaction_rolls_back(engine) -> None:  # type: ignore[no-untyped-def]
    meta = MetaData()
    table = Table("t_roll", meta, Column("id", Integer, primary_key=True))
    meta.create_all(engine)
    factory = make_session_factory(engine)

    def failing_work() -> None:
        with transaction(factory) as session:
            session.execute(table.insert().values(id=1))
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        failing_work()
    with factory() as session:
        assert session.execute(select(table.c.id)).all() == []


def test_savepoint_rollback_keeps_outer_transaction_atomic(engine) -> None:  # type: ignore[no-untyped-def]
    """A released savepoint must not commit the outer transaction (pysqlite pitfall)."""
    meta = MetaData()
    table = Table("t_nested", meta, Column("id", Integer, primary_key=True))
    meta.create_all(engine)
    factory = make_session_factory(engine)
    with factory() as session:
        session.begin()
        with session.begin_nested():
            session.execute(table.insert().values(id=1))
        session.execute(table.insert().values(id=2))
        session.rollback()
    with factory() as session:
        assert session.execute(select(table.c.id)).all() == []


def test_read_only_sessions_do_not_wait_for_a_writer(engine) -> None:  # type: ignore[no-untyped-def]
    """A long writing transaction must not hold up readers (SQLite BEGIN IMMEDIATE)."""
    meta = MetaData()
    table = Table("t_reader", meta, Column("id", Integer, primary_key=True))
    meta.create_all(engine)
    writer = make_session_factory(engine)()
    writer.begin()
    writer.execute(table.insert().values(id=1))
    readers = make_session_factory(engine, read_only=True)
    try:
        with readers() as session:
            assert session.execute(select(table.c.id)).all() == []  # not committed yet
    finally:
        writer.rollback()
        writer.close()
