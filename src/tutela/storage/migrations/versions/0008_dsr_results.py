"""results of carrying a request out, per connected store, on the request row

Revision ID: 0008_dsr_results
Revises: 0007_dsr
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_dsr_results"
down_revision: str | None = "0007_dsr"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("dsr_requests") as batch:
        batch.add_column(sa.Column("store_results", sa.Text(), nullable=True))
        batch.add_column(sa.Column("last_error", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("dsr_requests") as batch:
        batch.drop_column("last_error")
        batch.drop_column("store_results")
