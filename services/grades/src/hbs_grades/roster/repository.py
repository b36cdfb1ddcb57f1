"""All SQL on grades' copy of the roster: students, enrolments, assignments."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hbs_grades.models import Assignment, Enrolment, Student


def vietnamese_order(student: Student) -> tuple[str, str]:
    """Class lists are ordered by given name (the last word), then the full name."""
    return (student.full_name.split()[-1].casefold(), student.full_name.casefold())


class RosterRepository:
    async def student(self, session: AsyncSession, student_id: uuid.UUID) -> Student | None:
        return await session.get(Student, student_id)

    def add(self, session: AsyncSession, row: Student | Enrolment | Assignment) -> None:
        session.add(row)

    async def enrolments_of(
        self, session: AsyncSession, student_id: uuid.UUID, school_year: str
    ) -> list[Enrolment]:
        result = await session.execute(
            select(Enrolment).where(Enrolment.student_id == student_id, Enrolment.school_year == school_year)
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
        self, session: AsyncSession, student_id: uuid.UUID, school_year: str
    ) -> Enrolment | None:
        for enrolment in await self.enrolments_of(session, student_id, school_year):
            if enrolment.left_on is None:
                return enrolment
        return None

    async def assignment(self, session: AsyncSession, assignment_id: uuid.UUID) -> Assignment | None:
        return await session.get(Assignment, assignment_id)

    async def active_assignments(
        self, session: AsyncSession, school_id: str, school_year: str, teacher_id: uuid.UUID | None = None
    ) -> list[Assignment]:
        query = select(Assignment).where(
            Assignment.school_id == school_id,
            Assignment.school_year == school_year,
            Assignment.active.is_(True),
        )
        if teacher_id is not None:
            query = query.where(Assignment.teacher_id == teacher_id)
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
