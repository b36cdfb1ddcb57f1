"""HTTP: the office registers and revokes outside systems; OAuth 2 client credentials
(`POST /v1/oauth/token`, RFC 6749 §4.4) and introspection (RFC 7662) for the other services."""

from __future__ import annotations

import base64
import binascii
import uuid
from typing import Any
from urllib.parse import parse_qsl, unquote_plus

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from hbs_identity.authz.guard import caller_scope, require_admin
from hbs_identity.clients.schemas import (
    ClientCreated,
    ClientIn,
    ClientOut,
    ClientToken,
    Introspection,
    IntrospectionForm,
    OAuthError,
    TokenForm,
)
from hbs_identity.clients.service import ClientService, OAuthFailure
from hbs_identity.unit import Actor, client_address, request_unit, unit_of_work
from hbs_shared.auth import OAUTH_INTROSPECT_PATH, OAUTH_TOKEN_PATH, CurrentPrincipal, JwksVerifier
from hbs_shared.problems import Problem
from hbs_shared.service import ServiceRuntime, runtime_of

router = APIRouter(tags=["outside systems"])
_FORM_LIMIT = 8192
_FORM = "application/x-www-form-urlencoded"
_NO_STORE = {"cache-control": "no-store", "pragma": "no-cache"}


def clients(request: Request) -> ClientService:
    service: ClientService = request.app.state.clients
    return service


@router.post("/oauth/clients", response_model=ClientCreated, status_code=201, name="register_client")
async def register_client(body: ClientIn, request: Request, principal: CurrentPrincipal) -> ClientCreated:
    """Register an outside system (office or system admin). The secret is in this answer only."""
    async with request_unit(request, principal) as unit:
        caller = await caller_scope(unit)
        require_admin(caller)
        return await clients(request).register(unit, caller, body)


@router.get("/oauth/clients", response_model=list[ClientOut], name="list_clients")
async def list_clients(request: Request, principal: CurrentPrincipal) -> list[ClientOut]:
    async with request_unit(request, principal) as unit:
        require_admin(await caller_scope(unit))
        return await clients(request).listing(unit)


@router.post("/oauth/clients/{client_uuid}/revoke", response_model=ClientOut, name="revoke_client")
async def revoke_client(client_uuid: uuid.UUID, request: Request, principal: CurrentPrincipal) -> ClientOut:
    """Revoke at once: the client's tokens are refused at their next use (services ask identity)."""
    async with request_unit(request, principal) as unit:
        caller = await caller_scope(unit)
        require_admin(caller)
        return await clients(request).revoke(unit, caller, client_uuid)


def _oauth_error(failure: OAuthFailure) -> JSONResponse:
    headers = dict(_NO_STORE)
    if failure.status == 401:
        headers["www-authenticate"] = 'Basic realm="hbs"'
    body = OAuthError(error=failure.error, error_description=failure.description)
    return JSONResponse(body.model_dump(), status_code=failure.status, headers=headers)


async def _form(request: Request) -> dict[str, str]:
    """A bounded application/x-www-form-urlencoded body; a repeated parameter is refused (§3.2)."""
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != _FORM:
        raise OAuthFailure("invalid_request", f"send the parameters as {_FORM}")
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > _FORM_LIMIT:
            raise OAuthFailure("invalid_request", "request too large")
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=bool(body))
    except (UnicodeDecodeError, ValueError):
        raise OAuthFailure("invalid_request", "malformed form body") from None
    form: dict[str, str] = {}
    for key, value in pairs:
        if key in form:
            raise OAuthFailure("invalid_request", f"parameter repeated: {key[:40]}")
        form[key] = value
    return form


def _credentials(request: Request, form: dict[str, str]) -> tuple[str, str]:
    """client_secret_basic or client_secret_post (RFC 6749 §2.3.1), never both."""
    header = request.headers.get("authorization")
    in_form = "client_id" in form or "client_secret" in form
    if header is not None:
        if in_form and "client_secret" in form:
            raise OAuthFailure("invalid_request", "use one client authentication method only")
        scheme, _, encoded = header.partition(" ")
        try:
            if scheme.lower() != "basic":
                raise ValueError
            raw_id, sep, raw_secret = base64.b64decode(encoded, validate=True).decode().partition(":")
            if not sep:
                raise ValueError
        except (ValueError, binascii.Error, UnicodeDecodeError):
            raise OAuthFailure("invalid_client", "malformed Basic authorization", 401) from None
        return unquote_plus(raw_id), unquote_plus(raw_secret)
    if not form.get("client_id") or not form.get("client_secret"):
        raise OAuthFailure("invalid_client", "client authentication required", 401)
    return form["client_id"], form["client_secret"]


