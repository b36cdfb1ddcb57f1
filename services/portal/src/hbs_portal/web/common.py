"""What every page of the portal shares: templates, the signed-in session, errors, navigation."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import jwt
from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from hbs_portal.models import WebSession
from hbs_portal.settings import PortalSettings
from hbs_portal.web.backends import BackendError, Backends
from hbs_portal.web.sessions import COOKIE, WebSessionRepository
from hbs_shared.roles import BOARD, FAMILY, OFFICE, SIGNERS, STAFF, Role
from hbs_shared.service import runtime_of

templates = Jinja2Templates(directory=Path(__file__).parent.parent / "templates")
web_sessions = WebSessionRepository()
_refresh_locks: dict[str, asyncio.Lock] = {}


def backends_of(request: Request) -> Backends:
    backends: Backends = request.app.state.backends
    return backends


async def current_session(request: Request) -> WebSession | None:
    async with runtime_of(request).db.transaction() as session:
        return await web_sessions.find(session, request.cookies.get(COOKIE))


def _expires_soon(access_token: str, margin: float) -> bool:
    # Only reads our own stored token's expiry; every service still verifies it fully.
    try:
        expires = float(jwt.decode(access_token, options={"verify_signature": False})["exp"])
    except (jwt.PyJWTError, KeyError, TypeError, ValueError):
        return True
    return expires - time.time() < margin


async def signed_in(request: Request) -> WebSession | Response:
    """The caller's web session with a fresh access token, or where to send them instead."""
    web = await current_session(request)
    if web is None:
        return to_login()
    if web.pending_step:
        return RedirectResponse(PENDING_PAGES.get(web.pending_step, "/login"), status_code=303)
    settings: PortalSettings = request.app.state.settings
    margin = settings.token_refresh_margin_seconds
    if not _expires_soon(web.access_token, margin):
        return web
    # One refresh at a time per session: a spent refresh token used twice revokes the family.
    if len(_refresh_locks) > 10_000:
        _refresh_locks.clear()
    async with _refresh_locks.setdefault(web.id_hash, asyncio.Lock()):
        web = await current_session(request)
        if web is None:
            return to_login()
        if not _expires_soon(web.access_token, margin):
            return web  # another request refreshed it meanwhile
        if not web.refresh_token:
            return to_login("expired")
        try:
            fresh = await backends_of(request).refresh(web.refresh_token)
        except BackendError:
            return to_login("expired")
        async with runtime_of(request).db.transaction() as session:
            await web_sessions.replace_tokens(
                session, web.id_hash, fresh["access_token"], fresh.get("refresh_token")
            )
    web.access_token = fresh["access_token"]
    web.refresh_token = fresh.get("refresh_token")
    return web


# A session in one of these steps is kept on its page until the step is done.
PENDING_PAGES = {"password": "/password", "totp": "/login/totp", "totp_setup": "/totp/setup"}


def to_login(message: str | None = None) -> RedirectResponse:
    response = RedirectResponse("/login" + ("?expired=1" if message else ""), status_code=303)
    response.delete_cookie(COOKIE)
    return response


def explain(error: BackendError) -> str:
    left = error.problem.get("attempts_left")
    if error.problem.get("code") == "wrong_pin" and left is not None:
        return f"{error.title} (còn {left} lần thử trước khi bị khoá)."
    if error.problem.get("code") == "no_pin":
        return f"{error.title}: hãy đặt mã PIN ký số trước."
    return error.title


def error_page(request: Request, web: WebSession, message: str, status: int) -> Response:
    return templates.TemplateResponse(
        request, "error.html", {"web": web, "error": message}, status_code=status
    )


def home_for(roles: list[str]) -> str:
    """The first page of the user's menu: a teacher lands on sheets, a parent on their children."""
    return nav_for(roles)[0][0]


_SIGNERS: frozenset[str] = SIGNERS
_ADMINS: frozenset[str] = OFFICE
_STAFF: frozenset[str] = STAFF
# The menu: (path, label, roles that see it); None means every signed-in user. First match is home.
NAV: list[tuple[str, str, frozenset[str] | None]] = [
    ("/sheets", "Sổ điểm", _SIGNERS),
    ("/signing-pin", "Mã PIN ký số", _SIGNERS),
    ("/records/homeroom", "Học bạ lớp", frozenset({Role.homeroom_teacher})),
    ("/records/review", "Duyệt học bạ", frozenset({Role.vice_principal})),
    ("/records/approve", "Phê duyệt học bạ", frozenset({Role.principal})),
    ("/admin/students", "Học sinh", _ADMINS),
    ("/classes", "Các lớp", _SIGNERS | _ADMINS),
    ("/statistics", "Thống kê", BOARD),
    ("/admin/classes", "Quản lý lớp", _ADMINS),
    ("/admin/accounts", "Cán bộ, tài khoản", _ADMINS),
    ("/admin/import", "Nhập dữ liệu", _ADMINS),
    ("/admin/export", "Xuất dữ liệu", _ADMINS),
    ("/admin/audit", "Nhật ký", frozenset({Role.system_admin})),
    ("/admin/signing", "Ký số", frozenset({Role.system_admin})),
    ("/security", "Bảo mật đăng nhập", _STAFF),
    # Identity gives parents the role `parent` and students `student` (people/service.py).
    ("/results", "Kết quả học tập", FAMILY),
    ("/password", "Đổi mật khẩu", None),
]


def nav_for(roles: list[str]) -> list[tuple[str, str]]:
    return [(path, label) for path, label, who in NAV if who is None or who & set(roles)]


templates.env.globals["nav_for"] = nav_for


def pdf_response(pdf: bytes, filename: str) -> Response:
    """A signed PDF shown in the browser, never kept by a shared cache."""
    return Response(
        pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'inline; filename="{filename}"',
            "Cache-Control": "private, no-store",
        },
    )
