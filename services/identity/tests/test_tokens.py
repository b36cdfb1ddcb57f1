"""Access tokens: issued by identity, verified by any service from the JWKS alone; a rotation of
the signing key, with the old key served beside the new one."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from asgi_lifespan import LifespanManager
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.rsa import generate_private_key as rsa_key
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat
from pydantic import ValidationError

from hbs_devtools.demo import DEMO_PASSWORD, demo_person
from hbs_identity.app import create_app
from hbs_identity.models import Account
from hbs_identity.settings import IdentitySettings
from hbs_identity.tokens.keys import TokenIssuer, key_id, public_keys
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


def _public_pem(key: Ed25519PrivateKey) -> str:
    return key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()


def _private_pem(key: Ed25519PrivateKey) -> str:
    return key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode()


def test_the_jwks_serves_the_previous_keys_after_the_current_one() -> None:
    current, old, older = (Ed25519PrivateKey.generate() for _ in range(3))
    previous = public_keys(_public_pem(old) + "\n" + _public_pem(older) + _public_pem(current))
    issuer = TokenIssuer(current, 300, previous)
    kids = [k["kid"] for k in issuer.jwks()["keys"]]
    # The signing key first; the current key listed again as "previous" is served once.
    assert kids == [key_id(current.public_key()), key_id(old.public_key()), key_id(older.public_key())]
    assert jwt.get_unverified_header(issuer.issue(account()))["kid"] == kids[0]
    assert TokenIssuer(current, 300).jwks()["keys"][0]["kid"] == kids[0]


def test_previous_keys_must_be_ed25519_public_keys() -> None:
    assert IdentitySettings(jwt_previous_public_keys="").previous_public_keys() == []
    rsa = rsa_key(public_exponent=65537, key_size=2048).public_key()
    for bad in (
        "not a key",
        _private_pem(Ed25519PrivateKey.generate()),
        rsa.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode(),
    ):
        with pytest.raises(ValidationError) as refused:
            IdentitySettings(jwt_previous_public_keys=bad)
        assert "jwt_previous_public_keys" in str(refused.value)


@pytest.mark.db
@pytest.mark.broker
async def test_tokens_of_the_old_key_verify_during_a_rotation(
    databases: Any, kafka: Any, tmp_path: Path
) -> None:
    """Sign-in under the old key; identity restarted with the new key and the old one as previous:
    the old token still verifies through the shared JwksVerifier (and at identity), new tokens
    use the new key, a key never listed is refused; once the old key is dropped, so is its token."""
    old, new = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    database = databases.new("identity")

    def settings(key: Ed25519PrivateKey, previous: str = "") -> IdentitySettings:
        return IdentitySettings(
            database_url=database,
            kafka_bootstrap=kafka.bootstrap,
            data_dir=tmp_path,
            seed_demo=True,
            demo_size="small",
            environment="test",
            jwt_private_key=_private_pem(key),
            jwt_previous_public_keys=previous,
        )

    @asynccontextmanager
    async def running(config: IdentitySettings) -> AsyncIterator[httpx.AsyncClient]:
        app = create_app(config)
        async with (
            LifespanManager(app, startup_timeout=60, shutdown_timeout=30),
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://identity") as client,
        ):
            yield client
            await drain_outbox(app)

    login = {"username": "gv.toan", "password": DEMO_PASSWORD}
    async with running(settings(old)) as identity:
        old_token = (await identity.post("/auth/token", json=login)).json()["access_token"]
    assert jwt.get_unverified_header(old_token)["kid"] == key_id(old.public_key())

    async with running(settings(new, previous=_public_pem(old))) as identity:
        verifier = JwksVerifier("http://identity", client=identity)
        principal = await verifier.verify(old_token)
        assert principal.user_id == demo_person("gv.toan").user_id
        me = await identity.get("/me", headers={"authorization": f"Bearer {old_token}"})
        assert me.status_code == 200
        new_token = (await identity.post("/auth/token", json=login)).json()["access_token"]
        assert jwt.get_unverified_header(new_token)["kid"] == key_id(new.public_key())
        assert (await verifier.verify(new_token)).user_id == principal.user_id
        stranger = TokenIssuer(Ed25519PrivateKey.generate(), 300).issue(account())
        with pytest.raises(Problem) as caught:
            await verifier.verify(stranger)
        assert caught.value.detail == "unknown signing key"

    async with running(settings(new)) as identity:
        verifier = JwksVerifier("http://identity", client=identity)
        with pytest.raises(Problem) as caught:
            await verifier.verify(old_token)
        assert caught.value.detail == "unknown signing key"
        assert (await verifier.verify(new_token)).user_id == principal.user_id
