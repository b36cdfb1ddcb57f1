"""The identity service's wiring point: its sign-in use case built from the settings.

`create_app` goes through it; unit tests pass in-memory accounts, lockout counters and refresh
tokens to check the sign-in rules without a database (Cosmic Python's `bootstrap()`), in addition
to the real-database tests of the same paths. Identity's other use cases (people, school,
assignments, authorisation) hold no state and take no dependencies."""

from __future__ import annotations

from dataclasses import dataclass

from hbs_identity.accounts.security import RefreshTokens, Throttle
from hbs_identity.accounts.service import AccountService
from hbs_identity.accounts.signin import SignIn
from hbs_identity.settings import IdentitySettings
from hbs_identity.tokens.keys import TokenIssuer


@dataclass(frozen=True)
class Identity:
    settings: IdentitySettings
    issuer: TokenIssuer
    sign_in: SignIn


def bootstrap(
    settings: IdentitySettings,
    issuer: TokenIssuer,
    *,
    accounts: AccountService | None = None,
    throttle: Throttle | None = None,
    refresh: RefreshTokens | None = None,
) -> Identity:
    """`accounts`, `throttle`, `refresh`: objects with the real ones' methods (the real ones when None)."""
    sign_in = SignIn(settings, issuer, accounts=accounts, throttle=throttle, refresh=refresh)
    return Identity(settings, issuer, sign_in)
