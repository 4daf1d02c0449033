"""Migration 0004 creates exactly the tables the staff models describe."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, MetaData

from tutela.staff import models
from tutela.storage import Base

STAFF_TABLES = {"staff_users", "staff_sessions", "api_keys"}


def _staff_only(diff: object) -> bool:
    text = repr(diff)
    return any(name in text for name in STAFF_TABLES)


def test_migration_matches_the_models(engine: Engine) -> None:
    assert models.StaffUser.__table__ is Base.metadata.tables["staff_users"]
    metadata = MetaData(naming_convention=Base.metadata.naming_convention)
    for name in STAFF_TABLES:
        Base.metadata.tables[name].to_metadata(metadata)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = [d for d in compare_metadata(context, metadata) if _staff_only(d)]
    assert diff == []
