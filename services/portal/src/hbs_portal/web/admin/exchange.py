"""Hồ sơ chuyển trường / tốt nghiệp: the office exports a student's sealed package (from the
student's page) and imports another school's, seeing each refused file's reason."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, File, Request, UploadFile
from fastapi.responses import HTMLResponse, Response

from hbs_portal.clients import BackendError
from hbs_portal.i18n import N_, _, translated
from hbs_portal.models import WebSession
from hbs_portal.web.admin.access import download
from hbs_portal.web.common import templates
from hbs_portal.web.deps import CheckedForm, OfficeUser, services_for

router = APIRouter(include_in_schema=False)

REASONS = {"transferred": N_("Chuyển trường"), "graduated": N_("Tốt nghiệp")}
KINDS = {
    "identity": N_("Thông tin cá nhân"),
    "record_pdf": N_("Học bạ năm học (PDF đã ký)"),
    "record_json": N_("Dữ liệu học bạ (JSON)"),
    "record_xml": N_("Dữ liệu học bạ (XML)"),
}
MAX_BYTES = 50 * 1024 * 1024


def _page(
    request: Request,
    web: WebSession,
    *,
    exported: list[dict[str, Any]] | None = None,
    imported: dict[str, Any] | None = None,
    refused: list[dict[str, Any]] | None = None,
    error: str | None = None,
    status: int = 200,
) -> Response:
    return templates.TemplateResponse(
        request,
        "admin/exchange.html",
        {
            "web": web,
            "reasons": translated(REASONS),
            "kinds": translated(KINDS),
            "exported": exported,
            "imported": imported,
            "refused": refused,
            "error": error,
        },
        status_code=status,
    )


@router.get("/admin/exchange", response_class=HTMLResponse)
async def exchange_page(request: Request, web: OfficeUser) -> Response:
    return _page(request, web)


@router.post("/admin/students/{student_id}/exchange", response_class=HTMLResponse)
async def export_package(
    request: Request, form: CheckedForm, web: OfficeUser, student_id: uuid.UUID
) -> Response:
    """Xuất hồ sơ of one student: sealed by the school; identity records that the student left."""
    reason = str(form.get("reason", ""))
    if reason not in REASONS:
        return _page(request, web, error=_("Lý do: hãy chọn chuyển trường hoặc tốt nghiệp."), status=422)
    if form.get("confirm") != "yes":
        return _page(request, web, error=_("Xác nhận: hãy đánh dấu ô xác nhận xuất hồ sơ."), status=422)
    try:
        exported = await services_for(request, web.access_token).signing.export_packages([student_id], reason)
    except BackendError as error:
        if error.status in (403, 404, 409, 422):
            return _page(request, web, error=error.title, status=error.status)
        raise
    return _page(request, web, exported=exported)


@router.post("/admin/exchange/import", response_class=HTMLResponse)
async def import_package(
    request: Request,
    web: OfficeUser,
    _form: CheckedForm,
    file: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """Tiếp nhận hồ sơ: accepted with its receipt, or refused with every file's reason."""
    content = await file.read(MAX_BYTES + 1) if file is not None else b""
    if not content:
        return _page(request, web, error=_("Tệp hồ sơ: chưa chọn tệp (.pdf)."), status=422)
    if len(content) > MAX_BYTES:
        return _page(request, web, error=_("Tệp hồ sơ: quá 50 MB."), status=413)
    try:
        imported = await services_for(request, web.access_token).signing.import_package(content)
    except BackendError as error:
        if error.status == 422 and "files" in error.problem:
            return _page(request, web, refused=list(error.problem["files"]), error=error.title, status=422)
        if error.status in (409, 413, 415, 422):
            return _page(request, web, error=error.title, status=error.status)
        raise
    return _page(request, web, imported=imported)


@router.get("/admin/exchange/packages/{package_id}/{part}")
async def package_download(request: Request, web: OfficeUser, package_id: uuid.UUID, part: str) -> Response:
    """The sealed package (`pdf`) or the receipt this school sealed for an import (`receipt`)."""
    if part not in ("pdf", "receipt"):
        return _page(request, web, error=_("Không tìm thấy tệp."), status=404)
    answer = await services_for(request, web.access_token).signing.package_file(package_id, part)
    name = "ho-so-hoc-ba" if part == "pdf" else "bien-nhan-ho-so"
    return download(answer, f"{name}-{package_id}.pdf")
