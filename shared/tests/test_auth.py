"""The shared token check refuses a restricted token (first-sign-in step pending) everywhere but
the endpoints that complete that step."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import FastAPI
from jwt.algorithms import OKPAlgorithm

from hbs_shared.auth import (
    TOKEN_AUDIENCE,
    TOKEN_ISSUER,
    CurrentPrincipal,
    JwksVerifier,
    PendingStepPrincipal,
)
from hbs_shared.problems import install_problem_handlers

_KEY = Ed25519PrivateKey.generate()
_KID = "test-key"


def _jwks() -> dict[str, Any]:
    jwk: dict[str, Any] = json.loads(OKPAlgorithm.to_jwk(_KEY.public_key()))
    jwk.update(kid=_KID, use="sig", alg="EdDSA")
    return {"keys": [jwk]}


def _token(**extra: Any) -> str:
    now = int(time.time())
    claims = {
        "iss": TOKEN_ISSUER,
        "aud": TOKEN_AUDIENCE,
        "sub": str(uuid.uuid4()),
        "iat": now,
        "exp": now + 300,
        "preferred_username": "gv.moi",
        "name": "Giáo viên mới",
        "roles": [],
        "school_id": "thpt-test",
    } | extra
    return jwt.encode(claims, _KEY, algorithm="EdDSA", headers={"kid": _KID})


def _app() -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)
    app.state.verifier = JwksVerifier("http://identity", static_jwks=_jwks())

    @app.get("/normal")
    async def normal(principal: CurrentPrincipal) -> dict[str, Any]:
        return {"roles": sorted(principal.roles)}

    @app.get("/pending")
    async def pending(principal: PendingStepPrincipal) -> dict[str, Any]:
        return {"restricted": sorted(principal.restricted)}

    return app


async def test_restricted_token_is_refused_by_every_normal_endpoint() -> None:
    restricted = {"authorization": f"Bearer {_token(restricted=['password_change'])}"}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=_app()), base_url="http://x") as client:
        refused = await client.get("/normal", headers=restricted)
        assert refused.status_code == 401
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert "restricted" in refused.json()["detail"]
        # A restricted token with roles forged into it is refused the same way.
        forged = {"authorization": f"Bearer {_token(restricted=['totp_setup'], roles=['principal'])}"}
        assert (await client.get("/normal", headers=forged)).status_code == 401


async def test_pending_step_endpoints_accept_restricted_and_full_tokens() -> None:
    restricted = {"authorization": f"Bearer {_token(restricted=['password_change'])}"}
    full = {"authorization": f"Bearer {_token(roles=['subject_teacher'])}"}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=_app()), base_url="http://x") as client:
        assert (await client.get("/pending", headers=restricted)).json() == {
            "restricted": ["password_change"]
        }
        assert (await client.get("/pending", headers=full)).json() == {"restricted": []}
        assert (await client.get("/normal", headers=full)).json() == {"roles": ["subject_teacher"]}


async def test_malformed_restricted_claim_is_refused() -> None:
    odd = {"authorization": f"Bearer {_token(restricted='password_change')}"}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=_app()), base_url="http://x") as client:
        assert (await client.get("/pending", headers=odd)).status_code == 401
