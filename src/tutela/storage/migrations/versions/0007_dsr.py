"""data-subject requests, their verifications and assurance approvals

Revision ID: 0007_dsr
Revises: 0006_consent
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from tutela.storage.base import UTCDateTime

revision = "0007_dsr"
down_revision: str | None = "0006_consent"
branch_labels = None
depends_on = None

TYPES = (
    "'access', 'portability', 'rectification', 'erasure', 'restriction', 'objection', "
    "'consent_withdrawal', 'know', 'delete', 'correct', 'opt_out_sale_share', 'limit_sensitive'"
)
JURISDICTIONS = "'gdpr', 'ccpa'"
CHANNELS = "'web_form', 'api', 'in_app', 'email', 'letter', 'fax', 'phone'"
SCOPES = "'general', 'marketing', 'contact_data'"
STATUSES = (
    "'received', 'awaiting_verification', 'verified', 'in_progress', 'completed', 'denied', "
    "'expired_unverified'"
)
ASSURANCES = "'none', 'channel', 'channel_and_notice'"
KINDS = "'email', 'phone', 'customer_id', 'visitor_id'"
METHODS = "'not_required', 'link', 'code', 'assertion', 'staff_approval'"
OUTCOMES = "'fulfilled', 'partially_fulfilled', 'no_data', 'denied', 'unverified'"


def _check(table: str, name: str, condition: str) -> sa.CheckConstraint:
    return sa.CheckConstraint(condition, name=op.f(f"ck_{table}_{name}"))


def upgrade() -> None:
    t = "dsr_requests"
    op.create_table(
        t,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=24), nullable=False),
        sa.Column("request_type", sa.String(length=24), nullable=False),
        sa.Column("jurisdiction", sa.String(length=8), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column("legal_deadline", sa.Date(), nullable=False),
        sa.Column("target_deadline", sa.Date(), nullable=False),
        sa.Column("confirm_by", sa.Date(), nullable=True),
        sa.Column("extended_until", sa.Date(), nullable=True),
        sa.Column("extension_reason", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("required_assurance", sa.String(length=24), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=True),
        sa.Column("identity_kind", sa.String(length=16), nullable=False),
        sa.Column("identity_index", sa.String(length=64), nullable=False),
        sa.Column("wrapped_key", sa.LargeBinary(), nullable=True),
        sa.Column("identity_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("details_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("flag", sa.String(length=32), nullable=True),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("verified_at", UTCDateTime(), nullable=True),
        sa.Column("verification_method", sa.String(length=24), nullable=True),
        sa.Column("closed_at", UTCDateTime(), nullable=True),
        sa.Column("outcome", sa.String(length=24), nullable=True),
        sa.Column("outcome_reason", sa.Text(), nullable=True),
        _check(t, "request_type", f"request_type IN ({TYPES})"),
        _check(t, "jurisdiction", f"jurisdiction IN ({JURISDICTIONS})"),
        _check(t, "channel", f"channel IN ({CHANNELS})"),
        _check(t, "scope", f"scope IN ({SCOPES})"),
        _check(t, "status", f"status IN ({STATUSES})"),
        _check(t, "required_assurance", f"required_assurance IN ({ASSURANCES})"),
        _check(t, "identity_kind", f"identity_kind IN ({KINDS})"),
        _check(t, "verification_method", f"verification_method IN ({METHODS})"),
        _check(t, "outcome", f"outcome IN ({OUTCOMES})"),
        sa.ForeignKeyConstraint(
            ["subject_id"], ["subjects.id"], name=op.f("fk_dsr_requests_subject_id_subjects")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dsr_requests")),
        sa.UniqueConstraint("reference", name=op.f("uq_dsr_requests_reference")),
    )
    op.create_index(op.f("ix_dsr_requests_subject_id"), t, ["subject_id"])
    op.create_index("ix_dsr_requests_status_legal_deadline", t, ["status", "legal_deadline"])
    op.create_index(
        "ix_dsr_requests_identity", t, ["identity_kind", "identity_index", "received_at"]
    )
    v = "dsr_verifications"
    op.create_table(
        v,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("method", sa.String(length=8), nullable=False),
        sa.Column("token_digest", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("attempts_left", sa.Integer(), nullable=False),
        sa.Column("used_at", UTCDateTime(), nullable=True),
        _check(v, "method", "method IN ('link', 'code')"),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["dsr_requests.id"],
            name=op.f("fk_dsr_verifications_request_id_dsr_requests"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dsr_verifications")),
    )
    op.create_index(op.f("ix_dsr_verifications_request_id"), v, ["request_id"])
    op.create_index(op.f("ix_dsr_verifications_token_digest"), v, ["token_digest"])
    a = "dsr_approvals"
    op.create_table(
        a,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("from_level", sa.String(length=24), nullable=False),
        sa.Column("to_level", sa.String(length=24), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("requested_by", sa.Integer(), nullable=False),
        sa.Column("requested_at", UTCDateTime(), nullable=False),
        sa.Column("approved_by", sa.Integer(), nullable=True),
        sa.Column("approved_at", UTCDateTime(), nullable=True),
        _check(a, "from_level", f"from_level IN ({ASSURANCES})"),
        _check(a, "to_level", f"to_level IN ({ASSURANCES})"),
        _check(a, "two_people", "approved_by IS NULL OR approved_by <> requested_by"),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["dsr_requests.id"],
            name=op.f("fk_dsr_approvals_request_id_dsr_requests"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["requested_by"],
            ["staff_users.id"],
            name=op.f("fk_dsr_approvals_requested_by_staff_users"),
        ),
        sa.ForeignKeyConstraint(
            ["approved_by"],
            ["staff_users.id"],
            name=op.f("fk_dsr_approvals_approved_by_staff_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dsr_approvals")),
    )
    op.create_index(op.f("ix_dsr_approvals_request_id"), a, ["request_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_dsr_approvals_request_id"), table_name="dsr_approvals")
    op.drop_table("dsr_approvals")
    op.drop_index(op.f("ix_dsr_verifications_token_digest"), table_name="dsr_verifications")
    op.drop_index(op.f("ix_dsr_verifications_request_id"), table_name="dsr_verifications")
    op.drop_table("dsr_verifications")
    op.drop_index("ix_dsr_requests_identity", table_name="dsr_requests")
    op.drop_index("ix_dsr_requests_status_legal_deadline", table_name="dsr_requests")
    op.drop_index(op.f("ix_dsr_requests_subject_id"), table_name="dsr_requests")
    op.drop_table("dsr_requests")
