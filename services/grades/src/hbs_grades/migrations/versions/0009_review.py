"""Review samples (Đ4.2, Đ8 step 3) and the homeroom teacher's check of personal data (Đ6.1).

Revision ID: 0009
Revises: 0007
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "review_settings",
        sa.Column("school_id", sa.String(64), primary_key=True),
        sa.Column("share_percent", sa.Integer(), nullable=False),
        sa.Column("minimum", sa.Integer(), nullable=False),
        sa.Column("updated_by_name", sa.String(200), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "review_samples",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("school_id", sa.String(64), nullable=False, index=True),
        sa.Column("school_year", sa.String(9), nullable=False),
        sa.Column("class_name", sa.String(40), nullable=False, index=True),
        sa.Column("seed", sa.String(64), nullable=False),
        sa.Column("population", sa.JSON(), nullable=False),
        sa.Column("share_percent", sa.Integer(), nullable=False),
        sa.Column("minimum", sa.Integer(), nullable=False),
        sa.Column("drawn_by", sa.Uuid(), nullable=False),
        sa.Column("drawn_by_name", sa.String(200), nullable=False),
        sa.Column("drawn_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("superseded", sa.Boolean(), nullable=False),
    )
    op.create_table(
        "review_items",
        sa.Column(
            "sample_id",
            sa.Uuid(),
            sa.ForeignKey("review_samples.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("record_id", sa.Uuid(), primary_key=True),
        sa.Column("student_id", sa.Uuid(), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("verdict", sa.String(10), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("returned_to", sa.String(40), nullable=True),
        sa.Column("returned_to_name", sa.String(200), nullable=True),
        sa.Column("decided_by_name", sa.String(200), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("history", sa.JSON(), nullable=False),
    )
    op.create_table(
        "personal_data_checks",
        sa.Column("school_id", sa.String(64), primary_key=True),
        sa.Column("school_year", sa.String(9), primary_key=True),
        sa.Column("student_id", sa.Uuid(), primary_key=True),
        sa.Column("class_name", sa.String(40), nullable=False),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("change_request_id", sa.Uuid(), nullable=True),
        sa.Column("checked_by", sa.Uuid(), nullable=False),
        sa.Column("checked_by_name", sa.String(200), nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("personal_data_checks")
    op.drop_table("review_items")
    op.drop_table("review_samples")
    op.drop_table("review_settings")
