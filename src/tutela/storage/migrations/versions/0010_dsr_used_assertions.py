"""used in-app assertions: each jti once, until the assertion expires

Revision ID: 0010_dsr_used_assertions
Revises: 0009_dsr_packages
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from tutela.storage.base import UTCDateTime

revision = "0010_dsr_used_assertions"
down_revision: str | None = "0009_dsr_packages"
branch_labels = None
depends_on = None


def upgrade() -> None:
    t = "dsr_used_assertions"
    op.create_table(
        t,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("jti_digest", sa.String(length=64), nullable=False),
        sa.Column("used_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{t}")),
        sa.UniqueConstraint("jti_digest", name=op.f(f"uq_{t}_jti_digest")),
    )
    op.create_index(op.f(f"ix_{t}_expires_at"), t, ["expires_at"])


def downgrade() -> None:
    t = "dsr_used_assertions"
    op.drop_index(op.f(f"ix_{t}_expires_at"), table_name=t)
    op.drop_table(t)
