"""Revoked records (issue 13 §5): grades' `grades.record.revoked` as signing keeps it, so every
signed version of the record verifies as revoked, by code, by file and in the status list.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "document_revocations",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("school_id", sa.String(64), nullable=False),
        sa.Column("subject_id", sa.Uuid(), nullable=False),
        sa.Column("document_id", sa.Uuid(), nullable=True),
        sa.Column("minutes_number", sa.String(60), nullable=False),
        sa.Column("minutes_date", sa.Date(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("revoked_by", sa.Uuid(), nullable=False),
        sa.Column("revoked_by_role", sa.String(40), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.UniqueConstraint("school_id", "subject_id", name="uq_document_revocations_subject"),
    )


def downgrade() -> None:
    op.drop_table("document_revocations")
