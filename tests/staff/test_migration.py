"""Migration 0004 creates exactly the tables the staff models describe."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, MetaData, Table

from tutela.staff import models
from tutela.storage import Base

STAFF_TABLES = {"staff_users", "staff_sessions", "api_keys"}


def _table_of(diff: object) -> str | None:
    """The table a difference is about (the first of a group of column changes)."""
    if isinstance(diff, list):
        return _table_of(diff[0]) if diff else None
    if not isinstance(diff, tuple):
        return None
    for part in diff[1:]:
        if isinstance(part, Table):
            return str(part.name)
        table = getattr(part, "table", None)
        if isinstance(table, Table):
            return str(table.name)
    if len(diff) > 2 and isinstance(diff[2], str):
        return diff[2]  # ("add_column", schema, table name, column) and the like
    return None


def _staff_only(diff: object) -> bool:
    return _table_of(diff) in STAFF_TABLES


def test_migration_matches_the_models(engine: Engine) -> None:
    assert models.StaffUser.__table__ is Base.metadata.tables["staff_users"]
    metadata = MetaData(naming_convention=Base.metadata.naming_convention)
    for name in STAFF_TABLES:
        Base.metadata.tables[name].to_metadata(metadata)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = [d for d in compare_metadata(context, metadata) if _staff_only(d)]
    assert diff == []
