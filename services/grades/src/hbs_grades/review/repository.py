"""All SQL on review samples, their verdicts, the school's sample size and personal-data checks."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hbs_grades.models import PersonalDataCheck, ReviewItem, ReviewSample, ReviewSettings


class ReviewRepository:
    async def settings(self, session: AsyncSession, school_id: str) -> ReviewSettings | None:
        return await session.get(ReviewSettings, school_id)

    def add(
        self, session: AsyncSession, row: ReviewSettings | ReviewSample | ReviewItem | PersonalDataCheck
    ) -> None:
        session.add(row)

    async def sample(
        self, session: AsyncSession, school_id: str, sample_id: uuid.UUID
    ) -> ReviewSample | None:
        """The school's sample: an id of another school's is not found."""
        result = await session.execute(
            select(ReviewSample).where(ReviewSample.id == sample_id, ReviewSample.school_id == school_id)
        )
        return result.scalar_one_or_none()

    async def samples(
        self, session: AsyncSession, school_id: str, school_year: str, class_name: str
    ) -> list[ReviewSample]:
        """The class's samples, newest first (the first is current unless superseded)."""
        result = await session.execute(
            select(ReviewSample)
            .where(
                ReviewSample.school_id == school_id,
                ReviewSample.school_year == school_year,
                ReviewSample.class_name == class_name,
            )
            .order_by(ReviewSample.drawn_at.desc())
            .limit(200)
        )
        return list(result.scalars())

    async def supersede(
        self, session: AsyncSession, school_id: str, school_year: str, class_name: str
    ) -> None:
        await session.execute(
            update(ReviewSample)
            .where(
                ReviewSample.school_id == school_id,
                ReviewSample.school_year == school_year,
                ReviewSample.class_name == class_name,
                ReviewSample.superseded.is_(False),
            )
            .values(superseded=True)
        )

    async def items(self, session: AsyncSession, sample_ids: Sequence[uuid.UUID]) -> list[ReviewItem]:
        if not sample_ids:
            return []
        result = await session.execute(
            select(ReviewItem).where(ReviewItem.sample_id.in_(sample_ids)).order_by(ReviewItem.rank)
        )
        return list(result.scalars())

    async def item(
        self, session: AsyncSession, sample_id: uuid.UUID, record_id: uuid.UUID
    ) -> ReviewItem | None:
        return await session.get(ReviewItem, (sample_id, record_id))

    async def checks(
        self, session: AsyncSession, school_id: str, school_year: str, student_ids: Sequence[uuid.UUID]
    ) -> dict[uuid.UUID, PersonalDataCheck]:
        if not student_ids:
            return {}
        result = await session.execute(
            select(PersonalDataCheck).where(
                PersonalDataCheck.school_id == school_id,
                PersonalDataCheck.school_year == school_year,
                PersonalDataCheck.student_id.in_(student_ids),
            )
        )
        return {c.student_id: c for c in result.scalars()}

    async def check(
        self, session: AsyncSession, school_id: str, school_year: str, student_id: uuid.UUID
    ) -> PersonalDataCheck | None:
        return await session.get(PersonalDataCheck, (school_id, school_year, student_id))
