"""Access tokens: issued by identity, verified by any service from the JWKS alone."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from asgi_lifespan import LifespanManager
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hbs_devtools.demo import DEMO_PASSWORD, demo_person
from hbs_identity.app import create_app
from hbs_identity.models import Account
from hbs_identity.settings import IdentitySettings
from hbs_identity.tokens.keys import TokenIssuer
from hbs_shared.auth import JwksVerifier
from hbs_shared.problems import Problem

from .conftest import drain_outbox


def account() -> Account:
    return Account(
        id=uuid.uuid4(),
        school_id="thpt-a",
        username="gv.a",
        full_name="Nguyễn Văn A",
        password_hash="x",
        roles=["subject_teacher"],
    )


def test_token_carries_identity_roles_and_school() -> None:
    issuer = TokenIssuer(Ed25519PrivateKey.generate(), 300)
    claims = jwt.decode(
        issuer.issue(account()), issuer._key.public_key(), algorithms=["EdDSA"], audience="hbs"
    )
    assert claims["roles"] == ["subject_teacher"]
    assert claims["school_id"] == "thpt-a"
    assert claims["exp"] - claims["iat"] == 300


@pytest.fixture
async def identity(databases: Any, kafka: Any, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    settings = IdentitySettings(
        database_url=databases.new("identity"),
        kafka_bootstrap=kafka.bootstrap,
        data_dir=tmp_path,
        seed_demo=True,
        demo_size="small",
        environment="test",
    )
    app = create_app(settings)
    async with (
        LifespanManager(app, startup_timeout=60, shutdown_timeout=30),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://identity") as client,
    ):
        yield client
        # Stopping in the middle of the demo's backlog can outlast any timeout (see conftest's
        # drain_outbox): let the relay publish it first, as the other identity fixtures do.
        await drain_outbox(app)


@pytest.mark.db
@pytest.mark.broker
async def test_sign_in_and_local_verification_from_the_jwks(identity: httpx.AsyncClient) -> None:
    issued = await identity.post("/auth/token", json={"username": "GV.Toan ", "password": DEMO_PASSWORD})
    assert issued.status_code == 200
    token = issued.json()["access_token"]
    verifier = JwksVerifier("http://identity", client=identity)
    principal = await verifier.verify(token)
    assert principal.user_id == demo_person("gv.toan").user_id
    assert principal.roles == frozenset({"subject_teacher"})
    me = await identity.get("/me", headers={"authorization": f"Bearer {token}"})
    assert me.json()["name"] == "Nguyễn Thị Hoa"


@pytest.mark.db
@pytest.mark.broker
async def test_wrong_password_and_unknown_user_get_the_same_vietnamese_refusal(
    identity: httpx.AsyncClient,
) -> None:
    wrong = await identity.post("/auth/token", json={"username": "gv.toan", "password": "nope"})
    unknown = await identity.post("/auth/token", json={"username": "ai.do", "password": "nope"})
    for refused in (wrong, unknown):
        assert refused.status_code == 401
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["title"] == "Sai tên đăng nhập hoặc mật khẩu"


@pytest.mark.db
@pytest.mark.broker
async def test_a_token_from_another_key_or_expired_is_refused(
    identity: httpx.AsyncClient, tmp_path: Path
) -> None:
    verifier = JwksVerifier("http://identity", client=identity)
    forged = TokenIssuer(Ed25519PrivateKey.generate(), 300).issue(account())
    with pytest.raises(Problem) as caught:
        await verifier.verify(forged)
    assert caught.value.detail == "unknown signing key"

    # Signed with the service's own key (from its data folder), but already expired.
    expired = TokenIssuer.from_file(tmp_path / "identity-jwt-ed25519.pem", -10).issue(account())
    assert jwt.decode(expired, options={"verify_signature": False})["exp"] < time.time()
    with pytest.raises(Problem) as caught:
        await verifier.verify(expired)
    assert caught.value.detail == "access token expired"

    me = await identity.get("/me", headers={"authorization": f"Bearer {forged}"})
    assert me.status_code == 401
