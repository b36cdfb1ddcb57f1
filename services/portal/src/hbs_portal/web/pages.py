"""The staff portal's pages: sign in, the teacher's score sheets, signing, the signed PDF."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

import jwt
from fastapi import APIRouter, Form, Request, UploadFile
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
_refresh_locks: dict[str, asyncio.Lock] = {}


def _backends(request: Request) -> Backends:
    backends: Backends = request.app.state.backends
    return backends


async def _current(request: Request) -> WebSession | None:
    async with runtime_of(request).db.transaction() as session:
        return await _sessions.find(session, request.cookies.get(COOKIE))


def _expires_soon(access_token: str, margin: float) -> bool:
    # Only reads our own stored token's expiry; every service still verifies it fully.
    try:
        expires = float(jwt.decode(access_token, options={"verify_signature": False})["exp"])
    except (jwt.PyJWTError, KeyError, TypeError, ValueError):
        return True
    return expires - time.time() < margin


async def _signed_in(request: Request) -> WebSession | Response:
    """The caller's web session with a fresh access token, or where to send them instead."""
    web = await _current(request)
    if web is None:
        return _to_login()
    if web.pending_step == "password":
        return RedirectResponse("/password", status_code=303)
    settings: PortalSettings = request.app.state.settings
    margin = settings.token_refresh_margin_seconds
    if not _expires_soon(web.access_token, margin):
        return web
    # One refresh at a time per session: a spent refresh token used twice revokes the family.
    if len(_refresh_locks) > 10_000:
        _refresh_locks.clear()
    async with _refresh_locks.setdefault(web.id_hash, asyncio.Lock()):
        web = await _current(request)
        if web is None:
            return _to_login()
        if not _expires_soon(web.access_token, margin):
            return web  # another request refreshed it meanwhile
        if not web.refresh_token:
            return _to_login("expired")
        try:
            fresh = await _backends(request).refresh(web.refresh_token)
        except BackendError:
            return _to_login("expired")
        async with runtime_of(request).db.transaction() as session:
            await _sessions.replace_tokens(
                session, web.id_hash, fresh["access_token"], fresh.get("refresh_token")
            )
    web.access_token = fresh["access_token"]
    web.refresh_token = fresh.get("refresh_token")
    return web


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
            refresh_token=signed_in.get("refresh_token"),
            pending_step="password" if signed_in.get("must_change_password") else None,
        )
    target = "/password" if signed_in.get("must_change_password") else "/sheets"
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
    web = await _current(request)
    if web is not None and web.refresh_token:
        # Revoke the refresh token too: signing out here signs this browser out everywhere.
        with contextlib.suppress(BackendError):
            await _backends(request).logout(web.refresh_token)
    if session_id:
        async with runtime_of(request).db.transaction() as session:
            await _sessions.delete(session, session_id)
    return _to_login()


@router.get("/password", response_class=HTMLResponse)
async def password_form(request: Request) -> Response:
    web = await _current(request)
    if web is None:
        return _to_login()
    return templates.TemplateResponse(request, "password.html", {"web": web, "error": None})


