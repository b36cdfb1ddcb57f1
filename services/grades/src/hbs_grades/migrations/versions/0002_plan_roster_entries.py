"""Class plan, roster (from identity), sheet entries and their audit, conduct, attendance.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from hbs_shared.curriculum import SUBJECTS

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_id_type = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("score_sheets") as batch:
        batch.add_column(sa.Column("class_id", sa.Uuid(), nullable=True))
        batch.add_column(sa.Column("subject_code", sa.String(40), nullable=True))
        batch.add_column(sa.Column("assessment", sa.String(10), nullable=True))
        batch.add_column(sa.Column("regular_count", sa.Integer(), nullable=True))

    # Sheets made before the plan existed: the code from the subject's name, 3 regular
    # assessments (70 periods), semester "HK I" → "HK1".
    sheets = sa.table(
        "score_sheets",
        sa.column("subject", sa.String),
        sa.column("subject_code", sa.String),
        sa.column("assessment", sa.String),
        sa.column("regular_count", sa.Integer),
        sa.column("term", sa.String),
    )
    for subject in SUBJECTS:
        op.execute(
            sheets.update()
            .where(sheets.c.subject == subject.name)
            .values(subject_code=subject.code, assessment=subject.assessment.value)
        )
    op.execute(
        sheets.update()
        .where(sheets.c.subject_code.is_(None))
        .values(subject_code="UNKNOWN", assessment="scored")
    )
    op.execute(sheets.update().values(regular_count=3))
    op.execute(sheets.update().where(sheets.c.term == "HK I").values(term="HK1"))
    op.execute(sheets.update().where(sheets.c.term == "HK II").values(term="HK2"))
    with op.batch_alter_table("score_sheets") as batch:
        batch.alter_column("subject_code", existing_type=sa.String(40), nullable=False)
        batch.alter_column("assessment", existing_type=sa.String(10), nullable=False)
        batch.alter_column("regular_count", existing_type=sa.Integer(), nullable=False)

    op.create_table(
        "sheet_entries",
        sa.Column(
            "sheet_id", sa.Uuid(), sa.ForeignKey("score_sheets.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("student_id", sa.Uuid(), primary_key=True),
        sa.Column("regular", sa.JSON(), nullable=False),
        sa.Column("midterm", sa.String(4), nullable=True),
        sa.Column("final", sa.String(4), nullable=True),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("result", sa.String(4), nullable=True),
    )
    op.create_table(
        "entry_changes",
        sa.Column("id", _id_type, primary_key=True, autoincrement=True),
        sa.Column("sheet_id", sa.Uuid(), nullable=False, index=True),
        sa.Column("student_id", sa.Uuid(), nullable=False),
        sa.Column("column", sa.String(40), nullable=False),
        sa.Column("old_value", sa.Text(), nullable=True),
        sa.Column("new_value", sa.Text(), nullable=True),
        sa.Column("changed_by", sa.Uuid(), nullable=False),
        sa.Column("changed_by_name", sa.String(200), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sheet_state", sa.String(20), nullable=False),
        sa.Column("sheet_version", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
    )
    op.create_table(
        "students",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("school_id", sa.String(64), nullable=False, index=True),
        sa.Column("national_id", sa.String(32), nullable=False),
        sa.Column("full_name", sa.String(200), nullable=False),
        sa.Column("date_of_birth", sa.Date(), nullable=False),
        sa.Column("gender", sa.String(10), nullable=False),
        sa.Column("disability", sa.Boolean(), nullable=False),
    )
    op.create_table(
        "enrolments",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("school_id", sa.String(64), nullable=False),
        sa.Column("school_year", sa.String(9), nullable=False),
        sa.Column("student_id", sa.Uuid(), nullable=False, index=True),
        sa.Column("class_id", sa.Uuid(), nullable=False),
        sa.Column("class_name", sa.String(40), nullable=False, index=True),
        sa.Column("grade_level", sa.Integer(), nullable=False),
        sa.Column("enrolled_on", sa.Date(), nullable=False),
        sa.Column("left_on", sa.Date(), nullable=True),
        sa.Column("left_reason", sa.String(20), nullable=True),
        sa.UniqueConstraint("student_id", "school_year", "class_id"),
    )
    op.create_table(
        "assignments",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("school_id", sa.String(64), nullable=False),
        sa.Column("school_year", sa.String(9), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("teacher_id", sa.Uuid(), nullable=False, index=True),
        sa.Column("teacher_name", sa.String(200), nullable=False),
        sa.Column("class_id", sa.Uuid(), nullable=False),
        sa.Column("class_name", sa.String(40), nullable=False, index=True),
        sa.Column("grade_level", sa.Integer(), nullable=False),
        sa.Column("subject_code", sa.String(40), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
    )
    op.create_table(
        "class_subjects",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("school_id", sa.String(64), nullable=False),
        sa.Column("school_year", sa.String(9), nullable=False),
        sa.Column("class_name", sa.String(40), nullable=False),
        sa.Column("subject_code", sa.String(40), nullable=False),
        sa.Column("periods_per_year", sa.Integer(), nullable=False),
        sa.Column("assessment", sa.String(10), nullable=False),
        sa.UniqueConstraint("school_id", "school_year", "class_name", "subject_code"),
    )
    op.create_table(
        "term_records",
        sa.Column("school_id", sa.String(64), primary_key=True),
        sa.Column("school_year", sa.String(9), primary_key=True),
        sa.Column("student_id", sa.Uuid(), primary_key=True),
        sa.Column("term", sa.String(4), primary_key=True),
        sa.Column("conduct", sa.String(2), nullable=True),
        sa.Column("conduct_comment", sa.Text(), nullable=False),
        sa.Column("absent_excused", sa.Integer(), nullable=False),
        sa.Column("absent_unexcused", sa.Integer(), nullable=False),
        sa.Column("updated_by", sa.Uuid(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    op.create_table(
        "year_extras",
        sa.Column("school_id", sa.String(64), primary_key=True),
        sa.Column("school_year", sa.String(9), primary_key=True),
        sa.Column("student_id", sa.Uuid(), primary_key=True),
        sa.Column("summer_training", sa.String(2), nullable=True),
        sa.Column("reexam", sa.JSON(), nullable=False),
    )


def downgrade() -> None:
    for table in (
        "year_extras",
        "term_records",
        "class_subjects",
        "assignments",
        "enrolments",
        "students",
        "entry_changes",
        "sheet_entries",
    ):
        op.drop_table(table)
    with op.batch_alter_table("score_sheets") as batch:
        batch.drop_column("regular_count")
        batch.drop_column("assessment")
        batch.drop_column("subject_code")
        batch.drop_column("class_id")
