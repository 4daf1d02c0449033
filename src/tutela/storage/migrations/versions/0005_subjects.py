"""data subjects, identities and their keys

Revision ID: 0005_subjects
Revises: 0004_staff
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from tutela.storage.base import UTCDateTime

revision = "0005_subjects"
down_revision: str | None = "0004_staff"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "subjects",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=32), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("erased_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subjects")),
        sa.UniqueConstraint("public_id", name=op.f("uq_subjects_public_id")),
    )
    op.create_table(
        "subject_keys",
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("wrapped_key", sa.LargeBinary(), nullable=False),
        sa.Column("key_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["subject_id"],
            ["subjects.id"],
            name=op.f("fk_subject_keys_subject_id_subjects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("subject_id", name=op.f("pk_subject_keys")),
    )
    op.create_table(
        "subject_identities",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("blind_index", sa.String(length=64), nullable=False),
        sa.Column("value_ciphertext", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "kind IN ('email', 'phone', 'customer_id', 'visitor_id')",
            name=op.f("ck_subject_identities_kind"),
        ),
        sa.ForeignKeyConstraint(
            ["subject_id"],
            ["subjects.id"],
            name=op.f("fk_subject_identities_subject_id_subjects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subject_identities")),
        sa.UniqueConstraint("kind", "blind_index", name=op.f("uq_subject_identities_kind")),
    )
    op.create_index(
        op.f("ix_subject_identities_subject_id"),
        "subject_identities",
        ["subject_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_subject_identities_subject_id"), table_name="subject_identities")
    op.drop_table("subject_identities")
    op.drop_table("subject_keys")
    op.drop_table("subjects")
