"""Signing in and the demo seed."""

from __future__ import annotations

import asyncio
import unicodedata

from sqlalchemy.ext.asyncio import AsyncSession

from hbs_identity.accounts.passwords import hash_password, verify_password
from hbs_identity.accounts.repository import AccountRepository
from hbs_identity.models import Account
from hbs_shared.demo import DEMO_PASSWORD, DEMO_PEOPLE
from hbs_shared.problems import Problem

BAD_CREDENTIALS = Problem(401, "Sai tên đăng nhập hoặc mật khẩu", "invalid credentials")


def normalise_username(username: str) -> str:
    return unicodedata.normalize("NFC", username).strip().lower()


class AccountService:
    def __init__(self, repository: AccountRepository | None = None) -> None:
        self.repository = repository or AccountRepository()

    async def authenticate(self, session: AsyncSession, username: str, password: str) -> Account:
        account = await self.repository.by_username(session, normalise_username(username))
        # Argon2 is CPU-heavy: off the event loop so other requests keep flowing.
        ok = await asyncio.to_thread(verify_password, account.password_hash if account else None, password)
        if account is None or not ok or account.disabled:
            raise BAD_CREDENTIALS
        return account

    async def seed_demo(self, session: AsyncSession, school_id: str) -> int:
        created = 0
        for person in DEMO_PEOPLE:
            if await self.repository.get(session, person.user_id) is not None:
                continue
            self.repository.add(
                session,
                Account(
                    id=person.user_id,
                    school_id=school_id,
                    username=person.username,
                    full_name=person.full_name,
                    password_hash=await asyncio.to_thread(hash_password, DEMO_PASSWORD),
                    roles=list(person.roles),
                ),
            )
            created += 1
        return created
