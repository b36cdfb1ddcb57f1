"""Xuất dữ liệu (Excel lists, same columns as the import templates) and sign-in slips per class."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from hbs_portal.clients import BackendError
from hbs_portal.models import WebSession
from hbs_portal.web.admin.access import download
from hbs_portal.web.admin.imports import KINDS, Kind
from hbs_portal.web.common import templates
from hbs_portal.web.deps import CheckedForm, OfficeUser, services_for

router = APIRouter(include_in_schema=False)
SLIP_OWNERS = {"students": "Học sinh", "parents": "Phụ huynh"}


async def _page(request: Request, web: WebSession, error: str | None = None, status: int = 200) -> Response:
    classes = await services_for(request, web.access_token).identity.classes_sorted()
    return templates.TemplateResponse(
        request,
        "admin/export.html",
        {"web": web, "kinds": KINDS, "owners": SLIP_OWNERS, "classes": classes, "error": error},
        status_code=status,
    )


@router.get("/admin/export", response_class=HTMLResponse)
async def export_page(request: Request, web: OfficeUser) -> Response:
    return await _page(request, web)


@router.get("/admin/export/{kind}")
async def export_list(request: Request, web: OfficeUser, kind: Kind) -> Response:
    """This school year's list as .xlsx (identity records the download in the audit log)."""
    answer = await services_for(request, web.access_token).identity.export(kind)
    return download(answer, f"{kind}.xlsx")


@router.post("/admin/slips")
async def class_slips(
    request: Request,
    web: OfficeUser,
    _form: CheckedForm,
    class_id: Annotated[str, Form(max_length=40)] = "",
    who: Annotated[str, Form(max_length=20)] = "students",
    confirm: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """A PDF of sign-in slips: every slip carries a new initial password, so the old ones stop working."""
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
        answer = await services_for(request, web.access_token).identity.class_sign_in_slips(chosen, owners)
    except BackendError as error:
        if error.status == 404:
            return await _page(request, web, "Lớp: không tìm thấy lớp này.", 404)
        raise
    return download(answer, f"phieu-dang-nhap-{owners}-{chosen}.pdf")
