"""policy-change notices: one row per version and recipient

Revision ID: 0012_notices
Revises: 0011_retention
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from tutela.storage.base import UTCDateTime

revision = "0012_notices"
down_revision: str | None = "0011_retention"
branch_labels = None
depends_on = None

CAMPAIGN_STATUSES = "'planning', 'sending', 'done', 'refused', 'cancelled'"
DELIVERY_STATUSES = (
    "'queued', 'sending', 'retrying', 'sent', 'failed', 'bounced', 'dropped', 'cancelled'"
)


def upgrade() -> None:
    c = "notice_campaigns"
    op.create_table(
        c,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("previous", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("effective_on", sa.Date(), nullable=False),
        sa.Column("send_by", sa.Date(), nullable=False),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.Column("wrapped_key", sa.LargeBinary(), nullable=True),
        sa.Column("stage", sa.Integer(), nullable=False),
        sa.Column("cursor", sa.Text(), nullable=True),
        sa.Column("skipped", sa.Integer(), nullable=False),
        sa.Column("tables_skipped", sa.Text(), nullable=True),
        sa.Column("cancelled_because", sa.String(length=16), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("planned_at", UTCDateTime(), nullable=True),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.CheckConstraint(f"status IN ({CAMPAIGN_STATUSES})", name=op.f(f"ck_{c}_status")),
        sa.CheckConstraint("stage >= 0", name=op.f(f"ck_{c}_stage_not_negative")),
        sa.ForeignKeyConstraint(
            ["version"], ["policy_versions.number"], name=op.f(f"fk_{c}_version_policy_versions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{c}")),
        sa.UniqueConstraint("version", name=op.f(f"uq_{c}_version")),
    )
    d = "notice_deliveries"
    op.create_table(
        d,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("recipient_key", sa.String(length=64), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=True),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("address_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=False),
        sa.Column("last_error", sa.String(length=200), nullable=True),
        sa.Column("claimed_at", UTCDateTime(), nullable=True),
        sa.Column("claimed_by", sa.String(length=200), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("sent_at", UTCDateTime(), nullable=True),
        sa.CheckConstraint(f"status IN ({DELIVERY_STATUSES})", name=op.f(f"ck_{d}_status")),
        sa.CheckConstraint("language IN ('de', 'en')", name=op.f(f"ck_{d}_language")),
        sa.ForeignKeyConstraint(["version"], [f"{c}.version"], name=op.f(f"fk_{d}_version_{c}")),
        sa.ForeignKeyConstraint(
            ["subject_id"], ["subjects.id"], name=op.f(f"fk_{d}_subject_id_subjects")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{d}")),
        sa.UniqueConstraint("version", "recipient_key", name="uq_notice_deliveries_recipient"),
    )
    op.create_index("ix_notice_deliveries_due", d, ["version", "status", "next_attempt_at"])


def downgrade() -> None:
    op.drop_index("ix_notice_deliveries_due", table_name="notice_deliveries")
    op.drop_table("notice_deliveries")
    op.drop_table("notice_campaigns")
