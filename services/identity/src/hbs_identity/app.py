"""The identity service: accounts, tokens and (later) the school's people and structure."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from hbs_identity.accounts.service import AccountService
from hbs_identity.settings import IdentitySettings
from hbs_identity.tokens import endpoints as token_endpoints
from hbs_identity.tokens.keys import TokenIssuer
from hbs_shared.auth import JwksVerifier
from hbs_shared.logging import get_logger
from hbs_shared.service import ServiceRuntime, create_service_app
from hbs_shared.settings import Environment

MIGRATIONS = Path(__file__).parent / "migrations"
log = get_logger(__name__)


def create_app(settings: IdentitySettings) -> FastAPI:
    runtime = ServiceRuntime("identity", settings, migrations=MIGRATIONS)
    lifetime = settings.access_token_minutes * 60
    if settings.jwt_private_key.get_secret_value():
        issuer = TokenIssuer.from_pem(settings.jwt_private_key.get_secret_value(), lifetime)
    else:
        issuer = TokenIssuer.from_file(settings.data_dir / "identity-jwt-ed25519.pem", lifetime)

    async def seed(rt: ServiceRuntime) -> None:
        if not settings.seed_demo:
            return
        if settings.environment is Environment.production:
            raise SystemExit("HBS_IDENTITY_SEED_DEMO: demo accounts are refused in production")
        async with rt.db.transaction() as session:
            created = await AccountService().seed_demo(session, settings.school_id)
        log.info("demo accounts seeded", created=created)

    app = create_service_app(
        runtime,
        title="HBS identity",
        routers=[token_endpoints.router],
        on_startup=[seed],
    )
    app.state.token_issuer = issuer
    app.state.verifier = JwksVerifier(settings.identity_url, static_jwks=issuer.jwks())
    return app
