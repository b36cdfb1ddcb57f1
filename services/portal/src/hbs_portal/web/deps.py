"""FastAPI dependencies of the portal's pages: who is signed in (with a fresh token), which roles a
page needs, a form whose CSRF token was checked, and the typed clients of the services.

A page handler states what it needs in its signature and says only what the page does; the
exception handlers (`install_page_handlers`) turn what stops a page into the right answer."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Annotated, Any

import jwt
from fastapi import Depends, FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from hbs_portal.clients import (
    BackendError,
    Caller,
    GradesClient,
    IdentityClient,
    SessionExpired,
    SigningClient,
    Transport,
)
from hbs_portal.i18n import N_, _
from hbs_portal.models import WebSession
from hbs_portal.settings import PortalSettings
from hbs_portal.web.common import (
    PENDING_PAGES,
    STALE_FORM,
    current_session,
    error_page,
    explain,
    is_province,
    province_may_open,
    to_login,
    web_sessions,
)
from hbs_portal.web.sessions import csrf_ok
from hbs_shared.roles import BOARD, OFFICE, OVERSEERS, PROVINCE, STAFF, Role
from hbs_shared.service import runtime_of

_refresh_locks: dict[str, asyncio.Lock] = {}


class Redirect(Exception):
    """Send the browser elsewhere (sign-in, the pending step) instead of this page."""

    def __init__(self, location: str, *, sign_out: bool = False) -> None:
        super().__init__(location)
        self.location = location
        self.sign_out = sign_out


class Refused(Exception):
    """The portal itself refuses (a role the page needs, a stale form): the error page, in Vietnamese."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True)
class Services:
    """The services as this request's user calls them (their token, their address)."""

    identity: IdentityClient
    grades: GradesClient
    signing: SigningClient


def transport_of(request: Request) -> Transport:
    transport: Transport = request.app.state.transport
    return transport


def services_for(request: Request, token: str | None) -> Services:
    """The typed clients with `token` (None for sign-in and the public pages)."""
    settings: PortalSettings = request.app.state.settings
    transport = transport_of(request)
    # The client as the portal sees it (the shared middleware already resolved trusted proxies).
    address = request.client.host if request.client else None

    def caller(url: str) -> Caller:
        return Caller(transport, url, token, address)

    return Services(
        IdentityClient(caller(settings.identity_url)),
        GradesClient(caller(settings.grades_url)),
        SigningClient(caller(settings.signing_url)),
    )


def _expires_soon(access_token: str, margin: float) -> bool:
    # Only reads our own stored token's expiry; every service still verifies it fully.
    try:
        expires = float(jwt.decode(access_token, options={"verify_signature": False})["exp"])
    except (jwt.PyJWTError, KeyError, TypeError, ValueError):
        return True
    return expires - time.time() < margin


PROVINCE_ONLY = N_(
    "Đây là trang của nhà trường. Tài khoản Sở GD&ĐT không thuộc trường nào nên không mở được "
    "trang này; tiến độ của các trường ở trang “Tiến độ các trường”."
)


async def fresh_session(request: Request) -> WebSession:
    """The caller's web session with a fresh access token; otherwise Redirect (sign-in, pending step).
    A province account is refused every school page here, at once, instead of a service's refusal.
    A staff member's page view (GET) also loads their unread reminders for the layout's banner."""
    web = await _fresh_session(request)
    if is_province(web.roles):
        if not province_may_open(request.url.path):
            raise Refused(_(PROVINCE_ONLY), 403)
    elif web.school_name is None:
        await _remember_school(request, web)
    # /reminders lists them all itself: the banner would be a second call for the same thing.
    if request.method == "GET" and set(web.roles) & STAFF and request.url.path != "/reminders":
        request.state.banner = await _unread_reminders(services_for(request, web.access_token))
    return web


async def _remember_school(request: Request, web: WebSession) -> None:
    """The person's school name for the header, asked of identity once per web session."""
    try:
        school = await services_for(request, web.access_token).identity.school()
    except BackendError as error:
        if error.status >= 500:
            return  # identity is down: ask again on the next page
        school = {}  # no school set up (or none for this account): the header shows no name
    name = str(school.get("name") or "")[:200]
    async with runtime_of(request).db.transaction() as session:
        await web_sessions.remember_school(session, web.id_hash, name)
    web.school_name = name


