"""Signing in and out, and changing one's password (forced at the first sign-in)."""

from __future__ import annotations

import contextlib
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from hbs_portal.settings import PortalSettings
from hbs_portal.web.backends import BackendError, SessionExpired
from hbs_portal.web.common import (
    backends_of,
    current_session,
    error_page,
    home_for,
    templates,
    to_login,
    web_sessions,
)
from hbs_portal.web.sessions import COOKIE, csrf_ok
from hbs_shared.service import runtime_of

router = APIRouter(include_in_schema=False)


@router.get("/")
async def home(request: Request) -> RedirectResponse:
    web = await current_session(request)
    return RedirectResponse(home_for(web.roles) if web else "/login", status_code=303)


@router.get("/login", response_class=HTMLResponse)
async def login_form(request: Request, expired: int = 0) -> HTMLResponse:
    error = "Phiên đăng nhập đã hết hạn, xin đăng nhập lại." if expired else None
    return templates.TemplateResponse(request, "login.html", {"error": error, "username": ""})


@router.post("/login", response_model=None)
async def login(
    request: Request,
    username: Annotated[str, Form(max_length=120)] = "",
    password: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    if not username.strip() or not password:
        missing = "Tên đăng nhập" if not username.strip() else "Mật khẩu"
        return templates.TemplateResponse(
            request,
            "login.html",
            {"error": f"{missing}: chưa nhập.", "username": username},
            status_code=422,
        )
    try:
        signed_in = await backends_of(request).sign_in(username, password)
    except BackendError as error:
        return templates.TemplateResponse(
            request,
            "login.html",
            {"error": error.title, "username": username},
            status_code=401 if error.status == 401 else 503,
        )
    settings: PortalSettings = request.app.state.settings
    me: dict[str, Any] = signed_in["me"]
    async with runtime_of(request).db.transaction() as session:
        session_id = await web_sessions.create(
            session,
            access_token=signed_in["access_token"],
            user_id=me["user_id"],
            username=me["username"],
            display_name=me["name"],
            roles=list(me["roles"]),
            lifetime=timedelta(hours=settings.session_hours),
            refresh_token=signed_in.get("refresh_token"),
            pending_step="password" if signed_in.get("must_change_password") else None,
        )
    target = "/password" if signed_in.get("must_change_password") else home_for(list(me["roles"]))
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


@router.post("/logout")
async def logout(request: Request) -> RedirectResponse:
    session_id = request.cookies.get(COOKIE)
    web = await current_session(request)
    if web is not None and web.refresh_token:
        # Revoke the refresh token too: signing out here signs this browser out everywhere.
        with contextlib.suppress(BackendError):
            await backends_of(request).logout(web.refresh_token)
    if session_id:
        async with runtime_of(request).db.transaction() as session:
            await web_sessions.delete(session, session_id)
    return to_login()


@router.get("/password", response_class=HTMLResponse)
async def password_form(request: Request) -> Response:
    web = await current_session(request)
    if web is None:
        return to_login()
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
    if not csrf_ok(web, csrf):
        return error_page(request, web, "Biểu mẫu đã cũ, xin tải lại trang rồi thử lại.", 403)
    error: str | None = None
    status = 422
    if not current_password:
        error = "Mật khẩu hiện tại: chưa nhập."
    elif new_password != new_password_again:
        error = "Nhập lại mật khẩu mới: không khớp với mật khẩu mới."
    else:
        try:
            changed = await backends_of(request).change_password(
                web.access_token, current_password, new_password
            )
        except SessionExpired:
            return to_login("expired")
        except BackendError as failed:
            error, status = failed.title, failed.status
    if error is not None:
        return templates.TemplateResponse(
            request, "password.html", {"web": web, "error": error}, status_code=status
        )
    roles = web.roles
    if not changed.get("must_change_password"):
        # A first sign-in's session was made with a restricted token, which carries no roles.
        try:
            backends = backends_of(request)
            me = (await backends.call("GET", f"{backends.identity_url}/me", changed["access_token"])).json()
            roles = list(me["roles"])
        except BackendError:
            pass  # the menu shows the new roles from the next sign-in
    async with runtime_of(request).db.transaction() as session:
        await web_sessions.replace_tokens(
            session,
            web.id_hash,
            changed["access_token"],
            changed.get("refresh_token"),
            pending_step="password" if changed.get("must_change_password") else None,
            roles=roles,
        )
    return RedirectResponse(home_for(roles) + "?notice=password", status_code=303)
