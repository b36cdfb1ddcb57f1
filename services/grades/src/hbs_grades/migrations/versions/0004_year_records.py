"""Year records (Đ8 Steps 2–4) and corrections of signed sheets (Đ9).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "year_records",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("school_id", sa.String(64), nullable=False, index=True),
        sa.Column("school_year", sa.String(9), nullable=False),
        sa.Column("class_name", sa.String(40), nullable=False, index=True),
        sa.Column("student_id", sa.Uuid(), nullable=False),
        sa.Column("state", sa.String(30), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("edition", sa.Integer(), nullable=False),
        sa.Column("remarks", sa.Text(), nullable=False),
        sa.Column("request_id", sa.Uuid(), nullable=True),
        sa.Column("batch_id", sa.Uuid(), nullable=True, index=True),
        sa.Column("batch_by", sa.Uuid(), nullable=True),
        sa.Column("document_id", sa.Uuid(), nullable=True),
        sa.Column("document_sha256", sa.String(64), nullable=True),
        sa.Column("edition_signed", sa.Boolean(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("returned_reason", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.UniqueConstraint("school_id", "school_year", "student_id"),
    )
    op.create_table(
        "sheet_corrections",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("school_id", sa.String(64), nullable=False, index=True),
        sa.Column("sheet_id", sa.Uuid(), nullable=False, index=True),
        sa.Column("minutes_number", sa.String(60), nullable=False),
        sa.Column("minutes_date", sa.Date(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("opened_by", sa.Uuid(), nullable=False),
        sa.Column("opened_by_name", sa.String(200), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("superseded_document_id", sa.Uuid(), nullable=True),
        sa.Column("new_document_id", sa.Uuid(), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
    )
    with op.batch_alter_table("score_sheets") as batch:
        batch.add_column(sa.Column("correction_id", sa.Uuid(), nullable=True))
    with op.batch_alter_table("entry_changes") as batch:
        batch.add_column(sa.Column("correction_id", sa.Uuid(), nullable=True))
        batch.create_index("ix_entry_changes_correction_id", ["correction_id"])


def downgrade() -> None:
    with op.batch_alter_table("entry_changes") as batch:
        batch.drop_index("ix_entry_changes_correction_id")
        batch.drop_column("correction_id")
    with op.batch_alter_table("score_sheets") as batch:
        batch.drop_column("correction_id")
    op.drop_table("sheet_corrections")
    op.drop_table("year_records")
