"""All SQL on score sheets."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hbs_grades.models import ScoreSheet


class ScoreSheetRepository:
    async def get(self, session: AsyncSession, sheet_id: uuid.UUID) -> ScoreSheet | None:
        return await session.get(ScoreSheet, sheet_id)

    async def for_school(self, session: AsyncSession, school_id: str) -> list[ScoreSheet]:
        result = await session.execute(
            select(ScoreSheet)
            .where(ScoreSheet.school_id == school_id)
            .order_by(ScoreSheet.class_name, ScoreSheet.subject, ScoreSheet.term)
        )
        return list(result.scalars())

    async def for_teacher(
        self, session: AsyncSession, school_id: str, teacher_id: uuid.UUID
    ) -> list[ScoreSheet]:
        result = await session.execute(
            select(ScoreSheet)
            .where(ScoreSheet.school_id == school_id, ScoreSheet.teacher_id == teacher_id)
            .order_by(ScoreSheet.class_name, ScoreSheet.subject, ScoreSheet.term)
        )
        return list(result.scalars())

    async def exists(
        self,
        session: AsyncSession,
        school_id: str,
        school_year: str,
        class_name: str,
        subject: str,
        term: str,
    ) -> bool:
        result = await session.execute(
            select(ScoreSheet.id).where(
                ScoreSheet.school_id == school_id,
                ScoreSheet.school_year == school_year,
                ScoreSheet.class_name == class_name,
                ScoreSheet.subject == subject,
                ScoreSheet.term == term,
            )
        )
        return result.first() is not None

    def add(self, session: AsyncSession, sheet: ScoreSheet) -> None:
        session.add(sheet)
