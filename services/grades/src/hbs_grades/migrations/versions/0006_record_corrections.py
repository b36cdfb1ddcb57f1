"""Corrections of an approved year record (Đ9): conduct, attendance or remarks changed after the
principal's seal, under minutes (biên bản) confirmed by the board; the sealed version stays.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "record_corrections",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("school_id", sa.String(64), nullable=False, index=True),
        sa.Column("record_id", sa.Uuid(), nullable=False, index=True),
        sa.Column("minutes_number", sa.String(60), nullable=False),
        sa.Column("minutes_date", sa.Date(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("opened_by", sa.Uuid(), nullable=False),
        sa.Column("opened_by_name", sa.String(200), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("superseded_document_id", sa.Uuid(), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("record_corrections")
