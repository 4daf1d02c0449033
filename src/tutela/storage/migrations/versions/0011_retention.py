"""retention: sweep runs and their checkpoints, legal holds

Revision ID: 0011_retention
Revises: 0010_dsr_used_assertions
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from tutela.storage.base import UTCDateTime

revision = "0011_retention"
down_revision: str | None = "0010_dsr_used_assertions"
branch_labels = None
depends_on = None

RUNNING_ONLY = sa.text("status = 'running'")


def _runs() -> None:
    t = "retention_runs"
    op.create_table(
        t,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("trigger", sa.String(length=16), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("as_of", UTCDateTime(), nullable=False),
        sa.Column("policy_version", sa.Integer(), nullable=False),
        sa.Column("chunk_size", sa.Integer(), nullable=False),
        sa.Column("confirmed", sa.Text(), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{t}")),
    )
    op.create_index(op.f(f"ix_{t}_status"), t, ["status"])
    op.create_index(op.f(f"ix_{t}_started_at"), t, ["started_at"])
    # at most one sweep runs at a time
    op.create_index(
        "uq_retention_runs_running",
        t,
        ["status"],
        unique=True,
        sqlite_where=RUNNING_ONLY,
        postgresql_where=RUNNING_ONLY,
    )


def _steps() -> None:
    t = "retention_steps"
    op.create_table(
        t,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("rule", sa.String(length=300), nullable=False),
        sa.Column("store", sa.String(length=128), nullable=False),
        sa.Column("table_name", sa.String(length=128), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("before", sa.Integer(), nullable=False),
        sa.Column("held_statutory", sa.Integer(), nullable=False),
        sa.Column("held_until", sa.Date(), nullable=True),
        sa.Column("held_legal", sa.Integer(), nullable=False),
        sa.Column("referenced", sa.Integer(), nullable=False),
        sa.Column("undated", sa.Integer(), nullable=False),
        sa.Column("last_key", sa.Text(), nullable=True),
        sa.Column("rows_done", sa.Integer(), nullable=False),
        sa.Column("chunks", sa.Integer(), nullable=False),
        sa.Column("restricted", sa.Integer(), nullable=False),
        sa.Column("after", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["retention_runs.id"],
            name=op.f(f"fk_{t}_run_id_retention_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{t}")),
        sa.UniqueConstraint("run_id", "rule", name=op.f(f"uq_{t}_run_id")),
    )


def _holds() -> None:
    t = "retention_holds"
    op.create_table(
        t,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=True),
        sa.Column("identity_kind", sa.String(length=32), nullable=True),
        sa.Column("blind_index", sa.String(length=64), nullable=True),
        sa.Column("store", sa.String(length=128), nullable=True),
        sa.Column("table_name", sa.String(length=128), nullable=True),
        sa.Column("column_name", sa.String(length=128), nullable=True),
        sa.Column("value", sa.Text(), nullable=True),
        sa.Column("low", sa.Text(), nullable=True),
        sa.Column("high", sa.Text(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("until", sa.Date(), nullable=True),
        sa.Column("released_at", UTCDateTime(), nullable=True),
        sa.Column("released_by", sa.String(length=200), nullable=True),
        sa.Column("release_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["subject_id"], ["subjects.id"], name=op.f(f"fk_{t}_subject_id_subjects")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{t}")),
    )
    op.create_index(op.f(f"ix_{t}_subject_id"), t, ["subject_id"])
    op.create_index(op.f(f"ix_{t}_blind_index"), t, ["blind_index"])


def upgrade() -> None:
    _runs()
    _steps()
    _holds()


def downgrade() -> None:
    op.drop_index("uq_retention_runs_running", table_name="retention_runs")
    for t, indexes in (
        ("retention_holds", ("blind_index", "subject_id")),
        ("retention_steps", ()),
        ("retention_runs", ("started_at", "status")),
    ):
        for column in indexes:
            op.drop_index(op.f(f"ix_{t}_{column}"), table_name=t)
        op.drop_table(t)
