"""School structure and people: school years, departments, staff, students (versioned), parents,
classes, enrolments, assignments; accounts learn their kind and a phone number.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.add_column(sa.Column("kind", sa.String(16), nullable=False, server_default="staff"))
        batch.add_column(sa.Column("phone", sa.String(20), nullable=True))
        batch.create_unique_constraint("uq_accounts_phone", ["phone"])

    op.create_table(
        "schools",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("authority", sa.String(200), nullable=False),
        sa.Column("province", sa.String(100), nullable=False),
    )
    op.create_table(
        "school_years",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("school_id", sa.String(64), nullable=False, index=True),
        sa.Column("name", sa.String(9), nullable=False),
        sa.Column("semester1_start", sa.Date(), nullable=False),
        sa.Column("semester1_end", sa.Date(), nullable=False),
        sa.Column("semester2_start", sa.Date(), nullable=False),
        sa.Column("semester2_end", sa.Date(), nullable=False),
        sa.Column("current", sa.Boolean(), nullable=False),
        sa.UniqueConstraint("school_id", "name"),
    )
    op.create_table(
        "departments",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("school_id", sa.String(64), nullable=False, index=True),
        sa.Column("name", sa.String(120), nullable=False),
        sa.UniqueConstraint("school_id", "name"),
    )
    op.create_table(
        "staff",
        sa.Column("id", sa.Uuid(), sa.ForeignKey("accounts.id"), primary_key=True),
        sa.Column("school_id", sa.String(64), nullable=False, index=True),
        sa.Column("full_name", sa.String(200), nullable=False),
        sa.Column("search_name", sa.String(200), nullable=False, index=True),
        sa.Column("department_id", sa.Uuid(), sa.ForeignKey("departments.id"), nullable=True),
        sa.Column("email", sa.String(200), nullable=True),
        sa.Column("phone", sa.String(20), nullable=True),
    )
    op.create_table(
        "students",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("school_id", sa.String(64), nullable=False, index=True),
        sa.Column("national_id", sa.String(32), nullable=False, unique=True),
        sa.Column("full_name", sa.String(200), nullable=False),
        sa.Column("search_name", sa.String(200), nullable=False, index=True),
        sa.Column("date_of_birth", sa.Date(), nullable=False),
        sa.Column("birthplace", sa.String(200), nullable=False),
        sa.Column("gender", sa.String(6), nullable=False),
        sa.Column("ethnicity", sa.String(40), nullable=False),
        sa.Column("nationality", sa.String(60), nullable=False),
        sa.Column("address", sa.String(300), nullable=False),
        sa.Column("citizen_id", sa.String(12), nullable=True),
        sa.Column("father_name", sa.String(200), nullable=True),
        sa.Column("father_occupation", sa.String(120), nullable=True),
        sa.Column("mother_name", sa.String(200), nullable=True),
        sa.Column("mother_occupation", sa.String(120), nullable=True),
        sa.Column("guardian_name", sa.String(200), nullable=True),
        sa.Column("guardian_occupation", sa.String(120), nullable=True),
        sa.Column("policy_group", sa.String(200), nullable=True),
        sa.Column("disability", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
    )
    op.create_table(
        "student_versions",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("student_id", sa.Uuid(), sa.ForeignKey("students.id"), nullable=False, index=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("changed_fields", sa.JSON(), nullable=False),
        sa.Column("changed_by", sa.Uuid(), nullable=True),
        sa.Column("changed_by_name", sa.String(200), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.UniqueConstraint("student_id", "version"),
    )
    op.create_table(
        "parents",
        sa.Column("id", sa.Uuid(), sa.ForeignKey("accounts.id"), primary_key=True),
        sa.Column("school_id", sa.String(64), nullable=False, index=True),
        sa.Column("full_name", sa.String(200), nullable=False),
        sa.Column("search_name", sa.String(200), nullable=False, index=True),
        sa.Column("phone", sa.String(20), nullable=True),
    )
    op.create_table(
        "parent_links",
        sa.Column("parent_id", sa.Uuid(), sa.ForeignKey("parents.id"), primary_key=True),
        sa.Column("student_id", sa.Uuid(), sa.ForeignKey("students.id"), primary_key=True, index=True),
        sa.Column("relationship", sa.String(16), nullable=False),
    )
    op.create_table(
        "classes",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("school_id", sa.String(64), nullable=False, index=True),
        sa.Column("school_year_id", sa.Uuid(), sa.ForeignKey("school_years.id"), nullable=False, index=True),
        sa.Column("name", sa.String(40), nullable=False),
        sa.Column("grade_level", sa.Integer(), nullable=False),
        sa.UniqueConstraint("school_year_id", "name"),
    )
    op.create_table(
        "enrolments",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("student_id", sa.Uuid(), sa.ForeignKey("students.id"), nullable=False),
        sa.Column("class_id", sa.Uuid(), sa.ForeignKey("classes.id"), nullable=False, index=True),
        sa.Column("school_year_id", sa.Uuid(), sa.ForeignKey("school_years.id"), nullable=False),
        sa.Column("enrolled_on", sa.Date(), nullable=False),
        sa.Column("left_on", sa.Date(), nullable=True),
        sa.Column("leave_reason", sa.String(20), nullable=True),
        sa.Column("previous_class_id", sa.Uuid(), nullable=True),
    )
    op.create_index("ix_enrolments_student_year", "enrolments", ["student_id", "school_year_id"])
    op.create_table(
        "assignments",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("school_id", sa.String(64), nullable=False, index=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("teacher_id", sa.Uuid(), sa.ForeignKey("staff.id"), nullable=False, index=True),
        sa.Column("class_id", sa.Uuid(), sa.ForeignKey("classes.id"), nullable=False),
        sa.Column("subject_code", sa.String(40), nullable=True),
        sa.Column("school_year_id", sa.Uuid(), sa.ForeignKey("school_years.id"), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index(
        "uq_assignments_active",
        "assignments",
        ["class_id", "kind", "subject_code"],
        unique=True,
        sqlite_where=sa.text("active AND subject_code IS NOT NULL"),
        postgresql_where=sa.text("active AND subject_code IS NOT NULL"),
    )
    op.create_index(
        "uq_assignments_homeroom",
        "assignments",
        ["class_id"],
        unique=True,
        sqlite_where=sa.text("active AND kind = 'homeroom_teacher'"),
        postgresql_where=sa.text("active AND kind = 'homeroom_teacher'"),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("school_id", sa.String(64), nullable=False, index=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False, index=True),
        sa.Column("actor_id", sa.Uuid(), nullable=True),
        sa.Column("actor_name", sa.String(200), nullable=False),
        sa.Column("action", sa.String(60), nullable=False, index=True),
        sa.Column("object_type", sa.String(40), nullable=True),
        sa.Column("object_id", sa.String(64), nullable=True),
        sa.Column("source", sa.String(64), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("audit_log")
    op.drop_index("uq_assignments_homeroom", "assignments")
    op.drop_index("uq_assignments_active", "assignments")
    op.drop_table("assignments")
    op.drop_index("ix_enrolments_student_year", "enrolments")
    for table in (
        "enrolments",
        "classes",
        "parent_links",
        "parents",
        "student_versions",
        "students",
        "staff",
        "departments",
        "school_years",
        "schools",
    ):
        op.drop_table(table)
    with op.batch_alter_table("accounts") as batch:
        batch.drop_constraint("uq_accounts_phone", type_="unique")
        batch.drop_column("phone")
        batch.drop_column("kind")
