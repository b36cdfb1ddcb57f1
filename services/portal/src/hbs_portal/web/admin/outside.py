"""Hệ thống bên ngoài (the office): outside systems' OAuth clients, registered with their scopes,
the secret shown once, and revoked."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from hbs_portal.clients import BackendError
from hbs_portal.i18n import N_, _, translated
from hbs_portal.models import WebSession
from hbs_portal.web.common import templates
from hbs_portal.web.deps import CheckedForm, OfficeUser, services_for

router = APIRouter(include_in_schema=False)

SCOPE_LABELS = {
    "verify": N_("Kiểm tra văn bản và trạng thái (không có dữ liệu cá nhân)"),
    "records.read": N_("Đọc học bạ đã đóng dấu khi học sinh đồng ý (chưa mở)"),
    "national.export": N_("Xuất dữ liệu CSDL ngành"),
}


async def _page(
    request: Request,
    web: WebSession,
    *,
    created: dict[str, Any] | None = None,
    error: str | None = None,
    notice: str | None = None,
    status: int = 200,
) -> Response:
    api = services_for(request, web.access_token)
    clients = await api.identity.outside_systems()
    response = templates.TemplateResponse(
        request,
        "admin/outside_systems.html",
        {
            "web": web,
            "clients": clients,
            "scopes": translated(SCOPE_LABELS),
            "created": created,
            "error": error,
            "notice": notice,
        },
        status_code=status,
    )
    response.headers["cache-control"] = "no-store"  # the page may show a secret
    return response


@router.get("/admin/outside-systems", response_class=HTMLResponse)
async def outside_systems_page(request: Request, web: OfficeUser) -> Response:
    return await _page(request, web)


@router.post("/admin/outside-systems", response_class=HTMLResponse)
async def register_outside_system(
    request: Request,
    web: OfficeUser,
    form: CheckedForm,
    name: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    scopes = [s for s in form.getlist("scopes") if isinstance(s, str) and s in SCOPE_LABELS]
    if not name.strip():
        return await _page(request, web, error=_("Tên hệ thống: cần nhập."), status=422)
    if not scopes:
        return await _page(request, web, error=_("Quyền: hãy chọn ít nhất một quyền."), status=422)
    api = services_for(request, web.access_token)
    try:
        created = await api.identity.register_outside_system(name.strip(), scopes)
    except BackendError as error:
        if error.status == 422:
            return await _page(request, web, error=error.title, status=422)
        raise
    return await _page(request, web, created=created)


@router.post("/admin/outside-systems/{client_uuid}/revoke", response_class=HTMLResponse)
async def revoke_outside_system(
    request: Request, web: OfficeUser, _form: CheckedForm, client_uuid: uuid.UUID
) -> Response:
    api = services_for(request, web.access_token)
    try:
        await api.identity.revoke_outside_system(client_uuid)
    except BackendError as error:
        if error.status == 404:
            return await _page(request, web, error=error.title, status=404)
        raise
    return await _page(request, web, notice=_("Đã thu hồi: hệ thống này không truy cập được nữa."))
