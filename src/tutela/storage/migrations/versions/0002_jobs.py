"""durable jobs

Revision ID: 0002_jobs
Revises: 0001_audit
"""

from __future__ import annotations

revision = "0002_jobs"
down_revision: str | None = "0001_audit"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
