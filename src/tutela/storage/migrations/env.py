"""Alembic environment: uses the engine handed over by tutela.storage.migrate."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine

from tutela.storage.metadata import target_metadata

config = context.config
engine = config.attributes.get("engine")
if not isinstance(engine, Engine):  # pragma: no cover - only via tutela.storage.migrate
    raise RuntimeError("run migrations through tutela.storage.migrate.upgrade()")

with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    context.run_migrations()
