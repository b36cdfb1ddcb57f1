"""Time windows (Đ5): the school's dates per year, period and step, extensions for one teacher or
class with the reason, and the moment each step of each sheet and record was done (Đ10).

Revision ID: 0008
Revises: 0011 (the audit trail's, merged from h/audit; 0007 before that merge)
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "time_windows",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("school_id", sa.String(64), nullable=False, index=True),
        sa.Column("school_year", sa.String(9), nullable=False),
        sa.Column("period", sa.String(4), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("opens_on", sa.Date(), nullable=False),
        sa.Column("closes_on", sa.Date(), nullable=False),
        sa.Column("set_by", sa.Uuid(), nullable=False),
        sa.Column("set_by_name", sa.String(200), nullable=False),
        sa.Column("set_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("school_id", "school_year", "period", "step"),
    )
    op.create_table(
        "window_extensions",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("school_id", sa.String(64), nullable=False, index=True),
        sa.Column("school_year", sa.String(9), nullable=False),
        sa.Column("period", sa.String(4), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("teacher_id", sa.Uuid(), nullable=True),
        sa.Column("teacher_name", sa.String(200), nullable=False),
        sa.Column("class_name", sa.String(40), nullable=True),
        sa.Column("closes_on", sa.Date(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("granted_by", sa.Uuid(), nullable=False),
        sa.Column("granted_by_name", sa.String(200), nullable=False),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(teacher_id IS NULL) <> (class_name IS NULL)", name="ck_window_extensions_teacher_or_class"
        ),
    )
    op.create_table(
        "step_marks",
        sa.Column("id", _id, primary_key=True, autoincrement=True),
        sa.Column("school_id", sa.String(64), nullable=False, index=True),
        sa.Column("school_year", sa.String(9), nullable=False),
        sa.Column("period", sa.String(4), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("item_kind", sa.String(10), nullable=False),
        sa.Column("item_id", sa.Uuid(), nullable=False, index=True),
        sa.Column("class_name", sa.String(40), nullable=False),
        sa.Column("subject", sa.String(120), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=True),
        sa.Column("person_name", sa.String(200), nullable=False),
        sa.Column("request_id", sa.Uuid(), nullable=True, index=True),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("step_marks")
    op.drop_table("window_extensions")
    op.drop_table("time_windows")
