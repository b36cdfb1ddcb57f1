"""Signing in, refreshing, changing password and TOTP: each step audited, failures throttled.

Outcomes that refuse are *returned* as problems, not raised, so the audit and the lockout
counters they wrote commit; the endpoint raises them after the transaction.
"""

from __future__ import annotations

import asyncio
import functools
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from hbs_identity.accounts.passwords import hash_password, verify_password
from hbs_identity.accounts.sealing import TotpSealer, UnsealError
from hbs_identity.accounts.security import (
    LockoutPolicy,
    RefreshTokens,
    Throttle,
    new_totp_secret,
    totp_ok,
    totp_uri,
)
from hbs_identity.accounts.service import AccountService, normalise_username
from hbs_identity.models import Account
from hbs_identity.settings import IdentitySettings
from hbs_identity.tokens.keys import TokenIssuer
from hbs_identity.unit import Actor, Unit
from hbs_shared.passwords import DEMO_PASSWORD
from hbs_shared.problems import Problem


@functools.cache
def _demo_login_ids() -> frozenset[uuid.UUID]:
    """The README's demo logins; they ship with the development tools only (none in production)."""
    try:
        from hbs_identity.demo import DEMO_LOGIN_IDS
    except ImportError:
        return frozenset()
    return DEMO_LOGIN_IDS


def bad_credentials() -> Problem:
    return Problem(401, "Sai tên đăng nhập hoặc mật khẩu", "invalid credentials")


@dataclass(frozen=True)
class Issued:
    access_token: str
    expires_in: int
    must_change_password: bool
    totp_setup_required: bool
    refresh_token: str | None


