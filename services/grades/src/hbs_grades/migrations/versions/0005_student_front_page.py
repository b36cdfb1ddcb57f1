"""The roster's students carry the year record's front-page personal data (DOMAIN §3b).

Existing rows get empty text (Việt Nam as nationality, as records showed so far) until identity's
next enrolment or update of the student carries the data.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS: tuple[tuple[str, int, str], ...] = (
    ("birthplace", 300, ""),
    ("ethnicity", 60, ""),
    ("nationality", 60, "Việt Nam"),
    ("address", 300, ""),
    ("father_name", 200, ""),
    ("mother_name", 200, ""),
    ("guardian_name", 200, ""),
    ("policy_group", 200, ""),
)


def upgrade() -> None:
    with op.batch_alter_table("students") as batch:
        for name, length, default in COLUMNS:
            batch.add_column(sa.Column(name, sa.String(length), nullable=False, server_default=default))


def downgrade() -> None:
    with op.batch_alter_table("students") as batch:
        for name, _length, _default in reversed(COLUMNS):
            batch.drop_column(name)
