"""Signing in (password, then the TOTP code when the account has one) and out, and changing one's
password (forced at the first sign-in)."""

from __future__ import annotations

import contextlib
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from hbs_portal.clients import BackendError
from hbs_portal.i18n import _
from hbs_portal.models import WebSession
from hbs_portal.settings import PortalSettings
from hbs_portal.web.common import (
    PENDING_PAGES,
    STALE_FORM,
    current_session,
    error_page,
    home_for,
    templates,
    to_login,
    web_sessions,
)
from hbs_portal.web.deps import PublicApi, services_for
from hbs_portal.web.protection import keep_login_csrf, login_csrf_ok, login_csrf_token
from hbs_portal.web.sessions import COOKIE, csrf_ok
from hbs_portal.web.totp import (
    TICKET_MINUTES,
    landing,
    me_after_step,
    normalise_code,
    open_ticket,
    seal_ticket,
)
from hbs_shared.service import runtime_of

router = APIRouter(include_in_schema=False)


@router.get("/")
async def home(request: Request) -> RedirectResponse:
    web = await current_session(request)
    if web is not None and web.pending_step:
        return RedirectResponse(PENDING_PAGES.get(web.pending_step, "/login"), status_code=303)
    return RedirectResponse(home_for(web.roles) if web else "/login", status_code=303)


def login_page(request: Request, error: str | None, username: str = "", status: int = 200) -> Response:
    """The sign-in form with this browser's CSRF token (kept in its pre-session cookie)."""
    settings: PortalSettings = request.app.state.settings
    token = login_csrf_token(request)
    response = templates.TemplateResponse(
        request, "login.html", {"error": error, "username": username, "csrf": token}, status_code=status
    )
    return keep_login_csrf(response, token, settings.secure_cookies)


@router.get("/login", response_class=HTMLResponse)
async def login_form(request: Request, expired: int = 0) -> Response:
    error = _("Phiên đăng nhập đã hết hạn, xin đăng nhập lại.") if expired else None
    return login_page(request, error)


@router.post("/login", response_model=None)
async def login(
    request: Request,
    api: PublicApi,
    csrf: Annotated[str, Form(max_length=64)] = "",
    username: Annotated[str, Form(max_length=120)] = "",
    password: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    if not login_csrf_ok(request, csrf):
        # A sign-in form this browser did not load from us (login CSRF), or one from before.
        return login_page(request, _(STALE_FORM), username, 403)
    if not username.strip() or not password:
        missing = _("Tên đăng nhập") if not username.strip() else _("Mật khẩu")
        return login_page(request, _("{missing}: chưa nhập.").format(missing=missing), username, 422)
    try:
        signed = await api.identity.sign_in(username, password)
    except BackendError as error:
        if error.status == 401 and error.problem.get("field") == "totp":
            return await _ask_code(request, username, password)
        return login_page(request, error.title, username, error.status if error.status in (401, 429) else 503)
    return await _open_session(request, signed)


def pending_step_of(answer: dict[str, Any]) -> str | None:
    """The step identity still requires before a full token: password change first, then TOTP."""
    if answer.get("must_change_password"):
        return "password"
    return "totp_setup" if answer.get("totp_setup_required") else None


async def _open_session(request: Request, signed: dict[str, Any]) -> Response:
    """A new web session (new cookie) for a successful sign-in, kept at any pending step."""
    settings: PortalSettings = request.app.state.settings
    me: dict[str, Any] = signed["me"]
    step = pending_step_of(signed)
    async with runtime_of(request).db.transaction() as session:
        if old := request.cookies.get(COOKIE):
            await web_sessions.delete(session, old)  # the code step's ticket, if any
        session_id = await web_sessions.create(
            session,
            access_token=signed["access_token"],
            user_id=me["user_id"],
            username=me["username"],
            display_name=me["name"],
            roles=list(me["roles"]),
            lifetime=timedelta(hours=settings.session_hours),
            refresh_token=signed.get("refresh_token"),
            pending_step=step,
        )
    # The notices of a reset of this account come first (the two-person rule's last step).
    notices = "/security-notices" if me.get("security_notices") else home_for(list(me["roles"]))
    target = PENDING_PAGES[step] if step else notices
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        COOKIE,
        session_id,
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
        max_age=settings.session_hours * 3600,
    )
    return response


async def _ask_code(request: Request, username: str, password: str) -> Response:
    """The password was right and the account has TOTP: keep the sign-in sealed for the code step."""
    settings: PortalSettings = request.app.state.settings
    async with runtime_of(request).db.transaction() as session:
        if old := request.cookies.get(COOKIE):
            await web_sessions.delete(session, old)  # this browser's earlier session, now replaced
        session_id = await web_sessions.create(
            session,
            access_token="",
            user_id="",
            username=username,
            display_name="",
            roles=[],
            lifetime=timedelta(minutes=TICKET_MINUTES),
            pending_step="totp",
        )
        # The ticket is sealed with the new cookie's id, known only once the row is made.
        pending = await web_sessions.find(session, session_id)
        assert pending is not None
        pending.access_token = seal_ticket(session_id, username, password)
    response = RedirectResponse("/login/totp", status_code=303)
    response.set_cookie(
        COOKIE,
        session_id,
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
        max_age=TICKET_MINUTES * 60,
    )
    return response


