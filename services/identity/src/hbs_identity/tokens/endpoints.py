"""Sign-in (token issue), refresh, logout, password change, TOTP, and the JWKS other services use."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from hbs_identity.accounts.signin import Issued, SignIn
from hbs_identity.factor_resets.endpoints import resets
from hbs_identity.factor_resets.schemas import SecurityNotice
from hbs_identity.models import Account
from hbs_identity.settings import IdentitySettings
from hbs_identity.tokens.keys import TokenIssuer
from hbs_identity.unit import Actor, Unit, client_address, request_unit, unit_of_work
from hbs_shared.auth import JWKS_PATH, PendingStepPrincipal, Principal
from hbs_shared.problems import Problem
from hbs_shared.service import runtime_of

router = APIRouter(tags=["tokens"])


class TokenRequest(BaseModel):
    username: str = Field(min_length=1, max_length=120)
    """Staff: username. Students: mã định danh. Parents: phone number or username."""
    password: str = Field(min_length=1, max_length=200)
    totp: str | None = Field(default=None, max_length=10)
    """The 6-digit code, for accounts with two-factor sign-in."""


class TokenResponse(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int
    must_change_password: bool
    totp_setup_required: bool = False
    refresh_token: str | None = None
    """None while a step is pending (password change, TOTP set-up): the access token is restricted."""


class RefreshRequest(BaseModel):
    refresh_token: str = Field(min_length=10, max_length=200)


class PasswordChange(BaseModel):
    current_password: str = Field(min_length=1, max_length=200)
    new_password: str = Field(min_length=1, max_length=200)


class TotpSetup(BaseModel):
    secret: str
    otpauth_uri: str


class TotpConfirm(BaseModel):
    code: str = Field(min_length=6, max_length=10)


class Jwk(BaseModel):
    """An Ed25519 public key (RFC 8037)."""

    model_config = ConfigDict(extra="allow")

    kty: str
    crv: str
    x: str
    kid: str
    use: str
    alg: str


class Jwks(BaseModel):
    """The keys that sign identity's access tokens (people's and outside systems')."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "keys": [
                        {
                            "kty": "OKP",
                            "crv": "Ed25519",
                            "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
                            "kid": "8d3f0c2b9a1e4f57",
                            "use": "sig",
                            "alg": "EdDSA",
                        }
                    ]
                }
            ]
        }
    )

    keys: list[Jwk]


class Me(BaseModel):
    """Who the token is for."""

    user_id: uuid.UUID
    username: str
    name: str
    roles: list[str]
    school_id: str
    security_notices: list[SecurityNotice]


def _issuer(request: Request) -> TokenIssuer:
    issuer: TokenIssuer = request.app.state.token_issuer
    return issuer


def _sign_in(request: Request) -> SignIn:
    sign_in: SignIn = request.app.state.sign_in
    return sign_in


def _settings(request: Request) -> IdentitySettings:
    settings = runtime_of(request).settings
    assert isinstance(settings, IdentitySettings)
    return settings


def _response(outcome: Issued | Problem) -> TokenResponse:
    if isinstance(outcome, Problem):
        raise outcome
    return TokenResponse(
        access_token=outcome.access_token,
        expires_in=outcome.expires_in,
        must_change_password=outcome.must_change_password,
        totp_setup_required=outcome.totp_setup_required,
        refresh_token=outcome.refresh_token,
    )


def _anonymous(request: Request, who: str) -> Any:
    return unit_of_work(
        runtime_of(request), _settings(request).school_id, Actor(None, who[:200]), client_address(request)
    )


@router.post("/auth/token", response_model=TokenResponse)
async def issue_token(body: TokenRequest, request: Request) -> TokenResponse:
    async with _anonymous(request, body.username) as unit:
        outcome = await _sign_in(request).attempt(unit, body.username, body.password, body.totp)
    if isinstance(outcome, Problem):
        request.app.state.sign_in_failures.labels(str(outcome.status)).inc()
    return _response(outcome)


@router.post("/auth/refresh", response_model=TokenResponse)
async def refresh(body: RefreshRequest, request: Request) -> TokenResponse:
    """A new access token and a new refresh token; the one sent can never be used again."""
    async with _anonymous(request, "refresh") as unit:
        outcome = await _sign_in(request).rotate(unit, body.refresh_token)
    return _response(outcome)


@router.post("/auth/logout", status_code=204)
async def logout(body: RefreshRequest, request: Request) -> Response:
    async with _anonymous(request, "logout") as unit:
        await _sign_in(request).logout(unit, body.refresh_token)
    return Response(status_code=204)


async def _own_account(request: Request, unit: Unit, principal: Principal) -> Account:
    account = await _sign_in(request).accounts.active(unit.session, principal.user_id)
    if account is None:
        raise Problem(401, "Tài khoản không còn hiệu lực", "account disabled or unknown")
    return account


@router.post("/auth/password", response_model=TokenResponse)
async def change_password(
    body: PasswordChange, request: Request, principal: PendingStepPrincipal
) -> TokenResponse:
    """Change one's own password (required at first sign-in); other sessions are signed out."""
    async with request_unit(request, principal) as unit:
        account = await _own_account(request, unit, principal)
        outcome = await _sign_in(request).change_password(
            unit, account, body.current_password, body.new_password
        )
    return _response(outcome)


@router.post("/auth/totp/setup", response_model=TotpSetup)
async def totp_setup(request: Request, principal: PendingStepPrincipal) -> TotpSetup:
    async with request_unit(request, principal) as unit:
        outcome = _sign_in(request).totp_setup(unit, await _own_account(request, unit, principal))
    if isinstance(outcome, Problem):
        raise outcome
    return TotpSetup(secret=outcome[0], otpauth_uri=outcome[1])


@router.post("/auth/totp/confirm", response_model=TokenResponse)
async def totp_confirm(body: TotpConfirm, request: Request, principal: PendingStepPrincipal) -> TokenResponse:
    async with request_unit(request, principal) as unit:
        outcome = _sign_in(request).totp_confirm(
            unit, await _own_account(request, unit, principal), body.code
        )
    return _response(outcome)


@router.get(JWKS_PATH, response_model=Jwks)
async def jwks(request: Request) -> dict[str, Any]:
    return _issuer(request).jwks()


@router.get("/me", response_model=Me)
async def me(request: Request, principal: PendingStepPrincipal) -> dict[str, Any]:
    """Who the token is for, and the approved resets of their own factors not yet acknowledged
    (also with a restricted token: the first sign-in after a password reset is one)."""
    async with request_unit(request, principal) as unit:
        notices = await resets(request).notices(unit, principal.user_id)
    return {
        "user_id": str(principal.user_id),
        "username": principal.username,
        "name": principal.name,
        "roles": sorted(principal.roles),
        "school_id": principal.school_id,
        "security_notices": [n.model_dump(mode="json") for n in notices],
    }
