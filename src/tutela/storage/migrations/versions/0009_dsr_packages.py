"""encrypted access packages of requests, with their download token digest

Revision ID: 0009_dsr_packages
Revises: 0008_dsr_results
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from tutela.storage.base import UTCDateTime

revision = "0009_dsr_packages"
down_revision: str | None = "0008_dsr_results"
branch_labels = None
depends_on = None


def upgrade() -> None:
    t = "dsr_packages"
    op.create_table(
        t,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("file_name", sa.String(length=80), nullable=False),
        sa.Column("sealed_key", sa.LargeBinary(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("token_digest", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("downloaded_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["dsr_requests.id"],
            name=op.f(f"fk_{t}_request_id_dsr_requests"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{t}")),
        sa.UniqueConstraint("file_name", name=op.f(f"uq_{t}_file_name")),
        sa.UniqueConstraint("token_digest", name=op.f(f"uq_{t}_token_digest")),
    )
    op.create_index(op.f(f"ix_{t}_request_id"), t, ["request_id"])
    op.create_index(op.f(f"ix_{t}_expires_at"), t, ["expires_at"])


def downgrade() -> None:
    t = "dsr_packages"
    op.drop_index(op.f(f"ix_{t}_expires_at"), table_name=t)
    op.drop_index(op.f(f"ix_{t}_request_id"), table_name=t)
    op.drop_table(t)
