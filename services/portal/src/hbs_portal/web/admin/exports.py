"""Xuất dữ liệu (Excel lists, same columns as the import templates) and sign-in slips per class."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from hbs_portal.models import WebSession
from hbs_portal.web.admin.access import STALE_FORM, Office, admin_session, download, failed
from hbs_portal.web.admin.imports import KINDS, Kind
from hbs_portal.web.backends import BackendError, SessionExpired
from hbs_portal.web.common import templates, to_login
from hbs_portal.web.sessions import csrf_ok

router = APIRouter(include_in_schema=False)
SLIP_OWNERS = {"students": "Học sinh", "parents": "Phụ huynh"}


async def _page(request: Request, web: WebSession, error: str | None = None, status: int = 200) -> Response:
    try:
        classes = await Office(request, web).classes()
    except SessionExpired:
        return to_login("expired")
    except BackendError as refused:
        return failed(request, web, refused)
    return templates.TemplateResponse(
        request,
        "admin/export.html",
        {"web": web, "kinds": KINDS, "owners": SLIP_OWNERS, "classes": classes, "error": error},
        status_code=status,
    )


@router.get("/admin/export", response_class=HTMLResponse)
async def export_page(request: Request) -> Response:
    web = await admin_session(request)
    if isinstance(web, Response):
        return web
    return await _page(request, web)


@router.get("/admin/export/{kind}")
async def export_list(request: Request, kind: Kind) -> Response:
    """This school year's list as .xlsx (identity records the download in the audit log)."""
    web = await admin_session(request)
    if isinstance(web, Response):
        return web
    try:
        answer = await Office(request, web).identity("GET", f"/exports/{kind}")
    except BackendError as error:
        return failed(request, web, error)
    return download(answer, f"{kind}.xlsx")


@router.post("/admin/slips")
async def class_slips(
    request: Request,
    csrf: Annotated[str, Form(max_length=64)] = "",
    class_id: Annotated[str, Form(max_length=40)] = "",
    who: Annotated[str, Form(max_length=20)] = "students",
    confirm: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """A PDF of sign-in slips: every slip carries a new initial password, so the old ones stop working."""
    web = await admin_session(request)
    if isinstance(web, Response):
        return web
    if not csrf_ok(web, csrf):
        return await _page(request, web, STALE_FORM, 403)
    try:
        chosen = uuid.UUID(class_id)
    except ValueError:
        return await _page(request, web, "Lớp: hãy chọn một lớp trong danh sách.", 422)
    if who not in SLIP_OWNERS:
        return await _page(request, web, "Phiếu cho: hãy chọn học sinh hoặc phụ huynh.", 422)
    if confirm != "yes":
        return await _page(
            request, web, "Xác nhận: hãy đánh dấu ô xác nhận cấp mật khẩu mới cho cả lớp.", 422
        )
    owners: Literal["students", "parents"] = "students" if who == "students" else "parents"
    try:
        answer = await Office(request, web).identity(
            "POST", f"/classes/{chosen}/sign-in-slips", params={"who": owners}
        )
    except BackendError as error:
        if error.status == 404:
            return await _page(request, web, "Lớp: không tìm thấy lớp này.", 404)
        return failed(request, web, error)
    return download(answer, f"phieu-dang-nhap-{owners}-{chosen}.pdf")
