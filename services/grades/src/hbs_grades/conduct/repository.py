"""All SQL on conduct, attendance and the after-the-year results."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hbs_grades.models import ConductChange, TermRecord, YearExtra


class ConductRepository:
    async def term_records(
        self,
        session: AsyncSession,
        school_id: str,
        school_year: str,
        student_ids: Sequence[uuid.UUID] | None = None,
    ) -> dict[tuple[uuid.UUID, str], TermRecord]:
        query = select(TermRecord).where(
            TermRecord.school_id == school_id, TermRecord.school_year == school_year
        )
        if student_ids is not None:
            query = query.where(TermRecord.student_id.in_(list(student_ids)))
        return {(r.student_id, r.term): r for r in (await session.execute(query)).scalars()}

    async def year_extras(
        self,
        session: AsyncSession,
        school_id: str,
        school_year: str,
        student_ids: Sequence[uuid.UUID] | None = None,
    ) -> dict[uuid.UUID, YearExtra]:
        query = select(YearExtra).where(
            YearExtra.school_id == school_id, YearExtra.school_year == school_year
        )
        if student_ids is not None:
            query = query.where(YearExtra.student_id.in_(list(student_ids)))
        return {r.student_id: r for r in (await session.execute(query)).scalars()}

    def add(self, session: AsyncSession, row: TermRecord | YearExtra | ConductChange) -> None:
        session.add(row)

    async def changes(
        self, session: AsyncSession, school_id: str, school_year: str, class_name: str
    ) -> list[ConductChange]:
        result = await session.execute(
            select(ConductChange)
            .where(
                ConductChange.school_id == school_id,
                ConductChange.school_year == school_year,
                ConductChange.class_name == class_name,
            )
            .order_by(ConductChange.id)
        )
        return list(result.scalars())
