"""Verifying the identity service's access tokens locally, from its JWKS.

Two kinds of token: a person's (roles; `CurrentPrincipal`) and an outside system's, issued by
OAuth 2 client credentials (`client_id`, `scope`; `require_scope`). Each kind is refused where
the other is expected, so no endpoint written for people opens itself to machines by accident."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import Annotated, Any

import httpx
import jwt
from fastapi import Depends, Request, Security
from fastapi.openapi.models import OAuthFlowClientCredentials, OAuthFlows
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer, OAuth2, SecurityScopes
from pydantic import BaseModel, ConfigDict

from hbs_shared.problems import Problem

TOKEN_ISSUER = "hbs-identity"
TOKEN_AUDIENCE = "hbs"
JWKS_PATH = "/.well-known/jwks.json"
OAUTH_TOKEN_PATH = "/v1/oauth/token"
OAUTH_INTROSPECT_PATH = "/oauth/introspect"

CLIENT_SCOPES: dict[str, str] = {
    "verify": "Kiểm tra văn bản đã ký và trạng thái hiện hành của nó (không có dữ liệu cá nhân)",
    "records.read": "Đọc học bạ đã đóng dấu của học sinh đã đồng ý (chưa mở: chưa có sự đồng ý)",
    "national.export": "Xuất dữ liệu theo cấu trúc CSDL ngành",
}
"""The scopes an outside system may be registered for, with what each opens."""

UNAVAILABLE_SCOPES: dict[str, str] = {
    "records.read": (
        "a student's consent to share their records with an outside system is not modelled yet, "
        "so records.read opens nothing"
    ),
}
"""Scopes that can be registered but open nothing yet, with the reason a caller is told."""

ClientCheck = Callable[[str, str], Awaitable[bool]]
"""(token, what it is used for) → whether the client is still registered; records the use."""


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
    client_id: str | None = None
    """Set when the caller is an outside system (client credentials), not a person: then
    `user_id` is the client's registration, `roles` is empty and `scopes` says what it may do."""
    scopes: frozenset[str] = frozenset()

    @property
    def is_client(self) -> bool:
        return self.client_id is not None

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
        self._identity_url = identity_url.rstrip("/")
        self.client_check: ClientCheck | None = None
        """Identity sets its own, in-process; elsewhere identity is asked over HTTP."""
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

    async def verify(
        self, token: str, *, allow_restricted: bool = False, allow_client: bool = False
    ) -> Principal:
        """The caller; a restricted token (a pending first-sign-in step) is refused unless the
        endpoint completes that step (`PendingStepPrincipal`), so no service can forget it; an
        outside system's token is refused unless the endpoint asks for a scope (`require_scope`)."""
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
        if "client_id" in claims:
            return self._client_token(claims, token, allow_client)
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

    def _client_token(self, claims: Mapping[str, Any], token: str, allowed: bool) -> Principal:
        if not allowed:
            raise Problem(
                403,
                "Hệ thống bên ngoài không được dùng chức năng này",
                "a client-credentials token opens only the endpoints that ask for its scopes",
                extra={"error": "insufficient_scope"},
            )
        try:
            scope = claims.get("scope", "")
            if not isinstance(scope, str) or claims.get("roles"):
                raise TypeError("a client token carries a scope string and no roles")
            return Principal(
                user_id=uuid.UUID(claims["sub"]),
                username=str(claims["client_id"]),
                name=str(claims.get("name") or claims["client_id"]),
                roles=frozenset(),
                school_id=str(claims["school_id"]),
                token=token,
                client_id=str(claims["client_id"]),
                scopes=frozenset(scope.split()),
            )
        except (KeyError, ValueError, TypeError):
            raise Problem(401, "Mã truy cập không hợp lệ", "missing claims") from None

    async def check_client(self, principal: Principal, use: str) -> None:
        """Asks identity whether the client is still registered, which also records this use in
        identity's audit trail: a revoked client is refused at its next request, not when its
        token expires. Fails closed."""
        check = self.client_check or self._check_over_http
        try:
            active = await check(principal.token, use)
        except (httpx.HTTPError, ValueError, KeyError):
            raise Problem(
                503, "Không kiểm tra được quyền của hệ thống bên ngoài", "identity unreachable"
            ) from None
        if not active:
            raise Problem(
                401,
                "Hệ thống bên ngoài đã bị thu hồi quyền truy cập",
                "the client was revoked or its token is no longer active",
                extra={"error": "invalid_token"},
            )

    async def _check_over_http(self, token: str, use: str) -> bool:
        client = self._client_or_new()
        try:
            response = await client.post(
                self._identity_url + OAUTH_INTROSPECT_PATH,
                data={"token": token, "use": use[:200]},
                timeout=3,
            )
            response.raise_for_status()
            return response.json()["active"] is True
        finally:
            if self._client is None:
                await client.aclose()

    def _client_or_new(self) -> httpx.AsyncClient:
        return self._client or httpx.AsyncClient(timeout=3)


