"""A subject teacher signs all their ready sheets under one PIN activation: the sheets signed
together carry the batch's id (`score_sheets.sign_batch_id`), so the teacher's page follows them
until each is signed.

Revision ID: 0014
Revises: 0012
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("score_sheets") as batch:
        batch.add_column(sa.Column("sign_batch_id", sa.Uuid(), nullable=True))
        batch.create_index("ix_score_sheets_sign_batch_id", ["sign_batch_id"])


def downgrade() -> None:
    with op.batch_alter_table("score_sheets") as batch:
        batch.drop_index("ix_score_sheets_sign_batch_id")
        batch.drop_column("sign_batch_id")
