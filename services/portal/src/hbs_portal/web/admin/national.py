"""Dữ liệu cho CSDL ngành: the office makes a full export or the changes since the last one and
downloads it as XML or JSON (grades checks each against its schema before sending it)."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from hbs_portal.clients import BackendError
from hbs_portal.i18n import _
from hbs_portal.models import WebSession
from hbs_portal.web.admin.access import download
from hbs_portal.web.common import templates
from hbs_portal.web.deps import CheckedForm, OfficeUser, services_for
from hbs_portal.web.filenames import file_name

router = APIRouter(include_in_schema=False)


async def _page(request: Request, web: WebSession, error: str | None = None, status: int = 200) -> Response:
    exports = await services_for(request, web.access_token).grades.national_exports()
    return templates.TemplateResponse(
        request,
        "admin/national.html",
        {"web": web, "exports": exports, "error": error},
        status_code=status,
    )


@router.get("/admin/national", response_class=HTMLResponse)
async def national_page(request: Request, web: OfficeUser) -> Response:
    return await _page(request, web)


@router.post("/admin/national")
async def make_export(
    request: Request,
    web: OfficeUser,
    _form: CheckedForm,
    kind: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    if kind not in ("full", "changes"):
        return await _page(request, web, _("Loại dữ liệu: hãy chọn xuất toàn bộ hoặc phần thay đổi."), 422)
    try:
        await services_for(request, web.access_token).grades.make_national_export(
            None if kind == "full" else "last"
        )
    except BackendError as error:
        if error.status in (404, 409, 422):
            return await _page(request, web, error.title, error.status)
        raise
    return RedirectResponse("/admin/national", status_code=303)


@router.get("/admin/national/{export_id}/{form}")
async def export_file(
    request: Request, web: OfficeUser, export_id: uuid.UUID, form: Literal["xml", "json"]
) -> Response:
    answer = await services_for(request, web.access_token).grades.national_export_file(export_id, form)
    return download(answer, file_name("Dữ liệu học bạ CSDL ngành", str(export_id)[:8], ext=form))
