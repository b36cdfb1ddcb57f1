"""All SQL of national exports: the sealed records, the exports made and what each carried."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from hbs_grades.models import Enrolment, RecordState, Student, YearRecord
from hbs_grades.national.models import NationalExport, NationalExportItem


class NationalExportRepository:
    async def sealed_records(self, session: AsyncSession, school_id: str) -> list[YearRecord]:
        """Every year record of the school the principal sealed (step 4), in every school year."""
        result = await session.execute(
            select(YearRecord).where(
                YearRecord.school_id == school_id,
                YearRecord.state == RecordState.approved.value,
                YearRecord.document_id.is_not(None),
                YearRecord.document_sha256.is_not(None),
            )
        )
        return list(result.scalars())

    async def students(self, session: AsyncSession, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Student]:
        if not ids:
            return {}
        result = await session.execute(select(Student).where(Student.id.in_(list(ids))))
        return {s.id: s for s in result.scalars()}

    async def grade_levels(self, session: AsyncSession, school_id: str) -> dict[tuple[str, str], int]:
        """(school year, class) → grade level, from every enrolment (those who left count too)."""
        result = await session.execute(
            select(Enrolment.school_year, Enrolment.class_name, Enrolment.grade_level)
            .where(Enrolment.school_id == school_id)
            .distinct()
        )
        return {(year, name): int(level) for year, name, level in result.all()}

    async def get(self, session: AsyncSession, school_id: str, export_id: uuid.UUID) -> NationalExport | None:
        result = await session.execute(
            select(NationalExport).where(
                NationalExport.id == export_id, NationalExport.school_id == school_id
            )
        )
        return result.scalar_one_or_none()

    async def latest(self, session: AsyncSession, school_id: str) -> NationalExport | None:
        result = await session.execute(
            select(NationalExport)
            .where(NationalExport.school_id == school_id)
            .order_by(NationalExport.created_at.desc())
            .limit(1)
        )
        return result.scalars().first()

    async def listing(self, session: AsyncSession, school_id: str, limit: int) -> list[NationalExport]:
        result = await session.execute(
            select(NationalExport)
            .where(NationalExport.school_id == school_id)
            .order_by(NationalExport.created_at.desc())
            .limit(limit)
        )
        return list(result.scalars())

    async def items(self, session: AsyncSession, export_id: uuid.UUID) -> dict[uuid.UUID, tuple[str, str]]:
        """student → (mã định danh, fingerprint) as the export saw them."""
        result = await session.execute(
            select(
                NationalExportItem.student_id, NationalExportItem.national_id, NationalExportItem.fingerprint
            ).where(NationalExportItem.export_id == export_id)
        )
        return {student: (national_id, print_) for student, national_id, print_ in result.all()}

    async def add(
        self, session: AsyncSession, export: NationalExport, items: Sequence[tuple[uuid.UUID, str, str]]
    ) -> None:
        session.add(export)
        await session.flush()
        if items:
            await session.execute(
                insert(NationalExportItem),
                [
                    {"export_id": export.id, "student_id": s, "national_id": n, "fingerprint": f}
                    for s, n, f in items
                ],
            )
