"""All SQL on change requests of students' personal data."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hbs_identity.models import Student, StudentChangeRequest


class ChangeRequestRepository:
    async def get(
        self, session: AsyncSession, request_id: uuid.UUID, *, lock: bool = False
    ) -> StudentChangeRequest | None:
        return await session.get(StudentChangeRequest, request_id, with_for_update=lock)

    def add(self, session: AsyncSession, row: StudentChangeRequest) -> None:
        session.add(row)

    async def listing(
        self, session: AsyncSession, school_id: str, state: str, requested_by: uuid.UUID | None
    ) -> list[tuple[StudentChangeRequest, str]]:
        """Each request with its student's current name, newest first; one requester's if given."""
        query = (
            select(StudentChangeRequest, Student.full_name)
            .join(Student, Student.id == StudentChangeRequest.student_id)
            .where(StudentChangeRequest.school_id == school_id)
            .order_by(StudentChangeRequest.requested_at.desc())
            .limit(1000)
        )
        if state != "all":
            query = query.where(StudentChangeRequest.state == state)
        if requested_by is not None:
            query = query.where(StudentChangeRequest.requested_by == requested_by)
        return [(row, name) for row, name in (await session.execute(query)).all()]
