"""All SQL on teaching and homeroom assignments."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hbs_identity.models import Assignment


class AssignmentRepository:
    async def get(self, session: AsyncSession, assignment_id: uuid.UUID) -> Assignment | None:
        return await session.get(Assignment, assignment_id)

    async def active_for(
        self, session: AsyncSession, class_id: uuid.UUID, kind: str, subject_code: str | None
    ) -> Assignment | None:
        query = select(Assignment).where(
            Assignment.class_id == class_id, Assignment.kind == kind, Assignment.active.is_(True)
        )
        if subject_code is not None:
            query = query.where(Assignment.subject_code == subject_code)
        return (await session.execute(query)).scalars().first()

    async def list(
        self,
        session: AsyncSession,
        school_id: str,
        *,
        class_id: uuid.UUID | None = None,
        teacher_id: uuid.UUID | None = None,
        year_id: uuid.UUID | None = None,
        include_ended: bool = False,
    ) -> list[Assignment]:
        query = select(Assignment).where(Assignment.school_id == school_id)
        if class_id is not None:
            query = query.where(Assignment.class_id == class_id)
        if teacher_id is not None:
            query = query.where(Assignment.teacher_id == teacher_id)
        if year_id is not None:
            query = query.where(Assignment.school_year_id == year_id)
        if not include_ended:
            query = query.where(Assignment.active.is_(True))
        result = await session.execute(query.order_by(Assignment.created_at))
        return list(result.scalars())

    def add(self, session: AsyncSession, row: Assignment) -> None:
        session.add(row)
