"""The audit trail (issue 11, Đ9.2): `audit_trail`, append-only and hash-chained, and its head
`audit_head` (one row, locked by every append), starting at the genesis link.

Revision ID: 0011
Revises: 0007
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_seq = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
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
