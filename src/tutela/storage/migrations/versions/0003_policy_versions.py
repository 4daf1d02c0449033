"""published declaration versions

Revision ID: 0003_policy_versions
Revises: 0002_jobs
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from tutela.storage.base import UTCDateTime

revision = "0003_policy_versions"
down_revision: str | None = "0002_jobs"
branch_labels = None
depends_on = None

IMMUTABLE_MESSAGE = "published policy versions are immutable; publish a new version instead"


def upgrade() -> None:
    op.create_table(
        "policy_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("source_text", sa.Text(), nullable=False),
        sa.Column("published_at", UTCDateTime(), nullable=False),
        sa.Column("effective_at", sa.Date(), nullable=False),
        sa.Column("notice_on", sa.Date(), nullable=False),
        sa.Column("published_by", sa.String(length=200), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.CheckConstraint("number >= 1", name=op.f("ck_policy_versions_number_positive")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_policy_versions")),
        sa.UniqueConstraint("number", name=op.f("uq_policy_versions_number")),
    )
    op.create_index(
        op.f("ix_policy_versions_effective_at"), "policy_versions", ["effective_at"], unique=False
    )
    _create_immutability_triggers()


def downgrade() -> None:
    _drop_immutability_triggers()
    op.drop_index(op.f("ix_policy_versions_effective_at"), table_name="policy_versions")
    op.drop_table("policy_versions")


def _create_immutability_triggers() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION policy_versions_immutable() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN RAISE EXCEPTION '{IMMUTABLE_MESSAGE}'; END $$"
        )
        op.execute(
            "CREATE TRIGGER policy_versions_immutable BEFORE UPDATE OR DELETE "
            "ON policy_versions FOR EACH ROW EXECUTE FUNCTION policy_versions_immutable()"
        )
        return
    for operation in ("update", "delete"):
        op.execute(
            f"CREATE TRIGGER policy_versions_no_{operation} BEFORE {operation.upper()} "
            f"ON policy_versions BEGIN SELECT RAISE(ABORT, '{IMMUTABLE_MESSAGE}'); END"
        )


def _drop_immutability_triggers() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS policy_versions_immutable ON policy_versions")
        op.execute("DROP FUNCTION IF EXISTS policy_versions_immutable()")
        return
    for operation in ("update", "delete"):
        op.execute(f"DROP TRIGGER IF EXISTS policy_versions_no_{operation}")
