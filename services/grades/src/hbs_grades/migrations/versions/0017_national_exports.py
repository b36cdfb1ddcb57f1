"""National exports (CSDL ngành, issue 13 §4): each export and, per student with a sealed record
at that moment, the fingerprint of their data, so a later export sends only what changed since.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "national_exports",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("school_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("since_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=False),
        sa.Column("created_by_name", sa.String(200), nullable=False),
        sa.Column("students", sa.Integer(), nullable=False),
        sa.Column("withdrawn", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("document", sa.LargeBinary(), nullable=False),
    )
    op.create_index("ix_national_exports_school_id", "national_exports", ["school_id"])
    op.create_table(
        "national_export_items",
        sa.Column(
            "export_id",
            sa.Uuid(),
            sa.ForeignKey("national_exports.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("student_id", sa.Uuid(), primary_key=True),
        sa.Column("national_id", sa.String(32), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("national_export_items")
    op.drop_index("ix_national_exports_school_id", table_name="national_exports")
    op.drop_table("national_exports")
