"""TOTP secrets sealed at rest (AES-GCM, account id as associated data): the key setting, the
stored column, sign-in with TOTP, and the migration that seals secrets stored in plaintext."""

from __future__ import annotations

import base64
import os
import uuid
from collections.abc import Awaitable, Callable

import httpx
import pyotp
import pytest
from alembic import command
from fastapi import FastAPI
from pydantic import ValidationError
from sqlalchemy import Connection, select, text

from hbs_identity.accounts.sealing import TotpSealer, UnsealError, encryption_key, is_sealed
from hbs_identity.app import MIGRATIONS
from hbs_identity.models import Account
from hbs_identity.settings import IdentitySettings
from hbs_shared.migrations import alembic_config
from hbs_shared.service import ServiceRuntime

Login = Callable[..., Awaitable[dict[str, str]]]
NEW_PASSWORD = "mat-khau-moi-2026"


def test_a_sealed_secret_opens_only_with_its_key_and_account() -> None:
    key = os.urandom(32)
    sealer = TotpSealer(key)
    alice, bob = uuid.uuid4(), uuid.uuid4()
    sealed = sealer.seal("JBSWY3DPEHPK3PXP", alice)
    assert is_sealed(sealed)
    assert "JBSWY3DPEHPK3PXP" not in sealed
    assert sealer.open(sealed, alice) == "JBSWY3DPEHPK3PXP"
    assert sealer.seal("JBSWY3DPEHPK3PXP", alice) != sealed  # a fresh nonce every time
    with pytest.raises(UnsealError):
        sealer.open(sealed, bob)
    with pytest.raises(UnsealError):
        TotpSealer(os.urandom(32)).open(sealed, alice)
    with pytest.raises(UnsealError):
        sealer.open("JBSWY3DPEHPK3PXP", alice)


def test_the_key_setting_is_32_bytes_of_base64_and_the_dev_default_is_refused_in_production() -> None:
    real = base64.b64encode(os.urandom(32)).decode()
    assert len(encryption_key(real)) == 32
    assert len(IdentitySettings(totp_encryption_key=real).totp_key()) == 32
    assert len(IdentitySettings().totp_key()) == 32
    for bad in ("", "not base64!", base64.b64encode(os.urandom(16)).decode()):
        with pytest.raises(ValidationError, match="totp_encryption_key"):
            IdentitySettings(totp_encryption_key=bad)
    with pytest.raises(ValidationError, match="HBS_IDENTITY_TOTP_ENCRYPTION_KEY"):
        IdentitySettings(
            environment="production",
            password_hash_cost="standard",  # the suite sets the test cost in its environment
            database_url="postgresql+asyncpg://h/identity",
            jwt_private_key="-----BEGIN PRIVATE KEY-----",
        )


async def _stored_secret(app: FastAPI, username: str) -> tuple[uuid.UUID, str | None]:
    runtime: ServiceRuntime = app.state.runtime
    async with runtime.db.transaction() as session:
        account = (await session.execute(select(Account).where(Account.username == username))).scalar_one()
        return account.id, account.totp_secret


async def _enrol_totp(client: httpx.AsyncClient, login: Login, username: str) -> str:
    """A new vice principal changes the first password and sets up TOTP; returns the secret."""
    admin = await login("quantri")
    created = await client.post(
        "/staff",
        headers=admin,
        json={"username": username, "full_name": "Hoàng Thị Lan", "roles": ["vice_principal"]},
    )
    issued = (await client.post(f"/accounts/{created.json()['id']}/password", headers=admin)).json()
    first = await client.post(
        "/auth/token", json={"username": username, "password": issued["initial_password"]}
    )
    changed = await client.post(
        "/auth/password",
        headers={"authorization": f"Bearer {first.json()['access_token']}"},
        json={"current_password": issued["initial_password"], "new_password": NEW_PASSWORD},
    )
    restricted = {"authorization": f"Bearer {changed.json()['access_token']}"}
    secret = str((await client.post("/auth/totp/setup", headers=restricted)).json()["secret"])
    confirmed = await client.post(
        "/auth/totp/confirm", headers=restricted, json={"code": pyotp.TOTP(secret).now()}
    )
    assert confirmed.status_code == 200, confirmed.text
    return secret


async def _sign_in(client: httpx.AsyncClient, username: str, code: str) -> httpx.Response:
    return await client.post(
        "/auth/token", json={"username": username, "password": NEW_PASSWORD, "totp": code}
    )


@pytest.mark.db
@pytest.mark.broker
async def test_the_stored_totp_secret_is_sealed_and_sign_in_still_works(
    app: FastAPI, client: httpx.AsyncClient, login: Login
) -> None:
    secret = await _enrol_totp(client, login, "pht.kin")
    account_id, stored = await _stored_secret(app, "pht.kin")
    assert stored is not None
    assert secret not in stored
    assert is_sealed(stored)
    assert TotpSealer(IdentitySettings().totp_key()).open(stored, account_id) == secret

    assert (await _sign_in(client, "pht.kin", pyotp.TOTP(secret).now())).status_code == 200
    wrong = await _sign_in(client, "pht.kin", "000000")
    assert (wrong.status_code, wrong.json()["field"]) == (401, "totp")


@pytest.mark.db
@pytest.mark.broker
async def test_the_migration_seals_secrets_stored_in_plaintext(
    app: FastAPI, client: httpx.AsyncClient, login: Login
) -> None:
    secret = await _enrol_totp(client, login, "pht.cu")
    runtime: ServiceRuntime = app.state.runtime
    config = alembic_config(MIGRATIONS, runtime.db.engine.url.render_as_string(hide_password=False))

    def stored(connection: Connection) -> str:
        value = connection.execute(text("SELECT totp_secret FROM accounts WHERE username = 'pht.cu'"))
        return str(value.scalar_one())

    def down_then_up(connection: Connection) -> tuple[str, str]:
        config.attributes["connection"] = connection
        command.downgrade(config, "0003")  # as before sealing: the secret in plaintext
        before = stored(connection)
        command.upgrade(config, "head")
        return before, stored(connection)

    async with runtime.db.engine.begin() as connection:
        before, after = await connection.run_sync(down_then_up)
    assert before == secret
    assert is_sealed(after)
    assert secret not in after
    assert (await _sign_in(client, "pht.cu", pyotp.TOTP(secret).now())).status_code == 200
