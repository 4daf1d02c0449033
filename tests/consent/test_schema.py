from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, select

from tutela.audit.chain import GENESIS_HASH
from tutela.consent import ConsentLedgerHead
from tutela.storage.base import Base

TABLES = {"consent_events", "consent_ledger_head", "consent_state", "suppressions"}


def _mine(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    if type_ == "table":
        return name in TABLES
    table = getattr(obj, "table", None)
    return table is None or table.name in TABLES


def test_migrated_schema_matches_the_models(engine: Engine) -> None:
    with engine.connect() as conn:
        opts = {"compare_type": True, "include_object": _mine}
        context = MigrationContext.configure(conn, opts=opts)
        assert compare_metadata(context, Base.metadata) == []


def test_migration_creates_the_genesis_head(engine: Engine) -> None:
    with engine.connect() as conn:
        row = conn.execute(
            select(ConsentLedgerHead.last_sequence, ConsentLedgerHead.last_hash)
        ).one()
    assert tuple(row) == (0, GENESIS_HASH)
