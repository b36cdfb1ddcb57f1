"""The sign-in rules on in-memory accounts, lockout counters and refresh tokens, wired by
`hbs_identity.bootstrap` (the database-backed twins of these paths are in test_signin.py)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any, cast

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.ext.asyncio import AsyncSession

from hbs_identity.accounts.passwords import hash_password
from hbs_identity.accounts.repository import AccountRepository
from hbs_identity.accounts.security import LockoutPolicy, RefreshTokens, Throttle
from hbs_identity.accounts.service import AccountService
from hbs_identity.accounts.signin import Issued
from hbs_identity.bootstrap import bootstrap
from hbs_identity.models import Account
from hbs_identity.settings import IdentitySettings
from hbs_identity.tokens.keys import TokenIssuer
from hbs_identity.unit import SYSTEM, Unit
from hbs_shared.problems import Problem

PASSWORD = "mat-khau-dai-2026"
NO_SESSION = cast(AsyncSession, None)


class Accounts(AccountRepository):
    def __init__(self, *accounts: Account) -> None:
        self.accounts = list(accounts)

    async def by_username(self, session: AsyncSession, username: str) -> Account | None:
        return next((a for a in self.accounts if a.username == username), None)

    async def by_phone(self, session: AsyncSession, phone: str) -> Account | None:
        return next((a for a in self.accounts if a.phone == phone), None)


class Counters(Throttle):
    """Failures per key; `locked` keys answer a wait without counting."""

    def __init__(self, locked: frozenset[str] = frozenset()) -> None:
        super().__init__(LockoutPolicy(5, 30, 30.0, 900.0))
        self.failures: dict[str, int] = {}
        self.resets: list[str] = []
        self.locked = locked

    async def retry_after(self, session: AsyncSession, keys: list[str], now: datetime) -> int:
        return 60 if self.locked & set(keys) else 0

    async def fail(self, session: AsyncSession, keys: list[str], now: datetime) -> None:
        for key in keys:
            self.failures[key] = self.failures.get(key, 0) + 1

    async def reset(self, session: AsyncSession, key: str) -> None:
        self.resets.append(key)


class Refresh(RefreshTokens):
    def issue(
        self, session: AsyncSession, account: Account, now: datetime, family_id: uuid.UUID | None = None
    ) -> str:
        return f"refresh-for-{account.username}"


class Trail(Unit):
    """A unit of work whose audit entries are kept in a list instead of the database's chain."""

    entries: list[tuple[str, dict[str, Any]]]

    def audit(
        self, action: str, object_type: str | None = None, object_id: object | None = None, **detail: Any
    ) -> None:
        self.entries.append((action, detail))


def unit(source: str | None = "10.0.0.7") -> Trail:
    made = Trail(NO_SESSION, "thpt-a", SYSTEM, source)
    made.entries = []
    return made


def account(username: str, **fields: Any) -> Account:
    values: dict[str, Any] = {
        "id": uuid.uuid4(),
        "school_id": "thpt-a",
        "username": username,
        "full_name": "Nguyễn Thị Lan",
        "password_hash": hash_password(PASSWORD),
        "roles": ["subject_teacher"],
        "must_change_password": False,
        "totp_enabled": False,
        "disabled": False,
        "phone": None,
    }
    return Account(**{**values, **fields})


def wired(*accounts: Account, locked: frozenset[str] = frozenset()) -> tuple[Any, Counters, TokenIssuer]:
    settings = IdentitySettings(environment="test", demo_accounts_exempt=False)
    issuer = TokenIssuer(Ed25519PrivateKey.generate(), 300)
    counters = Counters(locked)
    identity = bootstrap(
        settings,
        issuer,
        accounts=AccountService(Accounts(*accounts)),
        throttle=counters,
        refresh=Refresh(timedelta(days=settings.refresh_token_days)),
    )
    return identity.sign_in, counters, issuer


async def test_failures_count_per_account_whatever_spelling_found_it() -> None:
    lan = account("gv.lan", phone="0912345678")
    sign_in, counters, _ = wired(lan)
    for login in ("gv.lan", " GV.Lan ", "0912 345 678", "+84912345678"):
        refused = await sign_in.attempt(unit(), login, "sai-mat-khau", None)
        assert isinstance(refused, Problem)
        assert refused.status == 401
    assert counters.failures[f"account:{lan.id}"] == 4
    assert counters.failures["addr:10.0.0.7"] == 4
    nobody = await sign_in.attempt(unit(), "Ai.Do ", "x", None)
    assert isinstance(nobody, Problem)
    assert counters.failures["login:ai.do"] == 1


async def test_a_locked_name_is_refused_before_its_password_is_checked() -> None:
    lan = account("gv.lan")
    sign_in, counters, _ = wired(lan, locked=frozenset({f"account:{lan.id}"}))
    work = unit()
    refused = await sign_in.attempt(work, "gv.lan", PASSWORD, None)
    assert isinstance(refused, Problem)
    assert refused.status == 429
    assert [action for action, _ in work.entries] == ["sign_in.locked"]
    assert counters.failures == {}


async def test_a_disabled_account_is_refused_and_counted_even_with_its_password() -> None:
    lan = account("gv.lan", disabled=True)
    sign_in, counters, _ = wired(lan)
    work = unit()
    refused = await sign_in.attempt(work, "gv.lan", PASSWORD, None)
    assert isinstance(refused, Problem)
    assert refused.status == 401
    assert counters.failures[f"account:{lan.id}"] == 1
    assert work.entries[-1] == ("sign_in.failed", {"login": "gv.lan", "reason": "disabled"})


async def test_a_pending_step_gives_a_restricted_token_and_no_refresh_token() -> None:
    board = account("pht.lan", roles=["vice_principal"], must_change_password=True)
    sign_in, counters, issuer = wired(board)
    issued = await sign_in.attempt(unit(), "pht.lan", PASSWORD, None)
    assert isinstance(issued, Issued)
    assert (issued.must_change_password, issued.totp_setup_required, issued.refresh_token) == (
        True,
        True,
        None,
    )
    claims = jwt.decode(issued.access_token, issuer._key.public_key(), algorithms=["EdDSA"], audience="hbs")
    assert claims["restricted"] == ["password_change", "totp_setup"]
    assert counters.resets == [f"account:{board.id}"]


async def test_a_clean_sign_in_gives_a_full_token_and_a_refresh_token() -> None:
    lan = account("gv.lan")
    sign_in, _, _ = wired(lan)
    issued = await sign_in.attempt(unit(), "GV.LAN", PASSWORD, None)
    assert isinstance(issued, Issued)
    assert issued.refresh_token == "refresh-for-gv.lan"
    claims = jwt.decode(issued.access_token, options={"verify_signature": False})
    assert "restricted" not in claims
    assert claims["roles"] == ["subject_teacher"]