async def _unread_reminders(api: Services) -> list[dict[str, Any]]:
    # One grades call per page view; a page still opens when grades cannot answer.
    try:
        return await api.grades.my_reminders(unread_only=True)
    except BackendError:
        return []


async def _fresh_session(request: Request) -> WebSession:
    web = await current_session(request)
    if web is None:
        raise Redirect("/login", sign_out=True)
    if web.pending_step:
        raise Redirect(PENDING_PAGES.get(web.pending_step, "/login"))
    request.state.web = web
    settings: PortalSettings = request.app.state.settings
    margin = settings.token_refresh_margin_seconds
    if not _expires_soon(web.access_token, margin):
        return web
    # One refresh at a time per session: a spent refresh token used twice revokes the family.
    if len(_refresh_locks) > 10_000:
        _refresh_locks.clear()
    async with _refresh_locks.setdefault(web.id_hash, asyncio.Lock()):
        again = await current_session(request)
        if again is None:
            raise Redirect("/login", sign_out=True)
        if not _expires_soon(again.access_token, margin):
            request.state.web = again
            return again  # another request refreshed it meanwhile
        if not again.refresh_token:
            raise SessionExpired()
        try:
            fresh = await services_for(request, None).identity.refresh(again.refresh_token)
        except BackendError:
            raise SessionExpired() from None
        async with runtime_of(request).db.transaction() as session:
            await web_sessions.replace_tokens(
                session, again.id_hash, fresh["access_token"], fresh.get("refresh_token")
            )
    again.access_token = fresh["access_token"]
    again.refresh_token = fresh.get("refresh_token")
    request.state.web = again
    return again


SignedIn = Annotated[WebSession, Depends(fresh_session)]


def _needs(roles: frozenset[Role]) -> object:
    async def gate(web: SignedIn) -> WebSession:
        # The services check again on every call; this only spares a page that would fail.
        if not roles & set(web.roles):
            raise Refused(_("Bạn không có quyền mở trang này."), 403)
        return web

    return Depends(gate)


OfficeUser = Annotated[WebSession, _needs(OFFICE)]
SystemAdmin = Annotated[WebSession, _needs(frozenset({Role.system_admin}))]
BoardMember = Annotated[WebSession, _needs(BOARD)]
Overseer = Annotated[WebSession, _needs(OVERSEERS)]
"""The board and the office (the audit trail)."""
ProvinceUser = Annotated[WebSession, _needs(PROVINCE)]
"""Sở GD&ĐT: the province's progress across its schools."""
ProvinceAdmin = Annotated[WebSession, _needs(frozenset({Role.province_admin}))]
"""Sở GD&ĐT's administrator: creates schools and their first administrator."""


async def services(request: Request, web: SignedIn) -> Services:
    return services_for(request, web.access_token)


Api = Annotated[Services, Depends(services)]


async def public_services(request: Request) -> Services:
    return services_for(request, None)


PublicApi = Annotated[Services, Depends(public_services)]


async def checked_form(request: Request, web: SignedIn) -> FormData:
    """The posted form, once its CSRF token matches the session's (a stale or forged form is refused)."""
    # The score grid posts one field per cell (up to 3000); one file at most (an upload).
    form = await request.form(max_fields=3000, max_files=1)
    submitted = form.get("csrf")
    if not isinstance(submitted, str) or len(submitted) > 64 or not csrf_ok(web, submitted):
        raise Refused(_(STALE_FORM), 403)
    return form


CheckedForm = Annotated[FormData, Depends(checked_form)]


def install_page_handlers(app: FastAPI) -> None:
    """What stops a page becomes a redirect or the Vietnamese error page, in one place."""

    async def on_redirect(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, Redirect)
        if exc.sign_out:
            return to_login()
        return RedirectResponse(exc.location, status_code=303)

    async def on_expired(request: Request, exc: Exception) -> Response:
        return to_login("expired")

    async def on_refused(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, Refused)
        return error_page(request, getattr(request.state, "web", None), exc.message, exc.status)

    async def on_backend(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, BackendError)
        status = exc.status if exc.status >= 400 else 502
        return error_page(request, getattr(request.state, "web", None), explain(exc), status)

    app.add_exception_handler(Redirect, on_redirect)
    app.add_exception_handler(SessionExpired, on_expired)
    app.add_exception_handler(Refused, on_refused)
    app.add_exception_handler(BackendError, on_backend)
