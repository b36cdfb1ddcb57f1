"""Outside systems (issue 13 §6): the office registers a client (its secret shown once, kept as an
Argon2id hash), the client gets short-lived scoped tokens by OAuth 2 client credentials (RFC 6749
§4.4, its error shapes), every issuance and use goes into identity's audit trail, and a revoked
client is refused at once."""

from __future__ import annotations

import base64
import time
from typing import Any

import httpx
import jwt
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from hbs_identity.audit import entries
from hbs_identity.models import OAuthClient
from hbs_shared.auth import JwksVerifier
from hbs_shared.service import ServiceRuntime

from .conftest import Login

pytestmark = [pytest.mark.db, pytest.mark.broker]
SCHOOL = "thpt-chuyen-thai-binh"
FORM = {"content-type": "application/x-www-form-urlencoded"}


def basic(client_id: str, secret: str) -> dict[str, str]:
    raw = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {"authorization": f"Basic {raw}", **FORM}


async def register(client: httpx.AsyncClient, admin: dict[str, str], scopes: list[str]) -> dict[str, Any]:
    made = await client.post(
        "/oauth/clients", json={"name": "Trường Đại học Sư phạm", "scopes": scopes}, headers=admin
    )
    assert made.status_code == 201, made.text
    return dict(made.json())


async def actions(app: FastAPI) -> list[str]:
    runtime: ServiceRuntime = app.state.runtime
    async with runtime.db.transaction() as session:
        return [
            e.action
            for e in reversed(await entries(session, SCHOOL, limit=1000))
            if e.action.startswith("client.")
        ]


async def test_the_office_registers_a_client_whose_secret_is_shown_once_and_kept_hashed(
    app: FastAPI, client: httpx.AsyncClient, login: Login
) -> None:
    admin = await login("quantri")
    made = await register(client, admin, ["verify", "verify", "national.export"])
    assert made["scopes"] == ["national.export", "verify"]
    assert made["client_id"].startswith("hbsc_")
    assert len(made["client_secret"]) >= 40
    listed = await client.get("/oauth/clients", headers=admin)
    assert listed.status_code == 200
    assert [c["client_id"] for c in listed.json()] == [made["client_id"]]
    assert "client_secret" not in listed.json()[0]
    runtime: ServiceRuntime = app.state.runtime
    async with runtime.db.transaction() as session:
        stored = (await session.execute(select(OAuthClient))).scalar_one()
    assert stored.secret_hash.startswith("$argon2id$")
    assert made["client_secret"] not in stored.secret_hash
    # Teachers and families register nothing; a bad scope is a 422 naming the field.
    teacher = await login("gv.toan")
    assert (
        await client.post("/oauth/clients", json={"name": "X", "scopes": ["verify"]}, headers=teacher)
    ).status_code == 403
    bad = await client.post("/oauth/clients", json={"name": "X", "scopes": ["grades.write"]}, headers=admin)
    assert bad.status_code == 422
    assert bad.headers["content-type"].startswith("application/problem+json")
    assert bad.json()["field"].startswith("scopes")


async def test_client_credentials_give_a_short_lived_scoped_token_verifiable_from_the_jwks(
    app: FastAPI, client: httpx.AsyncClient, login: Login
) -> None:
    made = await register(client, await login("quantri"), ["verify", "national.export"])
    issued = await client.post(
        "/v1/oauth/token",
        content="grant_type=client_credentials&scope=verify",
        headers=basic(made["client_id"], made["client_secret"]),
    )
    assert issued.status_code == 200, issued.text
    assert issued.headers["cache-control"] == "no-store"
    body = issued.json()
    assert (body["token_type"], body["expires_in"], body["scope"]) == ("Bearer", 300, "verify")
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["client_id"] == made["client_id"]
    assert claims["scope"] == "verify"
    assert claims["exp"] - claims["iat"] == 300
    assert "roles" not in claims
    principal = await JwksVerifier("http://identity", client=client).verify(
        body["access_token"], allow_client=True
    )
    assert principal.is_client
    assert principal.scopes == frozenset({"verify"})
    # client_secret_post, no scope asked: every registered scope.
    posted = await client.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": made["client_id"],
            "client_secret": made["client_secret"],
        },
    )
    assert posted.status_code == 200, posted.text
    assert posted.json()["scope"] == "national.export verify"
    assert await actions(app) == ["client.registered", "client.token_issued", "client.token_issued"]


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        ("grant_type=password&username=a&password=b", 400, "unsupported_grant_type"),
        ("scope=verify", 400, "invalid_request"),
        ("grant_type=client_credentials&grant_type=client_credentials", 400, "invalid_request"),
        ("grant_type=client_credentials&scope=records.read", 400, "invalid_scope"),
        ("grant_type=client_credentials&scope=grades.write", 400, "invalid_scope"),
    ],
)
async def test_token_errors_have_the_rfc_6749_shape(
    client: httpx.AsyncClient, login: Login, body: str, status: int, error: str
) -> None:
    made = await register(client, await login("quantri"), ["verify"])
    answer = await client.post(
        "/v1/oauth/token", content=body, headers=basic(made["client_id"], made["client_secret"])
    )
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/json"
    assert answer.json()["error"] == error
    assert answer.json()["error_description"]


