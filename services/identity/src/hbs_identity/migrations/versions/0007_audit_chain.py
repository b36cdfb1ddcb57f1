"""The audit log becomes a hash chain (issue 11, Đ9.2): every entry gets its sequence number, the
previous entry's hash and its own (`hbs_shared.audit`); the entries already there are chained in
the order they were written (by id), and the chain's head row `audit_head` records the last.

Revision ID: 0007
Revises: 0005
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from hbs_shared.audit.chain import GENESIS, Head, link
from hbs_shared.db import UtcDateTime

revision: str = "0007"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_log = sa.table(
    "audit_log",
    sa.column("id", sa.Integer()),
    sa.column("school_id", sa.String()),
    sa.column("at", UtcDateTime()),
    sa.column("actor_id", sa.Uuid()),
    sa.column("actor_name", sa.String()),
    sa.column("action", sa.String()),
    sa.column("object_type", sa.String()),
    sa.column("object_id", sa.String()),
    sa.column("source", sa.String()),
    sa.column("detail", sa.JSON()),
    sa.column("seq", sa.Integer()),
    sa.column("prev_hash", sa.String()),
    sa.column("hash", sa.String()),
)


def upgrade() -> None:
    with op.batch_alter_table("audit_log") as batch:
        batch.add_column(sa.Column("seq", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("prev_hash", sa.String(64), nullable=True))
        batch.add_column(sa.Column("hash", sa.String(64), nullable=True))
    head_table = op.create_table(
        "audit_head",
        sa.Column("chain", sa.String(40), primary_key=True),
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    bind = op.get_bind()
    head = Head(0, GENESIS)
    updates = []
    for row in bind.execute(sa.select(_log).order_by(_log.c.id)):
        entry = link(
            head,
            occurred_at=row.at,
            school_id=row.school_id,
            actor_id=None if row.actor_id is None else str(row.actor_id),
            actor_name=row.actor_name,
            action=row.action,
            subject_kind=row.object_type,
            subject_id=row.object_id,
            details=dict(row.detail or {}),
            extra={"source": row.source},
        )
        updates.append(
            {
                "row_id": row.id,
                "seq": entry.seq,
                "prev_hash": entry.prev_hash,
                "hash": entry.hash,
                "detail": dict(entry.details),
            }
        )
        head = Head(entry.seq, entry.hash)
    if updates:
        bind.execute(
            _log.update()
            .where(_log.c.id == sa.bindparam("row_id"))
            .values(
                seq=sa.bindparam("seq"),
                prev_hash=sa.bindparam("prev_hash"),
                hash=sa.bindparam("hash"),
                detail=sa.bindparam("detail", type_=sa.JSON()),
            ),
            updates,
        )
    op.bulk_insert(head_table, [{"chain": "audit", "seq": head.seq, "hash": head.hash}])
    with op.batch_alter_table("audit_log") as batch:
        batch.alter_column("seq", existing_type=sa.Integer(), nullable=False)
        batch.alter_column("prev_hash", existing_type=sa.String(64), nullable=False)
        batch.alter_column("hash", existing_type=sa.String(64), nullable=False)
        batch.create_index("ix_audit_log_seq", ["seq"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("audit_log") as batch:
        batch.drop_index("ix_audit_log_seq")
        batch.drop_column("hash")
        batch.drop_column("prev_hash")
        batch.drop_column("seq")
    op.drop_table("audit_head")
