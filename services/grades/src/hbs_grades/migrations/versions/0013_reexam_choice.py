"""Re-examination as Thông tư 22 has it: the subjects the student chose to retake
(`year_extras.reexam_choice`, JSON list of subject codes; NULL while not recorded).

Rows that already hold re-examination results get those subjects as their choice, so a result
computed before this revision stays the same.

Revision ID: 0013
Revises: 0007
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_extras = sa.table(
    "year_extras",
    sa.column("school_id", sa.String),
    sa.column("school_year", sa.String),
    sa.column("student_id", sa.Uuid),
    sa.column("reexam", sa.JSON),
    sa.column("reexam_choice", sa.JSON),
)


def upgrade() -> None:
    with op.batch_alter_table("year_extras") as batch:
        batch.add_column(sa.Column("reexam_choice", sa.JSON(), nullable=True))
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(_extras.c.school_id, _extras.c.school_year, _extras.c.student_id, _extras.c.reexam)
    ).all()
    for school_id, school_year, student_id, reexam in rows:
        entered = sorted(code for code, value in (reexam or {}).items() if value is not None)
        if not entered:
            continue
        bind.execute(
            sa.update(_extras)
            .where(
                _extras.c.school_id == school_id,
                _extras.c.school_year == school_year,
                _extras.c.student_id == student_id,
            )
            .values(reexam_choice=entered)
        )


def downgrade() -> None:
    with op.batch_alter_table("year_extras") as batch:
        batch.drop_column("reexam_choice")
