"""The migrations build exactly the schema the models describe, on both engines."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect

from tutela.storage import current_revision, head_revision, upgrade
from tutela.storage.metadata import MODEL_MODULES, target_metadata


def test_migrated_schema_matches_models(engine: Engine) -> None:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        differences = compare_metadata(context, target_metadata)
    assert differences == []


def test_database_is_at_head(engine: Engine) -> None:
    assert current_revision(engine) == head_revision()


def test_upgrade_is_idempotent(engine: Engine) -> None:
    before = set(inspect(engine).get_table_names())
    upgrade(engine)
    assert set(inspect(engine).get_table_names()) == before
    assert current_revision(engine) == head_revision()


def test_every_model_module_is_importable() -> None:
    import importlib

    for name in MODEL_MODULES:
        module = importlib.import_module(name)
        assert module.__name__ == name
    assert {"audit_entries", "jobs", "policy_versions", "staff_users"} <= set(
        target_metadata.tables
    )
