"""Verifying the identity service's access tokens locally, from its JWKS."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Mapping
from typing import Annotated, Any

import httpx
import jwt
from fastapi import Depends, Request
from pydantic import BaseModel, ConfigDict

from hbs_shared.problems import Problem

TOKEN_ISSUER = "hbs-identity"
TOKEN_AUDIENCE = "hbs"
JWKS_PATH = "/.well-known/jwks.json"


class Principal(BaseModel):
    """Who is calling: from a verified access token."""

    model_config = ConfigDict(frozen=True)

    user_id: uuid.UUID
    username: str
    name: str
    roles: frozenset[str]
    school_id: str
    token: str
    restricted: frozenset[str] = frozenset()
    """Steps still pending (`password_change`, `totp_setup`): such a token only finishes them."""

    def has_role(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))


class JwksVerifier:
    """Caches the identity service's public keys; refetches (at most every 30 s) on an unknown kid."""

    def __init__(
        self,
        identity_url: str,
        *,
        client: httpx.AsyncClient | None = None,
        static_jwks: Mapping[str, Any] | None = None,
    ) -> None:
        self._url = identity_url.rstrip("/") + JWKS_PATH
        self._client = client
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at = 0.0
        self._lock = asyncio.Lock()
        if static_jwks is not None:
            # Identity itself: it knows its keys, so it never calls its own JWKS over HTTP.
            self._load(static_jwks)
            self._fetched_at = float("inf")

    def _load(self, jwks: Mapping[str, Any]) -> None:
        self._keys = {key["kid"]: jwt.PyJWK(key) for key in jwks.get("keys", []) if "kid" in key}

    async def _refresh(self) -> None:
        async with self._lock:
            if time.monotonic() - self._fetched_at < 30 and self._keys:
                return
            client = self._client or httpx.AsyncClient(timeout=5)
            try:
                response = await client.get(self._url)
                response.raise_for_status()
                jwks: Mapping[str, Any] = response.json()
            finally:
                if self._client is None:
                    await client.aclose()
            self._load(jwks)
            self._fetched_at = time.monotonic()

    async def verify(self, token: str, *, allow_restricted: bool = False) -> Principal:
        """The caller; a restricted token (a pending first-sign-in step) is refused unless the
        endpoint completes that step (`PendingStepPrincipal`), so no service can forget it."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise Problem(401, "Phiên đăng nhập không hợp lệ", "malformed access token") from None
        kid = header.get("kid")
        if not isinstance(kid, str):
            raise Problem(401, "Phiên đăng nhập không hợp lệ", "access token has no key id")
        if kid not in self._keys:
            try:
                await self._refresh()
            except httpx.HTTPError:
                raise Problem(503, "Không kiểm tra được phiên đăng nhập", "identity unreachable") from None
        key = self._keys.get(kid)
        if key is None:
            raise Problem(401, "Phiên đăng nhập không hợp lệ", "unknown signing key")
        try:
            claims = jwt.decode(
                token,
                key=key,
                algorithms=["EdDSA"],
                audience=TOKEN_AUDIENCE,
                issuer=TOKEN_ISSUER,
                options={"require": ["exp", "iat", "sub", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError:
            raise Problem(401, "Phiên đăng nhập đã hết hạn", "access token expired") from None
        except jwt.PyJWTError as error:
            raise Problem(401, "Phiên đăng nhập không hợp lệ", str(error)) from None
        try:
            restricted = claims.get("restricted") or []
            if not isinstance(restricted, list):
                raise TypeError("restricted must be a list")
            principal = Principal(
                user_id=uuid.UUID(claims["sub"]),
                username=str(claims["preferred_username"]),
                name=str(claims["name"]),
                roles=frozenset(claims["roles"]),
                school_id=str(claims["school_id"]),
                token=token,
                restricted=frozenset(str(step) for step in restricted),
            )
        except (KeyError, ValueError, TypeError):
            raise Problem(401, "Phiên đăng nhập không hợp lệ", "missing claims") from None
        if principal.restricted and not allow_restricted:
            raise Problem(
                401,
                "Cần đổi mật khẩu hoặc bật xác thực hai lớp trước",
                "restricted token: a pending sign-in step must be completed first",
            )
        return principal


def bearer_token(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Problem(401, "Cần đăng nhập", "missing bearer token")
    return token


async def current_principal(request: Request) -> Principal:
    verifier: JwksVerifier = request.app.state.verifier
    return await verifier.verify(bearer_token(request))


async def pending_step_principal(request: Request) -> Principal:
    """Also a restricted token: only for the endpoints that complete a pending sign-in step."""
    verifier: JwksVerifier = request.app.state.verifier
    return await verifier.verify(bearer_token(request), allow_restricted=True)


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
PendingStepPrincipal = Annotated[Principal, Depends(pending_step_principal)]
"""The caller, restricted or not: password change, TOTP set-up/confirm and `GET /me` only."""
