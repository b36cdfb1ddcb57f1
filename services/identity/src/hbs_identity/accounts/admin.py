"""Administrative use cases on accounts: disable, enable, new initial passwords, TOTP reset."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

from hbs_identity.accounts.passwords import hash_password, is_usable
from hbs_identity.accounts.security import RefreshTokens, initial_password
from hbs_identity.errors import conflict, not_found
from hbs_identity.models import SIGNER_ROLES, Account
from hbs_identity.unit import Unit
from hbs_shared.events.identity import AccountDisabled
from hbs_shared.problems import Problem


def is_signer(account: Account) -> bool:
    """Holds, or once held, a role that signs (subject or homeroom teacher, vice-principal, principal)."""
    return account.signer or bool(SIGNER_ROLES.intersection(account.roles))


def approval_required(account: Account) -> Problem:
    """The two-person rule: a signer's factors are reset only through an approved factor reset."""
    return Problem(
        409,
        "Tài khoản ký số: việc đặt lại cần một thành viên Ban giám hiệu khác phê duyệt",
        f"request it with POST /accounts/{account.id}/factor-resets; a board member who is neither "
        "the requester nor the owner approves it",
        field="account_id",
        extra={"code": "approval_required"},
    )


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
        """A fresh initial password for each (printed on a slip); each must change it at first sign-in.

        A signer's account gets one from a single admin only while it has never had one (a new
        account being handed out); after that it is a reset, which needs a second approval."""
        for account in accounts:
            if is_signer(account) and is_usable(account.password_hash):
                raise approval_required(account)
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
        if is_signer(account):
            raise approval_required(account)
        account.totp_enabled, account.totp_secret = False, None
        unit.audit("account.totp_reset", "account", account.id)
