"""All SQL on the school, its years, departments, classes and enrolments."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hbs_identity.models import (
    Account,
    Assignment,
    Department,
    Enrolment,
    School,
    SchoolClass,
    SchoolYear,
    Staff,
)
from hbs_shared.roles import Role


class SchoolRepository:
    async def school(self, session: AsyncSession, school_id: str) -> School | None:
        return await session.get(School, school_id)

    async def year(self, session: AsyncSession, year_id: uuid.UUID) -> SchoolYear | None:
        return await session.get(SchoolYear, year_id)

    async def year_by_name(self, session: AsyncSession, school_id: str, name: str) -> SchoolYear | None:
        result = await session.execute(
            select(SchoolYear).where(SchoolYear.school_id == school_id, SchoolYear.name == name)
        )
        return result.scalar_one_or_none()

    async def current_year(self, session: AsyncSession, school_id: str) -> SchoolYear | None:
        result = await session.execute(
            select(SchoolYear).where(SchoolYear.school_id == school_id, SchoolYear.current.is_(True))
        )
        return result.scalar_one_or_none()

    async def principal_name(self, session: AsyncSession, school_id: str) -> str:
        """The enabled staff account with the principal's role (the longest-standing if several)."""
        result = await session.execute(
            select(Account.full_name, Account.roles)
            .where(Account.school_id == school_id, Account.kind == "staff", Account.disabled.is_(False))
            .order_by(Account.created_at, Account.username)
        )
        return next((name for name, roles in result if Role.principal in roles), "")

    async def years(self, session: AsyncSession, school_id: str) -> list[SchoolYear]:
        result = await session.execute(
            select(SchoolYear).where(SchoolYear.school_id == school_id).order_by(SchoolYear.name)
        )
        return list(result.scalars())

    async def clear_current(self, session: AsyncSession, school_id: str) -> None:
        await session.execute(
            update(SchoolYear).where(SchoolYear.school_id == school_id).values(current=False)
        )

    async def department(self, session: AsyncSession, department_id: uuid.UUID) -> Department | None:
        return await session.get(Department, department_id)

    async def department_by_name(self, session: AsyncSession, school_id: str, name: str) -> Department | None:
        result = await session.execute(
            select(Department).where(Department.school_id == school_id, Department.name == name)
        )
        return result.scalar_one_or_none()

    async def departments(self, session: AsyncSession, school_id: str) -> list[Department]:
        result = await session.execute(
            select(Department).where(Department.school_id == school_id).order_by(Department.name)
        )
        return list(result.scalars())

    async def school_class(self, session: AsyncSession, class_id: uuid.UUID) -> SchoolClass | None:
        return await session.get(SchoolClass, class_id)

    async def class_by_name(self, session: AsyncSession, year_id: uuid.UUID, name: str) -> SchoolClass | None:
        result = await session.execute(
            select(SchoolClass).where(SchoolClass.school_year_id == year_id, SchoolClass.name == name)
        )
        return result.scalar_one_or_none()

    async def classes(
        self, session: AsyncSession, school_id: str, year_id: uuid.UUID | None = None
    ) -> list[SchoolClass]:
        query = select(SchoolClass).where(SchoolClass.school_id == school_id)
        if year_id is not None:
            query = query.where(SchoolClass.school_year_id == year_id)
        result = await session.execute(query.order_by(SchoolClass.grade_level, SchoolClass.name))
        return list(result.scalars())

    async def classes_by_id(self, session: AsyncSession, ids: set[uuid.UUID]) -> dict[uuid.UUID, SchoolClass]:
        if not ids:
            return {}
        result = await session.execute(select(SchoolClass).where(SchoolClass.id.in_(ids)))
        return {c.id: c for c in result.scalars()}

    async def active_enrolment(
        self, session: AsyncSession, student_id: uuid.UUID, year_id: uuid.UUID
    ) -> Enrolment | None:
        result = await session.execute(
            select(Enrolment).where(
                Enrolment.student_id == student_id,
                Enrolment.school_year_id == year_id,
                Enrolment.left_on.is_(None),
            )
        )
        return result.scalar_one_or_none()

    async def active_enrolments_of(self, session: AsyncSession, student_id: uuid.UUID) -> list[Enrolment]:
        result = await session.execute(
            select(Enrolment).where(Enrolment.student_id == student_id, Enrolment.left_on.is_(None))
        )
        return list(result.scalars())

    async def enrolments_of(self, session: AsyncSession, student_id: uuid.UUID) -> list[Enrolment]:
        result = await session.execute(
            select(Enrolment).where(Enrolment.student_id == student_id).order_by(Enrolment.enrolled_on)
        )
        return list(result.scalars())

    async def class_ids_of_student(self, session: AsyncSession, student_id: uuid.UUID) -> set[uuid.UUID]:
        """Every class the student was ever enrolled in (their teachers keep seeing them)."""
        result = await session.execute(select(Enrolment.class_id).where(Enrolment.student_id == student_id))
        return set(result.scalars())

    async def roster(self, session: AsyncSession, class_id: uuid.UUID) -> list[Enrolment]:
        result = await session.execute(
            select(Enrolment).where(Enrolment.class_id == class_id, Enrolment.left_on.is_(None))
        )
        return list(result.scalars())

    async def references_to_class(self, session: AsyncSession, class_id: uuid.UUID) -> dict[str, int]:
        """What keeps a class from being deleted: enrolments ever made, assignments ever made."""
        enrolments = await session.scalar(
            select(func.count()).select_from(Enrolment).where(Enrolment.class_id == class_id)
        )
        assignments = await session.scalar(
            select(func.count()).select_from(Assignment).where(Assignment.class_id == class_id)
        )
        return {"enrolments": int(enrolments or 0), "assignments": int(assignments or 0)}

    async def class_count(self, session: AsyncSession, year_id: uuid.UUID) -> int:
        found = await session.scalar(
            select(func.count()).select_from(SchoolClass).where(SchoolClass.school_year_id == year_id)
        )
        return int(found or 0)

    async def staff_count(self, session: AsyncSession, department_id: uuid.UUID) -> int:
        found = await session.scalar(
            select(func.count()).select_from(Staff).where(Staff.department_id == department_id)
        )
        return int(found or 0)

    async def delete(self, session: AsyncSession, row: object) -> None:
        await session.delete(row)
        await session.flush()

    def add(self, session: AsyncSession, row: object) -> None:
        session.add(row)