@router.post("/password", response_class=HTMLResponse)
async def change_password(
    request: Request,
    csrf: Annotated[str, Form(max_length=64)] = "",
    current_password: Annotated[str, Form(max_length=200)] = "",
    new_password: Annotated[str, Form(max_length=200)] = "",
    new_password_again: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """First sign-in (and any later change): the school's initial password is replaced."""
    web = await _current(request)
    if web is None:
        return _to_login()
    if not csrf_ok(web, csrf):
        return _error(request, web, "Biểu mẫu đã cũ, xin tải lại trang rồi thử lại.", 403)
    error: str | None = None
    status = 422
    if not current_password:
        error = "Mật khẩu hiện tại: chưa nhập."
    elif new_password != new_password_again:
        error = "Nhập lại mật khẩu mới: không khớp với mật khẩu mới."
    else:
        try:
            changed = await _backends(request).change_password(
                web.access_token, current_password, new_password
            )
        except SessionExpired:
            return _to_login("expired")
        except BackendError as failed:
            error, status = failed.title, failed.status
    if error is not None:
        return templates.TemplateResponse(
            request, "password.html", {"web": web, "error": error}, status_code=status
        )
    async with runtime_of(request).db.transaction() as session:
        await _sessions.replace_tokens(
            session,
            web.id_hash,
            changed["access_token"],
            changed.get("refresh_token"),
            pending_step="password" if changed.get("must_change_password") else None,
        )
    return RedirectResponse("/sheets?notice=password", status_code=303)


@router.get("/sheets", response_model=None)
async def sheets_page(request: Request) -> Response:
    web = await _signed_in(request)
    if isinstance(web, Response):
        return web
    try:
        sheets = await _backends(request).sheets(web.access_token)
    except SessionExpired:
        return _to_login("expired")
    except BackendError as error:
        return templates.TemplateResponse(
            request, "error.html", {"web": web, "error": error.title}, status_code=error.status
        )
    try:
        pin_status = await _backends(request).signing_pin_status(web.access_token)
    except BackendError:
        pin_status = {"set": True, "locked": False}  # the sign form will say what is wrong
    return templates.TemplateResponse(
        request,
        "sheets.html",
        {
            "web": web,
            "sheets": sheets,
            "waiting": any(s["state"] == "signing" for s in sheets),
            "notice": request.query_params.get("notice"),
            "pin": pin_status,
        },
    )


@router.post("/sheets/{sheet_id}/sign", response_model=None)
async def sign_sheet(
    request: Request,
    sheet_id: uuid.UUID,
    csrf: Annotated[str, Form(max_length=64)] = "",
    version: Annotated[int, Form(ge=1)] = 1,
    pin: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    web = await _signed_in(request)
    if isinstance(web, Response):
        return web
    if not pin:
        return _error(request, web, "Mã PIN ký số: chưa nhập.", 422)
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
        # The signing PIN activates this one signature first: a wrong PIN changes nothing.
        activation_id = await backends.activate(web.access_token, pin, [str(sheet_id)])
        if sheet["state"] == "open":
            sheet = await backends.sheet_action(web.access_token, str(sheet_id), "submit", version)
        await backends.sheet_action(web.access_token, str(sheet_id), "sign", sheet["version"], activation_id)
    except SessionExpired:
        return _to_login("expired")
    except BackendError as error:
        return _error(request, web, _explain(error), error.status)
    return RedirectResponse("/sheets?notice=signing", status_code=303)


def _explain(error: BackendError) -> str:
    left = error.problem.get("attempts_left")
    if error.problem.get("code") == "wrong_pin" and left is not None:
        return f"{error.title} (còn {left} lần thử trước khi bị khoá)."
    if error.problem.get("code") == "no_pin":
        return f"{error.title}: hãy đặt mã PIN ký số trước."
    return error.title


def _error(request: Request, web: WebSession, message: str, status: int) -> Response:
    return templates.TemplateResponse(
        request, "error.html", {"web": web, "error": message}, status_code=status
    )


@router.get("/signing-pin", response_model=None)
async def signing_pin_form(request: Request) -> Response:
    web = await _signed_in(request)
    if isinstance(web, Response):
        return web
    try:
        status = await _backends(request).signing_pin_status(web.access_token)
    except SessionExpired:
        return _to_login("expired")
    except BackendError as error:
        return _error(request, web, error.title, error.status)
    return templates.TemplateResponse(
        request, "signing_pin.html", {"web": web, "status": status, "error": None, "done": False}
    )


@router.post("/signing-pin", response_model=None)
async def set_signing_pin(
    request: Request,
    csrf: Annotated[str, Form(max_length=64)] = "",
    pin: Annotated[str, Form(max_length=64)] = "",
    pin_again: Annotated[str, Form(max_length=64)] = "",
    current_pin: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    web = await _signed_in(request)
    if isinstance(web, Response):
        return web
    if not csrf_ok(web, csrf):
        return _error(request, web, "Biểu mẫu đã cũ, xin tải lại trang rồi thử lại.", 403)
    backends = _backends(request)
    error: str | None = None
    status_code = 200
    if pin != pin_again:
        error, status_code = "Nhập lại mã PIN: không khớp với mã PIN mới.", 422
    else:
        try:
            await backends.set_signing_pin(web.access_token, pin, current_pin or None)
        except SessionExpired:
            return _to_login("expired")
        except BackendError as failed:
            error, status_code = _explain(failed), failed.status
    try:
        status = await backends.signing_pin_status(web.access_token)
    except BackendError:
        status = {"set": error is None, "locked": False}
    return templates.TemplateResponse(
        request,
        "signing_pin.html",
        {"web": web, "status": status, "error": error, "done": error is None},
        status_code=status_code,
    )


@router.get("/sheets/{sheet_id}/document", response_model=None)
async def sheet_document(request: Request, sheet_id: uuid.UUID) -> Response:
    web = await _signed_in(request)
    if isinstance(web, Response):
        return web
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


_ROLE_NAMES = {
    "subject_teacher": "Giáo viên bộ môn",
    "homeroom_teacher": "Giáo viên chủ nhiệm",
    "vice_principal": "Phó Hiệu trưởng",
    "principal": "Hiệu trưởng",
    "seal": "Dấu của nhà trường",
}
_VERDICTS = {"valid": "Hợp lệ", "invalid": "Không hợp lệ", "indeterminate": "Chưa xác định được"}
MAX_VERIFY_UPLOAD = 20 * 1024 * 1024


def _verify_page(
    request: Request, *, report: dict[str, Any] | None, error: str | None, status: int = 200
) -> Response:
    return templates.TemplateResponse(
        request,
        "verify.html",
        {
            "web": None,
            "report": report,
            "error": error,
            "roles": _ROLE_NAMES,
            "verdicts": _VERDICTS,
        },
        status_code=status,
    )


@router.get("/verify", response_class=HTMLResponse)
async def verify_form(request: Request, code: str = "") -> Response:
    """Public: anyone holding a record checks it by its code or by uploading the file."""
    if code.strip():
        return RedirectResponse(f"/verify/{code.strip().upper()}", status_code=303)
    return _verify_page(request, report=None, error=None)


@router.get("/verify/{code}", response_class=HTMLResponse)
async def verify_by_code(request: Request, code: str) -> Response:
    if not code.isalnum() or len(code) > 16:
        return _verify_page(request, report=None, error="Mã tra cứu không hợp lệ.", status=422)
    try:
        report = await _backends(request).verify_code(code.upper())
    except BackendError as error:
        return _verify_page(request, report=None, error=error.title, status=error.status)
    return _verify_page(request, report=report, error=None)


@router.post("/verify", response_class=HTMLResponse)
async def verify_upload(request: Request, file: UploadFile | None = None) -> Response:
    if file is None or not file.filename:
        return _verify_page(request, report=None, error="Tệp PDF: chưa chọn tệp.", status=422)
    content = await file.read(MAX_VERIFY_UPLOAD + 1)
    if len(content) > MAX_VERIFY_UPLOAD:
        return _verify_page(request, report=None, error="Tệp PDF: quá 20 MB.", status=413)
    if not content.startswith(b"%PDF"):
        return _verify_page(request, report=None, error="Tệp PDF: không phải tệp PDF.", status=422)
    try:
        report = await _backends(request).verify_pdf(content)
    except BackendError as error:
        return _verify_page(request, report=None, error=error.title, status=error.status)
    return _verify_page(request, report=report, error=None)
