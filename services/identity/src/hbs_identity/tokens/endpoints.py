"""Sign-in (token issue) and the JWKS the other services verify tokens with."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from hbs_identity.accounts.service import AccountService
from hbs_identity.tokens.keys import TokenIssuer
from hbs_shared.auth import JWKS_PATH, CurrentPrincipal
from hbs_shared.service import runtime_of

router = APIRouter(tags=["tokens"])
_accounts = AccountService()


class TokenRequest(BaseModel):
    username: str = Field(min_length=1, max_length=120)
    password: str = Field(min_length=1, max_length=200)


class TokenResponse(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int
    must_change_password: bool


def _issuer(request: Request) -> TokenIssuer:
    issuer: TokenIssuer = request.app.state.token_issuer
    return issuer


@router.post("/auth/token", response_model=TokenResponse)
async def issue_token(body: TokenRequest, request: Request) -> TokenResponse:
    runtime = runtime_of(request)
    async with runtime.db.transaction() as session:
        account = await _accounts.authenticate(session, body.username, body.password)
    issuer = _issuer(request)
    return TokenResponse(
        access_token=issuer.issue(account),
        expires_in=issuer.lifetime_seconds,
        must_change_password=account.must_change_password,
    )


@router.get(JWKS_PATH)
async def jwks(request: Request) -> dict[str, Any]:
    return _issuer(request).jwks()


@router.get("/me")
async def me(principal: CurrentPrincipal) -> dict[str, Any]:
    return {
        "user_id": str(principal.user_id),
        "username": principal.username,
        "name": principal.name,
        "roles": sorted(principal.roles),
        "school_id": principal.school_id,
    }
