"""All SQL on accounts."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hbs_identity.models import Account


class AccountRepository:
    async def by_username(self, session: AsyncSession, username: str) -> Account | None:
        result = await session.execute(select(Account).where(Account.username == username))
        return result.scalar_one_or_none()

    async def by_phone(self, session: AsyncSession, phone: str) -> Account | None:
        result = await session.execute(
            select(Account).where(Account.phone == phone, Account.kind == "parent")
        )
        return result.scalar_one_or_none()

    async def get(self, session: AsyncSession, account_id: uuid.UUID) -> Account | None:
        return await session.get(Account, account_id)

    def add(self, session: AsyncSession, account: Account) -> None:
        session.add(account)
