"""Administrative use cases on accounts: disable, enable, new initial passwords, TOTP reset."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hbs_identity.accounts.passwords import hash_password
from hbs_identity.accounts.security import RefreshTokens, initial_password
from hbs_identity.errors import conflict, not_found
from hbs_identity.models import Account, AuditEntry
from hbs_identity.unit import Unit
from hbs_shared.events.identity import AccountDisabled


class AccountAdmin:
    def __init__(self, refresh: RefreshTokens) -> None:
        self.refresh = refresh

    async def account(self, unit: Unit, account_id: uuid.UUID) -> Account:
        account = await unit.session.get(Account, account_id)
        if account is None or account.school_id != unit.school_id:
            raise not_found(f"account {account_id}")
        return account

    async def disable(self, unit: Unit, account: Account, reason: str) -> None:
        if account.id == unit.actor.user_id:
            raise conflict("account_id", "an admin cannot disable their own account")
        if account.disabled:
            raise conflict("account_id", "the account is already disabled")
        now = datetime.now(UTC)
        account.disabled, account.disabled_at = True, now
        await self.refresh.revoke_account(unit.session, account.id, now)
        unit.audit("account.disabled", "account", account.id, reason=reason)
        await unit.emit(AccountDisabled(user_id=account.id, disabled_at=now))

    async def enable(self, unit: Unit, account: Account) -> None:
        if not account.disabled:
            raise conflict("account_id", "the account is not disabled")
        account.disabled, account.disabled_at = False, None
        unit.audit("account.enabled", "account", account.id)

    async def new_passwords(self, unit: Unit, accounts: list[Account]) -> dict[uuid.UUID, str]:
        """A fresh initial password for each (printed on a slip); each must change it at first sign-in."""
        passwords = {account.id: initial_password() for account in accounts}
        hashes = await asyncio.to_thread(lambda: {k: hash_password(v) for k, v in passwords.items()})
        now = datetime.now(UTC)
        for account in accounts:
            account.password_hash = hashes[account.id]
            account.must_change_password = True
            await self.refresh.revoke_account(unit.session, account.id, now)
            unit.audit("account.password_issued", "account", account.id)
        return passwords

    def reset_totp(self, unit: Unit, account: Account) -> None:
        account.totp_enabled, account.totp_secret = False, None
        unit.audit("account.totp_reset", "account", account.id)


async def audit_entries(
    session: AsyncSession, school_id: str, action: str | None, object_id: str | None, limit: int
) -> list[AuditEntry]:
    query = select(AuditEntry).where(AuditEntry.school_id == school_id)
    if action:
        query = query.where(AuditEntry.action == action)
    if object_id:
        query = query.where(AuditEntry.object_id == object_id)
    result = await session.execute(query.order_by(AuditEntry.id.desc()).limit(limit))
    return list(result.scalars())
