"""The teacher's score sheets: list, submit and sign with the signing PIN, the signed PDF."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from hbs_portal.web.backends import BackendError, SessionExpired
from hbs_portal.web.common import (
    backends_of,
    error_page,
    explain,
    pdf_response,
    signed_in,
    templates,
    to_login,
)
from hbs_portal.web.sessions import csrf_ok

router = APIRouter(include_in_schema=False)


@router.get("/sheets", response_model=None)
async def sheets_page(request: Request) -> Response:
    web = await signed_in(request)
    if isinstance(web, Response):
        return web
    try:
        sheets = await backends_of(request).sheets(web.access_token)
    except SessionExpired:
        return to_login("expired")
    except BackendError as error:
        return templates.TemplateResponse(
            request, "error.html", {"web": web, "error": error.title}, status_code=error.status
        )
    try:
        pin_status = await backends_of(request).signing_pin_status(web.access_token)
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
    web = await signed_in(request)
    if isinstance(web, Response):
        return web
    if not pin:
        return error_page(request, web, "Mã PIN ký số: chưa nhập.", 422)
    if not csrf_ok(web, csrf):
        return templates.TemplateResponse(
            request,
            "error.html",
            {"web": web, "error": "Biểu mẫu đã cũ, xin tải lại trang rồi thử lại."},
            status_code=403,
        )
    backends = backends_of(request)
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
        return to_login("expired")
    except BackendError as error:
        return error_page(request, web, explain(error), error.status)
    return RedirectResponse("/sheets?notice=signing", status_code=303)


@router.get("/signing-pin", response_model=None)
async def signing_pin_form(request: Request) -> Response:
    web = await signed_in(request)
    if isinstance(web, Response):
        return web
    try:
        status = await backends_of(request).signing_pin_status(web.access_token)
    except SessionExpired:
        return to_login("expired")
    except BackendError as error:
        return error_page(request, web, error.title, error.status)
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
    web = await signed_in(request)
    if isinstance(web, Response):
        return web
    if not csrf_ok(web, csrf):
        return error_page(request, web, "Biểu mẫu đã cũ, xin tải lại trang rồi thử lại.", 403)
    backends = backends_of(request)
    error: str | None = None
    status_code = 200
    if pin != pin_again:
        error, status_code = "Nhập lại mã PIN: không khớp với mã PIN mới.", 422
    else:
        try:
            await backends.set_signing_pin(web.access_token, pin, current_pin or None)
        except SessionExpired:
            return to_login("expired")
        except BackendError as failed:
            error, status_code = explain(failed), failed.status
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
    web = await signed_in(request)
    if isinstance(web, Response):
        return web
    backends = backends_of(request)
    try:
        sheet = await backends.sheet(web.access_token, str(sheet_id))
        if not sheet.get("document_id"):
            raise BackendError(404, "Sổ điểm này chưa có bản đã ký")
        pdf = await backends.document_pdf(web.access_token, sheet["document_id"])
    except SessionExpired:
        return to_login("expired")
    except BackendError as error:
        return templates.TemplateResponse(
            request, "error.html", {"web": web, "error": error.title}, status_code=error.status
        )
    return pdf_response(pdf, "so-diem-da-ky.pdf")
