"""The SQL behind a user's scope."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hbs_identity.models import Account, Assignment, ParentLink


class ScopeRepository:
    async def account(self, session: AsyncSession, user_id: uuid.UUID) -> Account | None:
        return await session.get(Account, user_id)

    async def active_assignments(self, session: AsyncSession, teacher_id: uuid.UUID) -> list[Assignment]:
        result = await session.execute(
            select(Assignment).where(Assignment.teacher_id == teacher_id, Assignment.active.is_(True))
        )
        return list(result.scalars())

    async def children(self, session: AsyncSession, parent_id: uuid.UUID) -> set[uuid.UUID]:
        result = await session.execute(select(ParentLink.student_id).where(ParentLink.parent_id == parent_id))
        return set(result.scalars())
