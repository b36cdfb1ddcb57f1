"""The school's facts learnt from identity (`identity.school.changed`): name, province,
principal and current year, keyed by school; they replace the settings
HBS_GRADES_SCHOOL_NAME, _PROVINCE, _PRINCIPAL_NAME and _SCHOOL_YEAR.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "school_facts",
        sa.Column("school_id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("authority", sa.String(200), nullable=False, server_default=""),
        sa.Column("province", sa.String(100), nullable=False, server_default=""),
        sa.Column("principal_name", sa.String(200), nullable=False, server_default=""),
        sa.Column("school_year", sa.String(9), nullable=True),
        sa.Column("semester1_start", sa.Date(), nullable=True),
        sa.Column("semester1_end", sa.Date(), nullable=True),
        sa.Column("semester2_start", sa.Date(), nullable=True),
        sa.Column("semester2_end", sa.Date(), nullable=True),
        sa.Column("as_of", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("school_facts")
