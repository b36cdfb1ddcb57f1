"""Lockout with growing delay, rotating refresh tokens, TOTP and initial passwords."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import pyotp
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hbs_identity.models import Account, RefreshToken, SignInThrottle

_SLIP_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i


def initial_password(length: int = 10) -> str:
    """A password for a sign-in slip: easy to read and type, changed at first sign-in."""
    return "".join(secrets.choice(_SLIP_ALPHABET) for _ in range(length))


@dataclass(frozen=True)
class LockoutPolicy:
    threshold: int
    address_threshold: int
    base_seconds: float
    max_seconds: float

    def lock_seconds(self, failures: int, threshold: int) -> float:
        """0 below the threshold; then base, 2·base, 4·base, … up to max."""
        if failures < threshold:
            return 0.0
        return float(min(self.base_seconds * 2 ** (failures - threshold), self.max_seconds))


class Throttle:
    """Failed sign-ins per name and per address, each with its own growing lock."""

    def __init__(self, policy: LockoutPolicy) -> None:
        self.policy = policy

    async def retry_after(self, session: AsyncSession, keys: list[str], now: datetime) -> int:
        rows = await session.execute(select(SignInThrottle).where(SignInThrottle.key.in_(keys)))
        waits = [
            (row.locked_until - now).total_seconds() for row in rows.scalars() if row.locked_until is not None
        ]
        return max([0, *[int(w) + 1 for w in waits if w > 0]])

    async def fail(self, session: AsyncSession, keys: list[str], now: datetime) -> None:
        for key in keys:
            row = await session.get(SignInThrottle, key)
            if row is None:
                row = SignInThrottle(key=key, failures=0, last_failure_at=now)
                session.add(row)
            elif now - row.last_failure_at > timedelta(seconds=self.policy.max_seconds * 2):
                row.failures = 0  # a long quiet spell forgives old failures
            row.failures += 1
            row.last_failure_at = now
            threshold = self.policy.address_threshold if key.startswith("addr:") else self.policy.threshold
            seconds = self.policy.lock_seconds(row.failures, threshold)
            row.locked_until = now + timedelta(seconds=seconds) if seconds else None

    async def reset(self, session: AsyncSession, key: str) -> None:
        row = await session.get(SignInThrottle, key)
        if row is not None:
            await session.delete(row)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class RefreshTokens:
    def __init__(self, lifetime: timedelta) -> None:
        self.lifetime = lifetime

    def issue(
        self, session: AsyncSession, account: Account, now: datetime, family_id: uuid.UUID | None = None
    ) -> str:
        token = secrets.token_urlsafe(32)
        session.add(
            RefreshToken(
                id=uuid.uuid4(),
                account_id=account.id,
                family_id=family_id or uuid.uuid4(),
                token_hash=_digest(token),
                created_at=now,
                expires_at=now + self.lifetime,
            )
        )
        return token

    async def find(self, session: AsyncSession, token: str) -> RefreshToken | None:
        result = await session.execute(select(RefreshToken).where(RefreshToken.token_hash == _digest(token)))
        return result.scalar_one_or_none()

    async def revoke_family(self, session: AsyncSession, family_id: uuid.UUID, now: datetime) -> None:
        await session.execute(
            update(RefreshToken)
            .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
            .values(revoked_at=now)
        )

    async def revoke_account(self, session: AsyncSession, account_id: uuid.UUID, now: datetime) -> None:
        await session.execute(
            update(RefreshToken)
            .where(RefreshToken.account_id == account_id, RefreshToken.revoked_at.is_(None))
            .values(revoked_at=now)
        )


def new_totp_secret() -> str:
    return pyotp.random_base32()


def totp_uri(secret: str, username: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name="HBS học bạ số")


def totp_ok(secret: str | None, code: str | None) -> bool:
    if not secret or not code:
        return False
    return bool(pyotp.TOTP(secret).verify(code.strip(), valid_window=1))
