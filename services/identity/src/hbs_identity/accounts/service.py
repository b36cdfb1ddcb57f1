"""Finding the account a sign-in name points at: staff by username, students by mã định danh,
parents by phone number or username (Đ9)."""

from __future__ import annotations

import unicodedata
import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from hbs_identity.accounts.repository import AccountRepository
from hbs_identity.models import Account
from hbs_identity.people.schemas import normalise_phone


def normalise_username(username: str) -> str:
    return unicodedata.normalize("NFC", username).strip().lower()


class AccountService:
    def __init__(self, repository: AccountRepository | None = None) -> None:
        self.repository = repository or AccountRepository()

    async def active(self, session: AsyncSession, account_id: uuid.UUID) -> Account | None:
        """The account a valid token names, unless it has been disabled since."""
        account = await self.repository.get(session, account_id)
        return account if account is not None and not account.disabled else None

    async def find(self, session: AsyncSession, login: str) -> Account | None:
        """A username (a student's is their mã định danh), or else a parent's phone number."""
        account = await self.repository.by_username(session, normalise_username(login))
        if account is None:
            try:
                phone = normalise_phone(login)
            except ValueError:
                return None
            account = await self.repository.by_phone(session, phone)
        return account
