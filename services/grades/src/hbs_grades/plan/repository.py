"""All SQL on the class plan."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hbs_grades.models import ClassSubject


class PlanRepository:
    async def get(
        self, session: AsyncSession, school_id: str, school_year: str, class_name: str, subject_code: str
    ) -> ClassSubject | None:
        result = await session.execute(
            select(ClassSubject).where(
                ClassSubject.school_id == school_id,
                ClassSubject.school_year == school_year,
                ClassSubject.class_name == class_name,
                ClassSubject.subject_code == subject_code,
            )
        )
        return result.scalar_one_or_none()

    async def for_class(
        self, session: AsyncSession, school_id: str, school_year: str, class_name: str
    ) -> list[ClassSubject]:
        result = await session.execute(
            select(ClassSubject)
            .where(
                ClassSubject.school_id == school_id,
                ClassSubject.school_year == school_year,
                ClassSubject.class_name == class_name,
            )
            .order_by(ClassSubject.subject_code)
        )
        return list(result.scalars())

    async def for_school(self, session: AsyncSession, school_id: str, school_year: str) -> list[ClassSubject]:
        result = await session.execute(
            select(ClassSubject).where(
                ClassSubject.school_id == school_id, ClassSubject.school_year == school_year
            )
        )
        return list(result.scalars())

    def add(self, session: AsyncSession, row: ClassSubject) -> None:
        session.add(row)
