"""All SQL on registered outside systems."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hbs_identity.models import OAuthClient


class ClientRepository:
    def add(self, session: AsyncSession, client: OAuthClient) -> None:
        session.add(client)

    async def get(self, session: AsyncSession, client_uuid: uuid.UUID) -> OAuthClient | None:
        return await session.get(OAuthClient, client_uuid)

    async def by_client_id(self, session: AsyncSession, client_id: str) -> OAuthClient | None:
        result = await session.execute(select(OAuthClient).where(OAuthClient.client_id == client_id))
        return result.scalar_one_or_none()

    async def of_school(self, session: AsyncSession, school_id: str) -> list[OAuthClient]:
        result = await session.execute(
            select(OAuthClient).where(OAuthClient.school_id == school_id).order_by(OAuthClient.created_at)
        )
        return list(result.scalars())
