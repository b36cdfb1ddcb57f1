"""The identity service: accounts, tokens, the school's people and structure, authorisation."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from prometheus_client import Counter

from hbs_identity.accounts import endpoints as account_endpoints
from hbs_identity.accounts.passwords import use_cost
from hbs_identity.assignments import endpoints as assignment_endpoints
from hbs_identity.authz import endpoints as authz_endpoints
from hbs_identity.bootstrap import bootstrap
from hbs_identity.change_requests import endpoints as change_request_endpoints
from hbs_identity.clients import endpoints as client_endpoints
from hbs_identity.clients.service import ClientService
from hbs_identity.factor_resets import endpoints as factor_reset_endpoints
from hbs_identity.people import endpoints as people_endpoints
from hbs_identity.people.service import PeopleService
from hbs_identity.province import endpoints as province_endpoints
from hbs_identity.school import endpoints as school_endpoints
from hbs_identity.school.facts import all_school_ids
from hbs_identity.settings import IdentitySettings
from hbs_identity.tokens import endpoints as token_endpoints
from hbs_identity.tokens.keys import TokenIssuer
from hbs_identity.transfer import endpoints as transfer_endpoints
from hbs_identity.unit import SYSTEM, unit_of_work
from hbs_identity.unit import publish_school_facts as publish
from hbs_shared.auth import JwksVerifier
from hbs_shared.logging import get_logger
from hbs_shared.schools import PROVINCE_SCOPE
from hbs_shared.service import ServiceRuntime, create_service_app

MIGRATIONS = Path(__file__).parent / "migrations"
log = get_logger(__name__)


def create_app(settings: IdentitySettings) -> FastAPI:
    runtime = ServiceRuntime("identity", settings, migrations=MIGRATIONS)
    use_cost(settings.password_hash_cost)
    lifetime = settings.access_token_minutes * 60
    previous = settings.previous_public_keys()
    if settings.jwt_private_key.get_secret_value():
        issuer = TokenIssuer.from_pem(settings.jwt_private_key.get_secret_value(), lifetime, previous)
    else:
        issuer = TokenIssuer.from_file(settings.data_dir / "identity-jwt-ed25519.pem", lifetime, previous)

    async def seed(rt: ServiceRuntime) -> None:
        if not settings.seeds_demo:
            return
        # Development only: the demo people come with the development tools, imported here.
        from hbs_devtools.demo import SECOND_SCHOOL
        from hbs_identity.demo import DemoSeeder

        seeder = DemoSeeder(PeopleService(settings.national_id_pattern))
        exempt = settings.demo_accounts_exempt
        async with unit_of_work(rt, settings.school_id, SYSTEM) as unit:
            report = await seeder.seed(unit, settings.demo_size, exempt=exempt)
        log.info("demo school seeded", size=settings.demo_size, **vars(report))
        if settings.school_id != SECOND_SCHOOL.id:
            async with unit_of_work(rt, SECOND_SCHOOL.id, SYSTEM) as unit:
                report = await seeder.seed(unit, "small", exempt=exempt, school=SECOND_SCHOOL)
            log.info("second demo school seeded", school_id=SECOND_SCHOOL.id, **vars(report))
        async with unit_of_work(rt, PROVINCE_SCOPE, SYSTEM) as unit:
            await seeder.seed_province(unit)

    async def publish_school_facts(rt: ServiceRuntime) -> None:
        # Every school's facts once per start: a fresh stack, or schools from before the event.
        async with rt.db.transaction() as session:
            school_ids = await all_school_ids(session)
        for school_id in school_ids:
            async with unit_of_work(rt, school_id, SYSTEM) as unit:
                await publish(unit, always=True)

    app = create_service_app(
        runtime,
        title="HBS identity",
        routers=[
            token_endpoints.router,
            school_endpoints.router,
            people_endpoints.router,
            assignment_endpoints.router,
            authz_endpoints.router,
            account_endpoints.router,
            factor_reset_endpoints.router,
            change_request_endpoints.router,
            transfer_endpoints.router,
            client_endpoints.router,
            province_endpoints.router,
        ],
        on_startup=[seed, publish_school_facts],
    )
    app.state.token_issuer = issuer
    identity = bootstrap(settings, issuer)
    app.state.identity = identity
    app.state.sign_in = identity.sign_in
    app.state.sign_in_failures = Counter(
        "hbs_identity_sign_in_failures",
        "Refused sign-ins (POST /auth/token) by HTTP status (401 wrong credentials, 423, 429)",
        ["status"],
        registry=runtime.metrics.registry,
    )
    verifier = JwksVerifier(settings.identity_url, static_jwks=issuer.jwks())
    app.state.verifier = verifier
    app.state.school_id = settings.school_id
    app.state.clients = ClientService(issuer, settings.client_token_minutes * 60)

    async def check_client(token: str, use: str) -> bool:
        # Identity's own client-scoped endpoints ask itself in-process, not over HTTP.
        answer = await client_endpoints.introspect(runtime, app.state.clients, verifier, token, use)
        return answer.active

    verifier.client_check = check_client
    return app