async def test_a_wrong_secret_an_unknown_client_and_a_json_body_are_refused(
    app: FastAPI, client: httpx.AsyncClient, login: Login
) -> None:
    made = await register(client, await login("quantri"), ["verify"])
    grant = "grant_type=client_credentials"
    wrong = await client.post("/v1/oauth/token", content=grant, headers=basic(made["client_id"], "x" * 43))
    assert wrong.status_code == 401
    assert wrong.json()["error"] == "invalid_client"
    assert wrong.headers["www-authenticate"].startswith("Basic")
    unknown = await client.post("/v1/oauth/token", content=grant, headers=basic("hbsc_nobody", "x"))
    assert (unknown.status_code, unknown.json()["error"]) == (401, "invalid_client")
    as_json = await client.post(
        "/v1/oauth/token",
        json={"grant_type": "client_credentials"},
        headers={"authorization": basic("a", "b")["authorization"]},
    )
    assert (as_json.status_code, as_json.json()["error"]) == (400, "invalid_request")
    assert (await actions(app)).count("client.token_refused") == 2


async def test_every_use_is_recorded_and_a_revoked_client_is_refused_at_once(
    app: FastAPI, client: httpx.AsyncClient, login: Login
) -> None:
    admin = await login("quantri")
    made = await register(client, admin, ["verify"])
    token = (
        await client.post(
            "/v1/oauth/token",
            content="grant_type=client_credentials",
            headers=basic(made["client_id"], made["client_secret"]),
        )
    ).json()["access_token"]
    used = await client.post("/oauth/introspect", data={"token": token, "use": "GET /v1/status/{sha256}"})
    assert used.json() == {"active": True, "client_id": made["client_id"], "scope": "verify"}
    # A person's token is not a client's: inactive here.
    person = (await login("gv.toan"))["authorization"].split()[1]
    assert (await client.post("/oauth/introspect", data={"token": person})).json()["active"] is False

    revoked = await client.post(f"/oauth/clients/{made['id']}/revoke", headers=admin)
    assert revoked.status_code == 200
    assert revoked.json()["active"] is False
    # The token has minutes left, yet the next use is refused, and no new token is issued.
    assert time.time() < jwt.decode(token, options={"verify_signature": False})["exp"]
    assert (await client.post("/oauth/introspect", data={"token": token})).json() == {
        "active": False,
        "client_id": None,
        "scope": None,
    }
    again = await client.post(
        "/v1/oauth/token",
        content="grant_type=client_credentials",
        headers=basic(made["client_id"], made["client_secret"]),
    )
    assert (again.status_code, again.json()["error"]) == (401, "invalid_client")
    assert await actions(app) == [
        "client.registered",
        "client.token_issued",
        "client.token_used",
        "client.revoked",
        "client.use_refused",
        "client.token_refused",
    ]
    runtime: ServiceRuntime = app.state.runtime
    async with runtime.db.transaction() as session:
        used_entry = (await entries(session, SCHOOL, action="client.token_used"))[0]
    assert used_entry.actor_name == "Trường Đại học Sư phạm"
    assert used_entry.detail["use"] == "GET /v1/status/{sha256}"
