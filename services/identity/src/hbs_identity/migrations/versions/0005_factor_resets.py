"""The two-person rule: factor reset requests, and which accounts have ever held a signing role.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SIGNER_ROLES = {"subject_teacher", "homeroom_teacher", "vice_principal", "principal"}
_accounts = sa.table(
    "accounts", sa.column("id", sa.Uuid()), sa.column("roles", sa.JSON()), sa.column("signer", sa.Boolean())
)


def upgrade() -> None:
    # SQLite cannot add a column to `accounts` in batch mode without rebuilding a table others
    # refer to; a plain ADD COLUMN with a default works on both.
    op.add_column("accounts", sa.Column("signer", sa.Boolean(), nullable=False, server_default=sa.false()))
    bind = op.get_bind()
    signers = [
        account_id
        for account_id, roles in bind.execute(sa.select(_accounts.c.id, _accounts.c.roles)).all()
        if _SIGNER_ROLES.intersection(roles or ())
    ]
    for start in range(0, len(signers), 500):
        bind.execute(
            sa.update(_accounts).where(_accounts.c.id.in_(signers[start : start + 500])).values(signer=True)
        )
    op.create_table(
        "factor_resets",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("school_id", sa.String(64), nullable=False, index=True),
        sa.Column("user_id", sa.Uuid(), sa.ForeignKey("accounts.id"), nullable=False, index=True),
        sa.Column("factor", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("state", sa.String(10), nullable=False, index=True),
        sa.Column("requested_by", sa.Uuid(), nullable=False),
        sa.Column("requested_by_name", sa.String(200), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.Uuid(), nullable=True),
        sa.Column("decided_by_name", sa.String(200), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=True),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index(
        "uq_factor_resets_pending",
        "factor_resets",
        ["user_id", "factor"],
        unique=True,
        sqlite_where=sa.text("state = 'pending'"),
        postgresql_where=sa.text("state = 'pending'"),
    )


def downgrade() -> None:
    op.drop_index("uq_factor_resets_pending", table_name="factor_resets")
    op.drop_table("factor_resets")
    # Not batch mode: on SQLite it would rebuild `accounts`, which other tables refer to.
    op.drop_column("accounts", "signer")
