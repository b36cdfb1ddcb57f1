"""Issue 9 in signing: who may have a signing key made (hole 9), restricted tokens (hole 1), and the
public verification's limit by the real client's address (hole 4). Identity and signing in-process
on real databases, the real broker and SoftHSM2; tokens from identity's own sign-in."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from cryptography import x509
from fastapi import FastAPI

from hbs_identity.app import create_app as create_identity
from hbs_identity.models import Account
from hbs_identity.settings import IdentitySettings
from hbs_identity.tokens.keys import TokenIssuer
from hbs_shared.authz import AuthzClient
from hbs_shared.demo import DEMO_PARENT, DEMO_PASSWORD, DEMO_STUDENT_LOGIN, demo_person
from hbs_signing.app import create_app as create_signing
from hbs_signing.settings import SigningSettings
from hbs_signing.token import TokenConfig

from .conftest import announce_school

pytestmark = [pytest.mark.db, pytest.mark.broker, pytest.mark.hsm]
VERIFY_LIMIT = 5


@dataclass
class Office:
    identity: httpx.AsyncClient
    signing: httpx.AsyncClient
    issuer: TokenIssuer
    tokens: dict[str, str]
    signing_app: FastAPI

    def headers(self, who: str) -> dict[str, str]:
        return {"authorization": f"Bearer {self.tokens[who]}"}


@pytest.fixture(scope="module")
async def office(
    databases: Any, kafka: Any, token_config: TokenConfig, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Office]:
    tmp = tmp_path_factory.mktemp("keys")
    identity_app = create_identity(
        IdentitySettings(
            database_url=databases.new("identity"),
            kafka_bootstrap=kafka.bootstrap,
            data_dir=tmp / "identity",
            seed_demo=True,
            demo_size="small",
            environment="test",
        )
    )
    signing_app = create_signing(
        SigningSettings(
            database_url=databases.new("signing"),
            kafka_bootstrap=kafka.bootstrap,
            data_dir=tmp / "signing",
            environment="test",
            softhsm_dir=token_config.softhsm_dir,
            token_label=token_config.token_label,
            token_pin=token_config.pin,
            trusted_proxies=["127.0.0.2"],
            verify_requests_per_minute=VERIFY_LIMIT,
        )
    )
    async with (
        LifespanManager(identity_app, startup_timeout=90, shutdown_timeout=60),
        LifespanManager(signing_app, startup_timeout=90, shutdown_timeout=30),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=identity_app), base_url="http://identity") as ic,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=signing_app), base_url="http://signing") as sc,
    ):
        signing_app.state.verifier = identity_app.state.verifier
        # Identity announces the school over the broker too; do not wait for it.
        await announce_school(signing_app.state.runtime.db, "thpt-chuyen-thai-binh")
        signing_app.state.authz = AuthzClient("http://identity", client=ic)
        tokens = {}
        for who in ("gv.toan", "gv.van", "quantri", DEMO_PARENT.username, DEMO_STUDENT_LOGIN):
            answer = await ic.post("/auth/token", json={"username": who, "password": DEMO_PASSWORD})
            assert answer.status_code == 200, answer.text
            tokens[who] = answer.json()["access_token"]
        yield Office(ic, sc, identity_app.state.token_issuer, tokens, signing_app)


def _csr(user_id: object, role: str) -> dict[str, Any]:
    return {"user_id": str(user_id), "role": role, "common_name": "Người ký"}


async def test_families_and_teachers_cannot_have_a_key_made(office: Office) -> None:
    """A parent and a student got a key pair in the token with role principal (hole 9)."""
    for who in (DEMO_PARENT.username, DEMO_STUDENT_LOGIN, "gv.toan"):
        own = await office.signing.post(
            "/certificates/requests",
            json={"role": "principal", "common_name": "Kẻ mạo danh"},
            headers=office.headers(who),
        )
        assert own.status_code == 403, (who, own.text)
        assert own.headers["content-type"].startswith("application/problem+json")


async def test_the_office_makes_keys_only_for_staff_holding_the_signing_role(office: Office) -> None:
    admin = office.headers("quantri")
    parent_id = (await office.identity.get("/me", headers=office.headers(DEMO_PARENT.username))).json()[
        "user_id"
    ]
    for_parent = await office.signing.post(
        "/certificates/requests", json=_csr(parent_id, "principal"), headers=admin
    )
    assert for_parent.status_code == 422, for_parent.text
    assert for_parent.json()["field"] == "role"
    toan = demo_person("gv.toan").user_id
    wrong_role = await office.signing.post(
        "/certificates/requests", json=_csr(toan, "principal"), headers=admin
    )
    assert wrong_role.status_code == 422
    missing = await office.signing.post(
        "/certificates/requests", json={"role": "subject_teacher", "common_name": "X"}, headers=admin
    )
    assert missing.status_code == 422
    made = await office.signing.post(
        "/certificates/requests", json=_csr(toan, "subject_teacher"), headers=admin
    )
    assert made.status_code == 200, made.text
    assert x509.load_pem_x509_csr(made.content).is_signature_valid


async def test_a_restricted_token_is_refused_by_signing(office: Office) -> None:
    """A token issued before the first-sign-in password change set a PIN and signed (hole 1)."""
    person = demo_person("gv.toan")
    account = Account(
        id=person.user_id,
        school_id="thpt-chuyen-thai-binh",
        username=person.username,
        full_name=person.full_name,
        password_hash="x",
        roles=list(person.roles),
    )
    restricted = {"authorization": f"Bearer {office.issuer.issue(account, restricted=['password_change'])}"}
    assert (
        await office.signing.put("/signing-pin", json={"pin": "482916"}, headers=restricted)
    ).status_code == 401
    assert (await office.signing.get("/certificates", headers=restricted)).status_code == 401
    # The same person's full token still works.
    assert (await office.signing.get("/certificates", headers=office.headers("gv.toan"))).status_code == 200


def _from(app: FastAPI, address: str) -> httpx.AsyncClient:
    """A client connecting from `address` (the ASGI scope's client, as uvicorn would set it)."""
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://signing")


async def _statuses(client: httpx.AsyncClient, times: int, forwarded_for: str | None = None) -> list[int]:
    headers = {"x-forwarded-for": forwarded_for} if forwarded_for else {}
    return [(await client.get("/verify/ZZZZZZZZZZ", headers=headers)).status_code for _ in range(times)]


async def test_verify_is_limited_by_the_real_client_address(office: Office) -> None:
    """30 /verify calls by one portal user limited every portal user; and a direct caller dodged
    the limit with a made-up X-Forwarded-For (hole 4)."""
    async with (
        _from(office.signing_app, "127.0.0.1") as direct,
        _from(office.signing_app, "127.0.0.2") as portal,
    ):
        # Not a trusted proxy: its X-Forwarded-For is ignored, so a new one per call does not help.
        dodging = [
            (
                await direct.get("/verify/ZZZZZZZZZZ", headers={"x-forwarded-for": f"198.51.100.{i}"})
            ).status_code
            for i in range(VERIFY_LIMIT + 2)
        ]
        assert dodging[:VERIFY_LIMIT] == [404] * VERIFY_LIMIT
        assert dodging[VERIFY_LIMIT:] == [429, 429]
        # The trusted portal: each of its users is limited on their own.
        one = await _statuses(portal, VERIFY_LIMIT + 1, forwarded_for="203.0.113.5")
        assert one == [404] * VERIFY_LIMIT + [429]
        assert await _statuses(portal, 1, forwarded_for="203.0.113.6") == [404]
        assert await _statuses(portal, 1, forwarded_for="203.0.113.5") == [429]
