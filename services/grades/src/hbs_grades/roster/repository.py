"""All SQL on grades' copy of the roster: students, enrolments, assignments."""

from __future__ import annotations

import uuid

from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hbs_grades.models import (
    Assignment,
    ClassSubject,
    ConductChange,
    Enrolment,
    ScoreSheet,
    SheetEntry,
    SheetState,
    Student,
    TermRecord,
    YearExtra,
)
from hbs_shared.names import name_key

EDITABLE_STATES = (SheetState.open.value, SheetState.submitted.value)
NO_TEACHER = uuid.UUID(int=0)
"""Stored as a sheet's teacher while its class-subject has none (shown as null): it matches no
user, so nobody can enter or sign the sheet, and keeps the column NOT NULL (no SQLite rebuild of
score_sheets, whose entries would cascade away)."""


def vietnamese_order(student: Student) -> tuple[bytes, bytes]:
    """Class lists are ordered as the school's: given name, then family and middle names (collation)."""
    return name_key(student.full_name)


class RosterRepository:
    async def student(self, session: AsyncSession, school_id: str, student_id: uuid.UUID) -> Student | None:
        """The school's student: an id of another school's is not found."""
        result = await session.execute(
            select(Student).where(Student.id == student_id, Student.school_id == school_id)
        )
        return result.scalar_one_or_none()

    async def held_elsewhere(
        self,
        session: AsyncSession,
        model: type[Student] | type[Assignment],
        row_id: uuid.UUID,
        school_id: str,
    ) -> bool:
        """Whether another school already holds this id (the table's key is the id alone)."""
        result = await session.execute(select(model.school_id).where(model.id == row_id))
        held = result.scalar_one_or_none()
        return held is not None and held != school_id

    def add(self, session: AsyncSession, row: Student | Enrolment | Assignment) -> None:
        session.add(row)

    async def enrolments_of(
        self, session: AsyncSession, school_id: str, student_id: uuid.UUID, school_year: str
    ) -> list[Enrolment]:
        result = await session.execute(
            select(Enrolment).where(
                Enrolment.school_id == school_id,
                Enrolment.student_id == student_id,
                Enrolment.school_year == school_year,
            )
        )
        return list(result.scalars())

    async def class_list(
        self, session: AsyncSession, school_id: str, school_year: str, class_name: str
    ) -> list[Student]:
        """The students now in the class, in class-list order."""
        result = await session.execute(
            select(Student)
            .join(Enrolment, Enrolment.student_id == Student.id)
            .where(
                Enrolment.school_id == school_id,
                Enrolment.school_year == school_year,
                Enrolment.class_name == class_name,
                Enrolment.left_on.is_(None),
            )
        )
        return sorted(result.scalars(), key=vietnamese_order)

    async def school_lists(
        self, session: AsyncSession, school_id: str, school_year: str
    ) -> dict[str, list[Student]]:
        """Every class's current list, by class name."""
        result = await session.execute(
            select(Enrolment.class_name, Student)
            .join(Student, Enrolment.student_id == Student.id)
            .where(
                Enrolment.school_id == school_id,
                Enrolment.school_year == school_year,
                Enrolment.left_on.is_(None),
            )
        )
        lists: dict[str, list[Student]] = {}
        for class_name, student in result.all():
            lists.setdefault(class_name, []).append(student)
        return {name: sorted(students, key=vietnamese_order) for name, students in lists.items()}

    async def current_class(
        self, session: AsyncSession, school_id: str, student_id: uuid.UUID, school_year: str
    ) -> Enrolment | None:
        for enrolment in await self.enrolments_of(session, school_id, student_id, school_year):
            if enrolment.left_on is None:
                return enrolment
        return None

    async def assignment(
        self, session: AsyncSession, school_id: str, assignment_id: uuid.UUID
    ) -> Assignment | None:
        result = await session.execute(
            select(Assignment).where(Assignment.id == assignment_id, Assignment.school_id == school_id)
        )
        return result.scalar_one_or_none()

    async def active_assignments(
        self,
        session: AsyncSession,
        school_id: str,
        school_year: str,
        teacher_id: uuid.UUID | None = None,
        *,
        class_name: str | None = None,
    ) -> list[Assignment]:
        query = select(Assignment).where(
            Assignment.school_id == school_id,
            Assignment.school_year == school_year,
            Assignment.active.is_(True),
        )
        if teacher_id is not None:
            query = query.where(Assignment.teacher_id == teacher_id)
        if class_name is not None:
            query = query.where(Assignment.class_name == class_name)
        return list((await session.execute(query)).scalars())

    async def homeroom_teachers(
        self, session: AsyncSession, school_id: str, school_year: str, class_name: str
    ) -> list[Assignment]:
        result = await session.execute(
            select(Assignment).where(
                Assignment.school_id == school_id,
                Assignment.school_year == school_year,
                Assignment.class_name == class_name,
                Assignment.kind == "homeroom_teacher",
                Assignment.active.is_(True),
            )
        )
        return list(result.scalars())

    async def class_grades(self, session: AsyncSession, school_id: str, school_year: str) -> dict[str, int]:
        """Grade level (10, 11, 12) of every class with a current student."""
        result = await session.execute(
            select(Enrolment.class_name, Enrolment.grade_level)
            .where(
                Enrolment.school_id == school_id,
                Enrolment.school_year == school_year,
                Enrolment.left_on.is_(None),
            )
            .distinct()
        )
        return {str(name): int(level) for name, level in result.all()}

    async def class_grade(
        self, session: AsyncSession, school_id: str, school_year: str, class_name: str
    ) -> int | None:
        """Grade level (10, 11, 12) of one class with a current student."""
        result = await session.execute(
            select(Enrolment.grade_level)
            .where(
                Enrolment.school_id == school_id,
                Enrolment.school_year == school_year,
                Enrolment.class_name == class_name,
                Enrolment.left_on.is_(None),
            )
            .limit(1)
        )
        level = result.scalar_one_or_none()
        return None if level is None else int(level)

    async def assigned_class_name(
        self, session: AsyncSession, school_id: str, school_year: str, class_id: uuid.UUID
    ) -> str | None:
        """The class's name as the assignments topic last gave it (renames travel there, in order)."""
        result = await session.execute(
            select(Assignment.class_name).where(
                Assignment.school_id == school_id,
                Assignment.school_year == school_year,
                Assignment.class_id == class_id,
            )
        )
        return result.scalars().first()

    async def class_ids_named(
        self, session: AsyncSession, school_id: str, school_year: str, class_name: str
    ) -> set[uuid.UUID]:
        """The classes grades knows under this name this year (one, unless a rename is in flight)."""
        found: set[uuid.UUID] = set()
        for statement in (
            select(Enrolment.class_id).where(
                Enrolment.school_id == school_id,
                Enrolment.school_year == school_year,
                Enrolment.class_name == class_name,
            ),
            select(Assignment.class_id).where(
                Assignment.school_id == school_id,
                Assignment.school_year == school_year,
                Assignment.class_name == class_name,
            ),
            select(ScoreSheet.class_id).where(
                ScoreSheet.school_id == school_id,
                ScoreSheet.school_year == school_year,
                ScoreSheet.class_name == class_name,
            ),
        ):
            found.update(value for value in (await session.execute(statement)).scalars() if value is not None)
        return found

    async def rename_class(
        self,
        session: AsyncSession,
        *,
        school_id: str,
        school_year: str,
        class_id: uuid.UUID,
        old_name: str,
        new_name: str,
        by_name_too: bool,
    ) -> None:
        """Every row kept under the class's name follows it. Rows that carry the class id move by
        id; the class plan and the conduct log (name only) move by name when `by_name_too`."""
        year = (ScoreSheet.school_id == school_id, ScoreSheet.school_year == school_year)
        await session.execute(
            update(ScoreSheet)
            .where(
                *year,
                or_(
                    ScoreSheet.class_id == class_id,
                    and_(ScoreSheet.class_id.is_(None), ScoreSheet.class_name == old_name),
                ),
            )
            .values(class_name=new_name, class_id=class_id)
            .execution_options(synchronize_session=False)
        )
        for model in (Enrolment, Assignment):
            await session.execute(
                update(model)
                .where(
                    model.school_id == school_id,
                    model.school_year == school_year,
                    model.class_id == class_id,
                )
                .values(class_name=new_name)
                .execution_options(synchronize_session=False)
            )
        if by_name_too:
            for named in (ClassSubject, ConductChange):
                await session.execute(
                    update(named)
                    .where(
                        named.school_id == school_id,
                        named.school_year == school_year,
                        named.class_name == old_name,
                    )
                    .values(class_name=new_name)
                    .execution_options(synchronize_session=False)
                )
        session.expire_all()

    async def remove_student(
        self, session: AsyncSession, school_id: str, student_id: uuid.UUID
    ) -> list[uuid.UUID]:
        """A student of the school deleted in identity: off the roster, their lines off every sheet
        still being entered, their conduct and year-end values gone (nothing of another school's).
        Returns the locked sheets that keep a line."""
        sheets = select(ScoreSheet.id).where(ScoreSheet.school_id == school_id)
        editable = sheets.where(ScoreSheet.state.in_(EDITABLE_STATES))
        await session.execute(
            delete(SheetEntry).where(SheetEntry.student_id == student_id, SheetEntry.sheet_id.in_(editable))
        )
        locked = await session.execute(
            select(SheetEntry.sheet_id).where(
                SheetEntry.student_id == student_id, SheetEntry.sheet_id.in_(sheets)
            )
        )
        for model in (TermRecord, YearExtra, Enrolment):
            await session.execute(
                delete(model).where(model.school_id == school_id, model.student_id == student_id)
            )
        await session.execute(delete(Student).where(Student.school_id == school_id, Student.id == student_id))
        session.expire_all()
        return list(locked.scalars())

    async def subject_sheets(
        self, session: AsyncSession, school_id: str, school_year: str, class_id: uuid.UUID, subject_code: str
    ) -> list[ScoreSheet]:
        result = await session.execute(
            select(ScoreSheet).where(
                ScoreSheet.school_id == school_id,
                ScoreSheet.school_year == school_year,
                ScoreSheet.class_id == class_id,
                ScoreSheet.subject_code == subject_code,
            )
        )
        return list(result.scalars())

    async def subject_teacher(
        self, session: AsyncSession, school_id: str, school_year: str, class_id: uuid.UUID, subject_code: str
    ) -> Assignment | None:
        """The class-subject's active teaching assignment, if it has one now."""
        result = await session.execute(
            select(Assignment).where(
                Assignment.school_id == school_id,
                Assignment.school_year == school_year,
                Assignment.class_id == class_id,
                Assignment.subject_code == subject_code,
                Assignment.kind == "subject_teacher",
                Assignment.active.is_(True),
            )
        )
        return result.scalars().first()
