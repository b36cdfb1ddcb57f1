"""All SQL of year records and corrections."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hbs_grades.models import EntryChange, ScoreSheet, YearRecord


class YearRecordRepository:
    async def get(self, session: AsyncSession, school_id: str, record_id: uuid.UUID) -> YearRecord | None:
        """The school's record: an id of another school's is not found."""
        result = await session.execute(
            select(YearRecord).where(YearRecord.id == record_id, YearRecord.school_id == school_id)
        )
        return result.scalar_one_or_none()

    def add(self, session: AsyncSession, row: YearRecord) -> None:
        session.add(row)

    async def for_class(
        self, session: AsyncSession, school_id: str, school_year: str, class_name: str
    ) -> list[YearRecord]:
        result = await session.execute(
            select(YearRecord).where(
                YearRecord.school_id == school_id,
                YearRecord.school_year == school_year,
                YearRecord.class_name == class_name,
            )
        )
        return list(result.scalars())

    async def for_students(
        self, session: AsyncSession, school_id: str, school_year: str, student_ids: Sequence[uuid.UUID]
    ) -> dict[uuid.UUID, YearRecord]:
        if not student_ids:
            return {}
        result = await session.execute(
            select(YearRecord).where(
                YearRecord.school_id == school_id,
                YearRecord.school_year == school_year,
                YearRecord.student_id.in_(list(student_ids)),
            )
        )
        return {r.student_id: r for r in result.scalars()}

    async def for_school(self, session: AsyncSession, school_id: str, school_year: str) -> list[YearRecord]:
        result = await session.execute(
            select(YearRecord).where(YearRecord.school_id == school_id, YearRecord.school_year == school_year)
        )
        return list(result.scalars())

    async def for_batch(self, session: AsyncSession, school_id: str, batch_id: uuid.UUID) -> list[YearRecord]:
        result = await session.execute(
            select(YearRecord).where(YearRecord.school_id == school_id, YearRecord.batch_id == batch_id)
        )
        return list(result.scalars())

    async def batch_counts(
        self, session: AsyncSession, school_id: str, batch_id: uuid.UUID
    ) -> tuple[set[uuid.UUID], dict[str, int], list[tuple[uuid.UUID, str]]]:
        """A batch's progress without loading its records: who started it, how many records are
        in each state, and the reasons of those that failed (a page polls it while signing)."""
        where = (YearRecord.school_id == school_id, YearRecord.batch_id == batch_id)
        counted = await session.execute(
            select(YearRecord.batch_by, YearRecord.state, func.count(), func.count(YearRecord.last_error))
            .where(*where)
            .group_by(YearRecord.batch_by, YearRecord.state)
        )
        by: set[uuid.UUID] = set()
        counts: dict[str, int] = {}
        errors = 0
        for batch_by, state, n, with_error in counted.all():
            if batch_by is not None:
                by.add(batch_by)
            counts[str(state)] = counts.get(str(state), 0) + int(n)
            errors += int(with_error)
        if not errors:  # the usual answer: one query
            return by, counts, []
        failed = await session.execute(
            select(YearRecord.id, YearRecord.last_error).where(*where, YearRecord.last_error.is_not(None))
        )
        return by, counts, [(record_id, str(error)) for record_id, error in failed.all()]

    async def correction_places(
        self, session: AsyncSession, school_id: str, school_year: str, student_ids: Sequence[uuid.UUID]
    ) -> list[tuple[uuid.UUID, str]]:
        """(student, subject) of every cell changed under a correction after signing."""
        if not student_ids:
            return []
        result = await session.execute(
            select(EntryChange.student_id, ScoreSheet.subject)
            .join(ScoreSheet, ScoreSheet.id == EntryChange.sheet_id)
            .where(
                ScoreSheet.school_id == school_id,
                ScoreSheet.school_year == school_year,
                EntryChange.correction_id.is_not(None),
                EntryChange.student_id.in_(list(student_ids)),
            )
            .order_by(EntryChange.id)
        )
        return [(row[0], str(row[1])) for row in result.all()]
