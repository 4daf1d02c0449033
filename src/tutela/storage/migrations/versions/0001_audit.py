"""audit trail

Revision ID: 0001_audit
Revises: None
"""

from __future__ import annotations

revision = "0001_audit"
down_revision: str | None = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