class SignIn:
    """Sign-in, refresh and logout. `accounts`, `throttle` and `refresh` are the database-backed
    ones unless given (`hbs_identity.bootstrap`: unit tests pass in-memory ones)."""

    def __init__(
        self,
        settings: IdentitySettings,
        issuer: TokenIssuer,
        *,
        accounts: AccountService | None = None,
        throttle: Throttle | None = None,
        refresh: RefreshTokens | None = None,
    ) -> None:
        self.settings = settings
        self.issuer = issuer
        self.accounts = accounts or AccountService()
        self.throttle = throttle or Throttle(
            LockoutPolicy(
                settings.lockout_threshold,
                settings.lockout_address_threshold,
                settings.lockout_base_seconds,
                settings.lockout_max_seconds,
            )
        )
        self.refresh = refresh or RefreshTokens(timedelta(days=settings.refresh_token_days))
        self.sealer = TotpSealer(settings.totp_key())

    def _totp_ok(self, account: Account, code: str | None) -> bool:
        if not account.totp_secret:
            return False
        try:
            secret = self.sealer.open(account.totp_secret, account.id)
        except UnsealError:
            return False
        return totp_ok(secret, code)

    def exempt(self, account: Account) -> bool:
        """The README's demo logins skip the password change and TOTP — never in production."""
        settings = self.settings
        return settings.demo_accounts_exempt and settings.allows_demo() and account.id in _demo_login_ids()

    def pending(self, account: Account) -> list[str]:
        if self.exempt(account):
            return []
        steps = []
        if account.must_change_password:
            steps.append("password_change")
        if set(account.roles) & set(self.settings.totp_required_roles) and not account.totp_enabled:
            steps.append("totp_setup")
        return steps

    def tokens(self, unit: Unit, account: Account, now: datetime, family: uuid.UUID | None = None) -> Issued:
        steps = self.pending(account)
        refresh = None
        if not steps:
            refresh = self.refresh.issue(unit.session, account, now, family)
        return Issued(
            access_token=self.issuer.issue(account, restricted=steps or None),
            expires_in=self.issuer.lifetime_seconds,
            must_change_password="password_change" in steps,
            totp_setup_required="totp_setup" in steps,
            refresh_token=refresh,
        )

    async def attempt(self, unit: Unit, login: str, password: str, code: str | None) -> Issued | Problem:
        now = datetime.now(UTC)
        name = normalise_username(login)
        account = await self.accounts.find(unit.session, login)
        # Counted per account, whatever spelling found it (username, mã định danh, any phone
        # form); a name that finds nobody is counted under that name.
        subject = f"account:{account.id}" if account is not None else f"login:{name}"
        keys = [subject] + ([f"addr:{unit.source}"] if unit.source else [])
        if account is not None:
            unit.school_id = account.school_id
        wait = await self.throttle.retry_after(unit.session, keys, now)
        if wait:
            unit.audit("sign_in.locked", "login", name, retry_after=wait)
            return Problem(
                429,
                "Tạm khoá đăng nhập do nhập sai nhiều lần",
                f"try again in {wait} s",
                extra={"retry_after": wait},
            )
        ok = await asyncio.to_thread(verify_password, account.password_hash if account else None, password)
        if account is None or not ok or account.disabled:
            await self.throttle.fail(unit.session, keys, now)
            reason = "unknown" if account is None else "disabled" if account.disabled and ok else "password"
            unit.audit(
                "sign_in.failed", "account", account.id if account else None, login=name, reason=reason
            )
            return bad_credentials()
        if account.totp_enabled:
            if not code:
                unit.audit("sign_in.totp_asked", "account", account.id)
                return Problem(401, "Cần mã xác thực hai lớp", "totp code required", field="totp")
            if not self._totp_ok(account, code):
                await self.throttle.fail(unit.session, keys, now)
                unit.audit("sign_in.failed", "account", account.id, login=name, reason="totp")
                return Problem(401, "Mã xác thực hai lớp không đúng", "wrong totp code", field="totp")
        await self.throttle.reset(unit.session, keys[0])
        if password == DEMO_PASSWORD and not self.exempt(account):
            # The demo password is public: nobody else keeps it (also a demo seeded before this rule).
            account.must_change_password = True
        issued = self.tokens(unit, account, now)
        unit.audit(
            "sign_in.succeeded", "account", account.id, login=name, pending=self.pending(account) or None
        )
        return issued

    async def rotate(self, unit: Unit, token: str) -> Issued | Problem:
        now = datetime.now(UTC)
        found = await self.refresh.find(unit.session, token)
        refused = Problem(
            401, "Phiên đăng nhập đã hết hạn", "refresh token invalid, used, revoked or expired"
        )
        if found is None:
            return refused
        account = await self.accounts.repository.get(unit.session, found.account_id)
        assert account is not None
        unit.school_id = account.school_id
        # The refresh token speaks for its account: the trail names that person, not "refresh".
        unit.actor = Actor(account.id, account.full_name, frozenset(account.roles))
        if found.used_at is not None and found.revoked_at is None:
            # Presented twice: someone else has it. End the whole family.
            await self.refresh.revoke_family(unit.session, found.family_id, now)
            unit.audit("refresh.reused", "account", account.id)
            return refused
        if found.revoked_at is not None or found.expires_at <= now or account.disabled:
            return refused
        found.used_at = now
        issued = self.tokens(unit, account, now, found.family_id)
        unit.audit("refresh.rotated", "account", account.id)
        return issued

    async def logout(self, unit: Unit, token: str) -> None:
        found = await self.refresh.find(unit.session, token)
        if found is not None:
            account = await self.accounts.repository.get(unit.session, found.account_id)
            if account is not None:
                unit.school_id = account.school_id  # audited in the account's school
            await self.refresh.revoke_family(unit.session, found.family_id, datetime.now(UTC))
            unit.audit("sign_out", "account", found.account_id)

    async def change_password(self, unit: Unit, account: Account, current: str, new: str) -> Issued | Problem:
        if not await asyncio.to_thread(verify_password, account.password_hash, current):
            unit.audit("password.change_failed", "account", account.id)
            return Problem(
                403, "Mật khẩu hiện tại không đúng", "wrong current password", field="current_password"
            )
        if len(new) < self.settings.password_min_length:
            return Problem(
                422,
                "Mật khẩu mới quá ngắn",
                f"at least {self.settings.password_min_length} characters",
                field="new_password",
            )
        if new == current or normalise_username(new) == account.username:
            return Problem(
                422,
                "Mật khẩu mới không hợp lệ",
                "must differ from the old one and the username",
                field="new_password",
            )
        account.password_hash = await asyncio.to_thread(hash_password, new)
        account.must_change_password = False
        now = datetime.now(UTC)
        await self.refresh.revoke_account(unit.session, account.id, now)
        unit.audit("password.changed", "account", account.id)
        return self.tokens(unit, account, now)

    def totp_setup(self, unit: Unit, account: Account) -> tuple[str, str] | Problem:
        if account.totp_enabled:
            return Problem(409, "Đã bật xác thực hai lớp", "totp already enabled")
        secret = new_totp_secret()
        account.totp_secret = self.sealer.seal(secret, account.id)
        unit.audit("totp.setup_started", "account", account.id)
        return secret, totp_uri(secret, account.username)

    def totp_confirm(self, unit: Unit, account: Account, code: str) -> Issued | Problem:
        if account.totp_enabled:
            return Problem(409, "Đã bật xác thực hai lớp", "totp already enabled")
        if not self._totp_ok(account, code):
            unit.audit("totp.confirm_failed", "account", account.id)
            return Problem(422, "Mã xác thực hai lớp không đúng", "wrong totp code", field="code")
        account.totp_enabled = True
        unit.audit("totp.enabled", "account", account.id)
        return self.tokens(unit, account, datetime.now(UTC))
