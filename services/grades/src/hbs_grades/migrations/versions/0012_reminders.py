"""The board's reminders (Nhắc, issue 11 §2) and the teachers' e-mail addresses they go to.

Revision ID: 0012
Revises: 0008
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "staff_contacts",
        sa.Column("teacher_id", sa.Uuid(), primary_key=True),
        sa.Column("school_id", sa.String(64), nullable=False, index=True),
        sa.Column("email", sa.String(200), nullable=True),
    )
    op.create_table(
        "reminders",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("school_id", sa.String(64), nullable=False, index=True),
        sa.Column("school_year", sa.String(9), nullable=False),
        sa.Column("recipient_id", sa.Uuid(), nullable=False, index=True),
        sa.Column("recipient_name", sa.String(200), nullable=False),
        sa.Column("sender_id", sa.Uuid(), nullable=True),
        sa.Column("sender_name", sa.String(200), nullable=False),
        sa.Column("step", sa.String(20), nullable=False),
        sa.Column("term", sa.String(4), nullable=True),
        sa.Column("class_name", sa.String(40), nullable=True),
        sa.Column("subject", sa.String(120), nullable=True),
        sa.Column("sheet_id", sa.Uuid(), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("email", sa.String(200), nullable=True),
        sa.Column("email_state", sa.String(20), nullable=False),
        sa.Column("email_attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("email_error", sa.Text(), nullable=True),
        sa.Column("emailed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("dedupe_key", sa.String(300), nullable=True),
        sa.UniqueConstraint("dedupe_key", name="uq_reminders_dedupe_key"),
    )


def downgrade() -> None:
    op.drop_table("reminders")
    op.drop_table("staff_contacts")
