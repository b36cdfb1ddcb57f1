"""Outside systems' tokens (OAuth 2 client credentials, issue 13 §6): accepted only where an
endpoint asks for one of their scopes (`require_scope`), never by an endpoint written for people;
every use asked of identity, so a revoked client is refused at its next request."""

from __future__ import annotations

import json
import time
import uuid
from typing import Annotated, Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import FastAPI
from jwt.algorithms import OKPAlgorithm

from hbs_shared.auth import (
    TOKEN_AUDIENCE,
    TOKEN_ISSUER,
    CurrentPrincipal,
    JwksVerifier,
    Principal,
    person_or_scope,
    require_scope,
)
from hbs_shared.problems import install_problem_handlers

_KEY = Ed25519PrivateKey.generate()
_KID = "test-key"
CLIENT = uuid.uuid4()


def _jwks() -> dict[str, Any]:
    jwk: dict[str, Any] = json.loads(OKPAlgorithm.to_jwk(_KEY.public_key()))
    jwk.update(kid=_KID, use="sig", alg="EdDSA")
    return {"keys": [jwk]}


def _claims(**extra: Any) -> dict[str, Any]:
    now = int(time.time())
    return {
        "iss": TOKEN_ISSUER,
        "aud": TOKEN_AUDIENCE,
        "iat": now,
        "exp": now + 300,
        "school_id": "thpt-test",
    } | extra


def _sign(claims: dict[str, Any]) -> dict[str, str]:
    token = jwt.encode(claims, _KEY, algorithm="EdDSA", headers={"kid": _KID})
    return {"authorization": f"Bearer {token}"}


def client_token(scope: str, **extra: Any) -> dict[str, str]:
    return _sign(_claims(sub=str(CLIENT), client_id="hbsc_test", name="Đại học A", scope=scope, **extra))


def person_token() -> dict[str, str]:
    return _sign(
        _claims(
            sub=str(uuid.uuid4()), preferred_username="hieutruong", name="Trần Văn Minh", roles=["principal"]
        )
    )


class Identity:
    """Stands in for identity's introspection: which clients are revoked, and every use asked."""

    def __init__(self) -> None:
        self.revoked: set[str] = set()
        self.uses: list[str] = []
        self.down = False

    async def check(self, token: str, use: str) -> bool:
        if self.down:
            raise httpx.ConnectError("identity down")
        self.uses.append(use)
        return jwt.decode(token, options={"verify_signature": False})["client_id"] not in self.revoked


def _app(identity: Identity) -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)
    verifier = JwksVerifier("http://identity", static_jwks=_jwks())
    verifier.client_check = identity.check
    app.state.verifier = verifier

    @app.get("/people")
    async def people(principal: CurrentPrincipal) -> dict[str, Any]:
        return {"name": principal.name}

    @app.get("/v1/status/{sha256}")
    async def status(principal: Annotated[Principal, require_scope("verify")]) -> dict[str, Any]:
        return {"client_id": principal.client_id, "scopes": sorted(principal.scopes)}

    @app.get("/records")
    async def records(principal: Annotated[Principal, person_or_scope("records.read")]) -> dict[str, Any]:
        return {"client": principal.is_client}

    return app


@pytest.fixture
def identity() -> Identity:
    return Identity()


@pytest.fixture
async def client(identity: Identity) -> Any:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=_app(identity)), base_url="http://x") as c:
        yield c


async def test_a_client_token_with_the_scope_is_accepted_and_its_use_reported(
    client: httpx.AsyncClient, identity: Identity
) -> None:
    answer = await client.get("/v1/status/abc", headers=client_token("verify national.export"))
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"client_id": "hbsc_test", "scopes": ["national.export", "verify"]}
    assert identity.uses == ["GET /v1/status/{sha256}"]


async def test_a_client_token_opens_no_endpoint_written_for_people(client: httpx.AsyncClient) -> None:
    refused = await client.get("/people", headers=client_token("verify records.read national.export"))
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["error"] == "insufficient_scope"
    # Roles forged into a client token do not make it a person's.
    forged = await client.get("/people", headers=client_token("verify", roles=["principal"]))
    assert forged.status_code == 403


async def test_a_person_token_is_refused_where_a_client_scope_is_asked(client: httpx.AsyncClient) -> None:
    refused = await client.get("/v1/status/abc", headers=person_token())
    assert refused.status_code == 403
    assert "client-credentials" in refused.json()["detail"]


async def test_a_missing_scope_is_refused_naming_it(client: httpx.AsyncClient, identity: Identity) -> None:
    refused = await client.get("/v1/status/abc", headers=client_token("national.export"))
    assert refused.status_code == 403
    assert refused.json()["error"] == "insufficient_scope"
    assert refused.json()["scope"] == "verify"
    assert identity.uses == []


async def test_records_read_is_refused_until_a_students_consent_is_modelled(
    client: httpx.AsyncClient,
) -> None:
    refused = await client.get("/records", headers=client_token("records.read"))
    assert refused.status_code == 403
    assert "consent" in refused.json()["detail"]
    # People keep their own way in (their checks follow in the endpoint).
    assert (await client.get("/records", headers=person_token())).json() == {"client": False}


async def test_a_revoked_client_is_refused_at_its_next_request(
    client: httpx.AsyncClient, identity: Identity
) -> None:
    headers = client_token("verify")
    assert (await client.get("/v1/status/abc", headers=headers)).status_code == 200
    identity.revoked.add("hbsc_test")
    refused = await client.get("/v1/status/abc", headers=headers)
    assert refused.status_code == 401
    assert refused.json()["error"] == "invalid_token"


async def test_identity_unreachable_fails_closed(client: httpx.AsyncClient, identity: Identity) -> None:
    identity.down = True
    answer = await client.get("/v1/status/abc", headers=client_token("verify"))
    assert answer.status_code == 503


def test_an_unknown_scope_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="unknown scopes"):
        require_scope("grades.write")