async def _code_session(request: Request) -> tuple[str, WebSession] | None:
    web = await current_session(request)
    session_id = request.cookies.get(COOKIE)
    if web is None or session_id is None or web.pending_step != "totp":
        return None
    return session_id, web


def _code_page(request: Request, web: WebSession, error: str | None, status: int = 200) -> Response:
    return templates.TemplateResponse(
        request, "totp_login.html", {"web": None, "csrf": web.csrf_token, "error": error}, status_code=status
    )


@router.get("/login/totp", response_class=HTMLResponse)
async def code_form(request: Request) -> Response:
    found = await _code_session(request)
    if found is None:
        # Already signed in (or at another step): "/" knows where to go; otherwise sign in again.
        return RedirectResponse("/", status_code=303) if await current_session(request) else to_login()
    return _code_page(request, found[1], None)


@router.post("/login/totp", response_class=HTMLResponse)
async def code_step(
    request: Request,
    csrf: Annotated[str, Form(max_length=64)] = "",
    code: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    """Second step: the 6-digit code; identity counts wrong codes towards its lockout."""
    found = await _code_session(request)
    if found is None:
        return to_login("expired")
    session_id, web = found
    if not csrf_ok(web, csrf):
        return _code_page(request, web, _(STALE_FORM), 403)
    ticket = open_ticket(session_id, web.access_token)
    if ticket is None:
        return to_login("expired")
    digits = normalise_code(code)
    if digits is None:
        return _code_page(request, web, _("Mã xác thực: cần đúng 6 chữ số."), 422)
    try:
        signed = await services_for(request, None).identity.sign_in(ticket[0], ticket[1], digits)
    except BackendError as error:
        if error.status == 429 or error.problem.get("field") == "totp":
            return _code_page(request, web, error.title, error.status)
        async with runtime_of(request).db.transaction() as session:
            await web_sessions.delete(session, session_id)
        response = login_page(
            request, error.title, ticket[0], error.status if error.status in (401, 429) else 503
        )
        response.delete_cookie(COOKIE)
        return response
    return await _open_session(request, signed)


@router.post("/logout")
async def logout(request: Request) -> RedirectResponse:
    session_id = request.cookies.get(COOKIE)
    web = await current_session(request)
    if web is not None and web.refresh_token:
        # Revoke the refresh token too: signing out here signs this browser out everywhere.
        with contextlib.suppress(BackendError):
            await services_for(request, None).identity.logout(web.refresh_token)
    if session_id:
        async with runtime_of(request).db.transaction() as session:
            await web_sessions.delete(session, session_id)
    return to_login()


@router.get("/password", response_class=HTMLResponse)
async def password_form(request: Request) -> Response:
    web = await current_session(request)
    if web is None:
        return to_login()
    if web.pending_step == "totp":
        return RedirectResponse("/login/totp", status_code=303)
    return templates.TemplateResponse(
        request,
        "password.html",
        {"web": web, "error": None, "notice": request.query_params.get("notice")},
    )


@router.post("/password", response_class=HTMLResponse)
async def change_password(
    request: Request,
    csrf: Annotated[str, Form(max_length=64)] = "",
    current_password: Annotated[str, Form(max_length=200)] = "",
    new_password: Annotated[str, Form(max_length=200)] = "",
    new_password_again: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """First sign-in (and any later change): the school's initial password is replaced."""
    web = await current_session(request)
    if web is None:
        return to_login()
    if web.pending_step == "totp":
        return RedirectResponse("/login/totp", status_code=303)
    if not csrf_ok(web, csrf):
        return error_page(request, web, _(STALE_FORM), 403)
    error: str | None = None
    status = 422
    if not current_password:
        error = _("Mật khẩu hiện tại: chưa nhập.")
    elif new_password != new_password_again:
        error = _("Nhập lại mật khẩu mới: không khớp với mật khẩu mới.")
    else:
        try:
            changed = await services_for(request, web.access_token).identity.change_password(
                current_password, new_password
            )
        except BackendError as failed:
            error, status = failed.title, failed.status
    if error is not None:
        return templates.TemplateResponse(
            request, "password.html", {"web": web, "error": error}, status_code=status
        )
    step = pending_step_of(changed)
    me = await me_after_step(request, changed["access_token"], step)
    roles = list(me["roles"]) if me else None
    async with runtime_of(request).db.transaction() as session:
        await web_sessions.replace_tokens(
            session,
            web.id_hash,
            changed["access_token"],
            changed.get("refresh_token"),
            pending_step=step,
            roles=roles,
        )
    if step:
        return RedirectResponse(PENDING_PAGES[step], status_code=303)
    return RedirectResponse(landing(me, roles or web.roles, "password"), status_code=303)
