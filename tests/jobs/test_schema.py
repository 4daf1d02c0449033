from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect

from tutela.storage.base import Base


def _jobs_only(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    if type_ == "table":
        return name == "jobs"
    table = getattr(obj, "table", None)
    return table is None or table.name == "jobs"


def test_migrated_jobs_table_matches_the_model(engine: Engine) -> None:
    with engine.connect() as conn:
        opts = {"compare_type": True, "include_object": _jobs_only}
        context = MigrationContext.configure(conn, opts=opts)
        assert compare_metadata(context, Base.metadata) == []


def test_claim_index_covers_status_and_due_time(engine: Engine) -> None:
    indexes = {ix["name"]: ix["column_names"] for ix in inspect(engine).get_indexes("jobs")}
    assert indexes["ix_jobs_status"] == ["status", "run_after"]
