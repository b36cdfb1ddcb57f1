"""The staff portal's pages: sign in, the teacher's score sheets, signing, the signed PDF."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from hbs_portal.models import WebSession
from hbs_portal.settings import PortalSettings
from hbs_portal.web.backends import BackendError, Backends, SessionExpired
from hbs_portal.web.sessions import COOKIE, WebSessionRepository, csrf_ok
from hbs_shared.service import runtime_of

templates = Jinja2Templates(directory=Path(__file__).parent.parent / "templates")
router = APIRouter(include_in_schema=False)
_sessions = WebSessionRepository()


def _backends(request: Request) -> Backends:
    backends: Backends = request.app.state.backends
    return backends


async def _current(request: Request) -> WebSession | None:
    async with runtime_of(request).db.transaction() as session:
        return await _sessions.find(session, request.cookies.get(COOKIE))


def _to_login(message: str | None = None) -> RedirectResponse:
    response = RedirectResponse("/login" + ("?expired=1" if message else ""), status_code=303)
    response.delete_cookie(COOKIE)
    return response


@router.get("/")
async def home(request: Request) -> RedirectResponse:
    return RedirectResponse("/sheets" if await _current(request) else "/login", status_code=303)


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
        signed_in = await _backends(request).sign_in(username, password)
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
        session_id = await _sessions.create(
            session,
            access_token=signed_in["access_token"],
            user_id=me["user_id"],
            username=me["username"],
            display_name=me["name"],
            roles=list(me["roles"]),
            lifetime=timedelta(hours=settings.session_hours),
        )
    response = RedirectResponse("/sheets", status_code=303)
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
    if session_id:
        async with runtime_of(request).db.transaction() as session:
            await _sessions.delete(session, session_id)
    return _to_login()


@router.get("/sheets", response_model=None)
async def sheets_page(request: Request) -> Response:
    web = await _current(request)
    if web is None:
        return _to_login()
    try:
        sheets = await _backends(request).sheets(web.access_token)
    except SessionExpired:
        return _to_login("expired")
    except BackendError as error:
        return templates.TemplateResponse(
            request, "error.html", {"web": web, "error": error.title}, status_code=error.status
        )
    return templates.TemplateResponse(
        request,
        "sheets.html",
        {
            "web": web,
            "sheets": sheets,
            "waiting": any(s["state"] == "signing" for s in sheets),
            "notice": request.query_params.get("notice"),
        },
    )


@router.post("/sheets/{sheet_id}/sign", response_model=None)
async def sign_sheet(
    request: Request,
    sheet_id: uuid.UUID,
    csrf: Annotated[str, Form(max_length=64)] = "",
    version: Annotated[int, Form(ge=1)] = 1,
) -> Response:
    web = await _current(request)
    if web is None:
        return _to_login()
    if not csrf_ok(web, csrf):
        return templates.TemplateResponse(
            request,
            "error.html",
            {"web": web, "error": "Biểu mẫu đã cũ, xin tải lại trang rồi thử lại."},
            status_code=403,
        )
    backends = _backends(request)
    try:
        sheet = await backends.sheet(web.access_token, str(sheet_id))
        if sheet["version"] != version:
            raise BackendError(409, "Sổ điểm vừa được thay đổi ở nơi khác, hãy tải lại")
        if sheet["state"] == "open":
            sheet = await backends.sheet_action(web.access_token, str(sheet_id), "submit", version)
        await backends.sheet_action(web.access_token, str(sheet_id), "sign", sheet["version"])
    except SessionExpired:
        return _to_login("expired")
    except BackendError as error:
        return templates.TemplateResponse(
            request, "error.html", {"web": web, "error": error.title}, status_code=error.status
        )
    return RedirectResponse("/sheets?notice=signing", status_code=303)


@router.get("/sheets/{sheet_id}/document", response_model=None)
async def sheet_document(request: Request, sheet_id: uuid.UUID) -> Response:
    web = await _current(request)
    if web is None:
        return _to_login()
    backends = _backends(request)
    try:
        sheet = await backends.sheet(web.access_token, str(sheet_id))
        if not sheet.get("document_id"):
            raise BackendError(404, "Sổ điểm này chưa có bản đã ký")
        pdf = await backends.document_pdf(web.access_token, sheet["document_id"])
    except SessionExpired:
        return _to_login("expired")
    except BackendError as error:
        return templates.TemplateResponse(
            request, "error.html", {"web": web, "error": error.title}, status_code=error.status
        )
    return Response(
        pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": 'inline; filename="so-diem-da-ky.pdf"',
            "Cache-Control": "private, no-store",
        },
    )
