"""consent ledger, current state and suppression list

Revision ID: 0006_consent
Revises: 0005_subjects
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from tutela.storage.base import UTCDateTime

revision = "0006_consent"
down_revision: str | None = "0005_subjects"
branch_labels = None
depends_on = None

GENESIS_HASH = "0" * 64
ACTIONS = "'given', 'confirmed', 'refused', 'withdrawn', 'objected', 'expired'"
CHANNELS = (
    "'web_form', 'api', 'banner', 'one_click', 'link_in_message', 'email', 'letter', "
    "'fax', 'phone', 'staff', 'gpc'"
)
KINDS = "'email', 'phone', 'customer_id', 'visitor_id'"


def upgrade() -> None:
    op.create_table(
        "consent_events",
        sa.Column("sequence", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("purpose_id", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("occurred_at", UTCDateTime(), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("policy_version", sa.Integer(), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("notice_hash", sa.String(length=64), nullable=True),
        sa.Column("proof_ciphertext", sa.LargeBinary(), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.CheckConstraint(f"action IN ({ACTIONS})", name=op.f("ck_consent_events_action")),
        sa.CheckConstraint(f"channel IN ({CHANNELS})", name=op.f("ck_consent_events_channel")),
        sa.ForeignKeyConstraint(
            ["subject_id"], ["subjects.id"], name=op.f("fk_consent_events_subject_id_subjects")
        ),
        sa.PrimaryKeyConstraint("sequence", name=op.f("pk_consent_events")),
    )
    op.create_index(op.f("ix_consent_events_subject_id"), "consent_events", ["subject_id"])
    head = op.create_table(
        "consent_ledger_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last_sequence", sa.BigInteger(), nullable=False),
        sa.Column("last_hash", sa.String(length=64), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_consent_ledger_head_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_ledger_head")),
    )
    op.bulk_insert(head, [{"id": 1, "last_sequence": 0, "last_hash": GENESIS_HASH}])
    op.create_table(
        "consent_state",
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("purpose_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("given_at", UTCDateTime(), nullable=True),
        sa.Column("confirmed_at", UTCDateTime(), nullable=True),
        sa.Column("notice_hash", sa.String(length=64), nullable=True),
        sa.Column("policy_version", sa.Integer(), nullable=True),
        sa.Column("last_sequence", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint(f"status IN ({ACTIONS})", name=op.f("ck_consent_state_status")),
        sa.ForeignKeyConstraint(
            ["subject_id"], ["subjects.id"], name=op.f("fk_consent_state_subject_id_subjects")
        ),
        sa.PrimaryKeyConstraint("subject_id", "purpose_id", name=op.f("pk_consent_state")),
    )
    op.create_index("ix_consent_state_purpose_id_status", "consent_state", ["purpose_id", "status"])
    op.create_table(
        "suppressions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("blind_index", sa.String(length=64), nullable=False),
        sa.Column("scope", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint(f"kind IN ({KINDS})", name=op.f("ck_suppressions_kind")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_suppressions")),
        sa.UniqueConstraint("kind", "blind_index", "scope", name=op.f("uq_suppressions_kind")),
    )


def downgrade() -> None:
    op.drop_table("suppressions")
    op.drop_index("ix_consent_state_purpose_id_status", table_name="consent_state")
    op.drop_table("consent_state")
    op.drop_table("consent_ledger_head")
    op.drop_index(op.f("ix_consent_events_subject_id"), table_name="consent_events")
    op.drop_table("consent_events")