def _token_form(form: dict[str, str]) -> TokenForm:
    grant = form.get("grant_type")
    if not grant:
        raise OAuthFailure("invalid_request", "grant_type is required")
    if grant != "client_credentials":
        raise OAuthFailure("unsupported_grant_type", "only client_credentials is supported")
    for name, limit in (("scope", 200), ("client_id", 64), ("client_secret", 200)):
        if len(form.get(name, "")) > limit:
            raise OAuthFailure("invalid_request", f"{name} too long")
    return TokenForm(
        grant_type="client_credentials",
        scope=form.get("scope"),
        client_id=form.get("client_id"),
        client_secret=form.get("client_secret"),
    )


def _form_schema(model: type[TokenForm] | type[IntrospectionForm]) -> dict[str, Any]:
    """The form documented inline (the body is read by hand, so FastAPI does not list the model)."""
    return {"requestBody": {"required": True, "content": {_FORM: {"schema": model.model_json_schema()}}}}


_TOKEN_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": OAuthError, "description": "RFC 6749 §5.2 (application/json)"},
    401: {"model": OAuthError, "description": "invalid_client (RFC 6749 §5.2)"},
}


async def _token(request: Request) -> JSONResponse:
    try:
        form = await _form(request)
        parameters = _token_form(form)
        client_id, secret = _credentials(request, form)
    except OAuthFailure as failure:
        return _oauth_error(failure)
    service = clients(request)
    runtime = runtime_of(request)
    school_id: str = request.app.state.school_id
    async with unit_of_work(
        runtime, school_id, Actor(None, client_id[:200]), client_address(request)
    ) as unit:
        client = await service.authenticate(unit, client_id[:64], secret)
        if not isinstance(client, OAuthFailure):
            unit.school_id = client.school_id
            outcome = await service.issue(unit, client, parameters.scope)
        else:
            outcome = client
    if isinstance(outcome, OAuthFailure):
        return _oauth_error(outcome)
    body = ClientToken(
        access_token=outcome.access_token, expires_in=outcome.expires_in, scope=" ".join(outcome.scopes)
    )
    return JSONResponse(body.model_dump(), headers=_NO_STORE)


@router.post(
    OAUTH_TOKEN_PATH,
    response_model=ClientToken,
    responses=_TOKEN_RESPONSES,
    openapi_extra=_form_schema(TokenForm),
    name="oauth_token",
)
async def oauth_token(request: Request) -> JSONResponse:
    """OAuth 2 client credentials (RFC 6749 §4.4): an outside system's short-lived token."""
    return await _token(request)


@router.post(
    "/oauth/token",
    response_model=ClientToken,
    responses=_TOKEN_RESPONSES,
    openapi_extra=_form_schema(TokenForm),
    name="oauth_token_unversioned",
)
async def oauth_token_unversioned(request: Request) -> JSONResponse:
    """The same as `POST /v1/oauth/token`."""
    return await _token(request)


@router.post(
    OAUTH_INTROSPECT_PATH,
    response_model=Introspection,
    openapi_extra=_form_schema(IntrospectionForm),
    name="oauth_introspect",
)
async def oauth_introspect(request: Request) -> Introspection:
    """RFC 7662, for the services: is this client token still good? Records the use in the
    audit trail. It answers nothing the token does not itself carry, so the token is its own
    authorisation (the services hold no credentials of their own)."""
    try:
        form = await _form(request)
    except OAuthFailure as failure:
        raise Problem(400, "Yêu cầu không hợp lệ", failure.description, field="token") from None
    token = form.get("token", "")
    if not token or len(token) > 4000:
        raise Problem(422, "Dữ liệu không hợp lệ", "token is required", field="token")
    return await introspect(
        runtime_of(request),
        clients(request),
        request.app.state.verifier,
        token,
        form.get("use"),
        client_address(request),
    )


async def introspect(
    runtime: ServiceRuntime,
    service: ClientService,
    verifier: JwksVerifier,
    token: str,
    use: str | None,
    source: str | None = None,
) -> Introspection:
    """The token verified here, then its client looked up: active, and the use recorded."""
    try:
        principal = await verifier.verify(token, allow_client=True)
    except Problem:
        return Introspection(active=False)
    if not principal.is_client:
        return Introspection(active=False)
    async with unit_of_work(
        runtime, principal.school_id, Actor(principal.user_id, principal.name), source
    ) as unit:
        active = await service.use(unit, principal, use)
    if not active:
        return Introspection(active=False)
    return Introspection(active=True, client_id=principal.client_id, scope=" ".join(sorted(principal.scopes)))
