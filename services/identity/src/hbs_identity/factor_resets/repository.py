"""All SQL on factor resets."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hbs_identity.models import Account, FactorReset


class FactorResetRepository:
    async def get(
        self, session: AsyncSession, reset_id: uuid.UUID, *, lock: bool = False
    ) -> FactorReset | None:
        return await session.get(FactorReset, reset_id, with_for_update=lock)

    async def pending(self, session: AsyncSession, user_id: uuid.UUID, factor: str) -> FactorReset | None:
        result = await session.execute(
            select(FactorReset).where(
                FactorReset.user_id == user_id, FactorReset.factor == factor, FactorReset.state == "pending"
            )
        )
        return result.scalar_one_or_none()

    async def in_state(
        self, session: AsyncSession, school_id: str, state: str
    ) -> list[tuple[FactorReset, str]]:
        """Each reset with its owner's name, newest first."""
        result = await session.execute(
            select(FactorReset, Account.full_name)
            .join(Account, Account.id == FactorReset.user_id)
            .where(FactorReset.school_id == school_id, FactorReset.state == state)
            .order_by(FactorReset.requested_at.desc())
            .limit(1000)
        )
        return [(reset, name) for reset, name in result.all()]

    async def unacknowledged(self, session: AsyncSession, user_id: uuid.UUID) -> list[FactorReset]:
        result = await session.execute(
            select(FactorReset)
            .where(
                FactorReset.user_id == user_id,
                FactorReset.state == "approved",
                FactorReset.acknowledged_at.is_(None),
            )
            .order_by(FactorReset.decided_at)
        )
        return list(result.scalars())

    def add(self, session: AsyncSession, reset: FactorReset) -> None:
        session.add(reset)
