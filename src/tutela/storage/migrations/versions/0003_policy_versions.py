"""published declaration versions

Revision ID: 0003_policy_versions
Revises: 0002_jobs
"""

from __future__ import annotations

revision = "0003_policy_versions"
down_revision: str | None = "0002_jobs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