bearer_scheme = HTTPBearer(
    scheme_name="bearerAuth",
    bearerFormat="JWT",
    description="A person's access token from identity's `POST /auth/token` (EdDSA JWT, 5 minutes).",
    auto_error=False,
)
client_credentials_scheme = OAuth2(
    scheme_name="clientCredentials",
    flows=OAuthFlows(
        clientCredentials=OAuthFlowClientCredentials(tokenUrl=OAUTH_TOKEN_PATH, scopes=CLIENT_SCOPES)
    ),
    description=(
        "An outside system's token from identity's `POST /v1/oauth/token` "
        "(grant_type=client_credentials; the client registered by the school's office)."
    ),
    auto_error=False,
)


def bearer_token(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Problem(401, "Cần đăng nhập", "missing bearer token")
    return token


_BearerCredentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)]


async def current_principal(request: Request, _: _BearerCredentials) -> Principal:
    verifier: JwksVerifier = request.app.state.verifier
    return await verifier.verify(bearer_token(request))


async def pending_step_principal(request: Request, _: _BearerCredentials) -> Principal:
    """Also a restricted token: only for the endpoints that complete a pending sign-in step."""
    verifier: JwksVerifier = request.app.state.verifier
    return await verifier.verify(bearer_token(request), allow_restricted=True)


def _insufficient(scope: str, detail: str) -> Problem:
    return Problem(
        403,
        "Hệ thống bên ngoài không có quyền này",
        detail,
        extra={"error": "insufficient_scope", "scope": scope},
    )


async def _client_principal(
    request: Request,
    security_scopes: SecurityScopes,
    _: Annotated[str | None, Depends(client_credentials_scheme)],
) -> Principal:
    verifier: JwksVerifier = request.app.state.verifier
    principal = await verifier.verify(bearer_token(request), allow_client=True)
    if not principal.is_client:
        raise Problem(
            403,
            "Chức năng này dành cho hệ thống bên ngoài",
            "this endpoint takes a client-credentials token, not a person's",
        )
    await _check_scopes(request, verifier, principal, security_scopes.scopes)
    return principal


async def _check_scopes(
    request: Request, verifier: JwksVerifier, principal: Principal, scopes: list[str]
) -> None:
    for scope in scopes:
        if scope in UNAVAILABLE_SCOPES:
            raise _insufficient(scope, UNAVAILABLE_SCOPES[scope])
        if scope not in principal.scopes:
            raise _insufficient(scope, f"the token does not carry the scope {scope}")
    route = request.scope.get("route")
    path = getattr(route, "path", request.url.path)
    await verifier.check_client(principal, f"{request.method} {path}")


def require_scope(*scopes: str) -> Any:
    """A dependency: an outside system's token carrying every one of these scopes, its client
    still registered (asked of identity, which records the use). People's tokens are refused.

    `principal: Annotated[Principal, require_scope("verify")]`"""
    unknown = set(scopes) - set(CLIENT_SCOPES)
    if unknown:
        raise ValueError(f"unknown scopes: {sorted(unknown)}")
    return Security(_client_principal, scopes=list(scopes))


async def _person_or_client(
    request: Request,
    security_scopes: SecurityScopes,
    _person: _BearerCredentials,
    _client: Annotated[str | None, Depends(client_credentials_scheme)],
) -> Principal:
    verifier: JwksVerifier = request.app.state.verifier
    principal = await verifier.verify(bearer_token(request), allow_client=True)
    if principal.is_client:
        await _check_scopes(request, verifier, principal, security_scopes.scopes)
    return principal


def person_or_scope(*scopes: str) -> Any:
    """A dependency for an endpoint open to people (their own checks follow) and to outside
    systems holding these scopes (checked here, as `require_scope` does)."""
    unknown = set(scopes) - set(CLIENT_SCOPES)
    if unknown:
        raise ValueError(f"unknown scopes: {sorted(unknown)}")
    return Security(_person_or_client, scopes=list(scopes))


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
PendingStepPrincipal = Annotated[Principal, Depends(pending_step_principal)]
"""The caller, restricted or not: password change, TOTP set-up/confirm and `GET /me` only."""
