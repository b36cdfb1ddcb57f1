"""The two-person rule on the signing side: after an approved reset of any factor of an account,
its owner must set a new signing PIN before signing again; activations made before it no longer
sign. A PIN row may now exist without a PIN (forgotten by a `signing_pin` reset).

Revision ID: 0006
Revises: 0007 (0007, the school's facts, reached main first and may already be applied)
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("signing_pins") as batch:
        batch.alter_column("pin_hash", existing_type=sa.String(200), nullable=True)
        batch.add_column(sa.Column("reset_required", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("reset_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    # A row without a PIN cannot exist before this revision: the owner sets one again.
    op.execute(sa.text("DELETE FROM signing_pins WHERE pin_hash IS NULL"))
    with op.batch_alter_table("signing_pins") as batch:
        batch.drop_column("reset_at")
        batch.drop_column("reset_required")
        batch.alter_column("pin_hash", existing_type=sa.String(200), nullable=False)
