"""staff users, sessions and API keys

Revision ID: 0004_staff
Revises: 0003_policy_versions
"""

from __future__ import annotations

revision = "0004_staff"
down_revision: str | None = "0003_policy_versions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
