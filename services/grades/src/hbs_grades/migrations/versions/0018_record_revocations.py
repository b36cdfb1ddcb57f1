"""Revocation of an approved year record (thu hồi, Đ9): the board's minutes it was annulled under.
The record's state `revoked` is a new value of the existing string column.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "record_revocations",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("school_id", sa.String(64), nullable=False, index=True),
        sa.Column("record_id", sa.Uuid(), nullable=False, index=True, unique=True),
        sa.Column("minutes_number", sa.String(60), nullable=False),
        sa.Column("minutes_date", sa.Date(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("opened_by", sa.Uuid(), nullable=False),
        sa.Column("opened_by_name", sa.String(200), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("superseded_document_id", sa.Uuid(), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("record_revocations")
