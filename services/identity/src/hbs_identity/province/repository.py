"""The SQL behind the province's view: every school, and counts of each one's current year."""

from __future__ import annotations

from sqlalchemy import distinct, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hbs_identity.models import Account, Enrolment, School, SchoolClass, SchoolYear, Staff


class ProvinceRepository:
    async def schools(self, session: AsyncSession) -> list[School]:
        return list((await session.execute(select(School).order_by(School.name, School.id))).scalars())

    async def classes(self, session: AsyncSession) -> dict[str, int]:
        """Classes of each school's current year."""
        result = await session.execute(
            select(SchoolClass.school_id, func.count())
            .join(SchoolYear, SchoolYear.id == SchoolClass.school_year_id)
            .where(SchoolYear.current.is_(True))
            .group_by(SchoolClass.school_id)
        )
        return {school_id: count for school_id, count in result.all()}

    async def students(self, session: AsyncSession) -> dict[str, int]:
        """Students enrolled now in a class of each school's current year."""
        result = await session.execute(
            select(SchoolClass.school_id, func.count(distinct(Enrolment.student_id)))
            .select_from(Enrolment)
            .join(SchoolClass, SchoolClass.id == Enrolment.class_id)
            .join(SchoolYear, SchoolYear.id == SchoolClass.school_year_id)
            .where(SchoolYear.current.is_(True), Enrolment.left_on.is_(None))
            .group_by(SchoolClass.school_id)
        )
        return {school_id: count for school_id, count in result.all()}

    async def staff(self, session: AsyncSession) -> dict[str, int]:
        """Enabled staff accounts of each school."""
        result = await session.execute(
            select(Staff.school_id, func.count())
            .join(Account, Account.id == Staff.id)
            .where(Account.disabled.is_(False))
            .group_by(Staff.school_id)
        )
        return {school_id: count for school_id, count in result.all()}
