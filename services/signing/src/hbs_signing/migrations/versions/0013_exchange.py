"""Transfer and graduation packages (issue 13): `exchange_packages`, `exchange_files`, and
signing's own hash-chained audit trail (`audit_trail`, `audit_head`) for exports and imports.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_seq = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "exchange_packages",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("school_id", sa.String(64), nullable=False),
        sa.Column("direction", sa.String(10), nullable=False),
        sa.Column("reason", sa.String(20), nullable=False),
        sa.Column("student_id", sa.Uuid(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("records", sa.Integer(), nullable=False),
        sa.Column("sender_school_id", sa.String(64), nullable=False),
        sa.Column("sender_school_name", sa.String(300), nullable=False),
        sa.Column("sender_package_id", sa.Uuid(), nullable=False),
        sa.Column("receipt_sha256", sa.String(64), nullable=True),
        sa.Column("actor_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    for column in ("school_id", "student_id", "sha256"):
        op.create_index(f"ix_exchange_packages_{column}", "exchange_packages", [column])
    op.create_table(
        "exchange_files",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("package_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("media_type", sa.String(60), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("school_year", sa.String(9), nullable=True),
        sa.Column("class_name", sa.String(60), nullable=True),
    )
    op.create_index("ix_exchange_files_package_id", "exchange_files", ["package_id"])
    head = op.create_table(
        "audit_head",
        sa.Column("chain", sa.String(40), primary_key=True),
        sa.Column("seq", _seq, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.bulk_insert(head, [{"chain": "audit", "seq": 0, "hash": "0" * 64}])
    op.create_table(
        "audit_trail",
        sa.Column("seq", _seq, primary_key=True, autoincrement=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("school_id", sa.String(64), nullable=False),
        sa.Column("actor_id", sa.Uuid(), nullable=True),
        sa.Column("actor_name", sa.String(200), nullable=False),
        sa.Column("action", sa.String(60), nullable=False),
        sa.Column("subject_kind", sa.String(40), nullable=True),
        sa.Column("subject_id", sa.String(64), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
    )
    for column in ("occurred_at", "school_id", "actor_id", "action", "subject_id"):
        op.create_index(f"ix_audit_trail_{column}", "audit_trail", [column])


def downgrade() -> None:
    op.drop_table("audit_trail")
    op.drop_table("audit_head")
    op.drop_table("exchange_files")
    op.drop_table("exchange_packages")
