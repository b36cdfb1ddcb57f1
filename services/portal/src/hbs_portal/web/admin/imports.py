"""Nhập dữ liệu: template, dry run of an uploaded .xlsx/.csv, then the real import of the same file."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, Response

from hbs_portal.clients import BackendError
from hbs_portal.i18n import N_, _, translated
from hbs_portal.models import WebSession
from hbs_portal.web.admin.access import download
from hbs_portal.web.common import templates
from hbs_portal.web.deps import CheckedForm, OfficeUser, services_for

router = APIRouter(include_in_schema=False)

Kind = Literal["students", "parents", "staff", "assignments"]
KINDS: dict[str, str] = {
    "students": N_("Học sinh"),
    "parents": N_("Phụ huynh"),
    "staff": N_("Cán bộ, giáo viên"),
    "assignments": N_("Phân công giảng dạy, chủ nhiệm"),
}
MAX_BYTES = 10 * 1024 * 1024
# The file travels back in the confirmation form as base64 (4 characters per 3 bytes).
MAX_ENCODED = (MAX_BYTES + 2) // 3 * 4


def _page(
    request: Request,
    web: WebSession,
    *,
    kind: str = "students",
    report: dict[str, Any] | None = None,
    content: str | None = None,
    done: dict[str, Any] | None = None,
    error: str | None = None,
    status: int = 200,
) -> Response:
    return templates.TemplateResponse(
        request,
        "admin/import.html",
        {
            "web": web,
            "kinds": translated(KINDS),
            "kind": kind,
            "report": report,
            "content": content,
            "done": done,
            "error": error,
        },
        status_code=status,
    )


@router.get("/admin/import", response_class=HTMLResponse)
async def import_form(request: Request, web: OfficeUser) -> Response:
    return _page(request, web)


@router.get("/admin/import/{kind}/template")
async def template(request: Request, web: OfficeUser, kind: Kind) -> Response:
    """The Vietnamese Excel template of this list, straight from identity."""
    answer = await services_for(request, web.access_token).identity.import_template(kind)
    return download(answer, f"mau-nhap-{kind}.xlsx")


@router.post("/admin/import/check", response_class=HTMLResponse)
async def check(
    request: Request,
    web: OfficeUser,
    _form: CheckedForm,
    kind: Annotated[str, Form(max_length=20)] = "",
    file: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """Dry run: identity checks every row and writes nothing; the report lists each bad row."""
    if kind not in KINDS:
        return _page(request, web, error=_("Danh sách: hãy chọn một danh sách."), status=422)
    content = await file.read(MAX_BYTES + 1) if file is not None else b""
    if not content:
        return _page(
            request, web, kind=kind, error=_("Tệp dữ liệu: chưa chọn tệp (.xlsx hoặc .csv)."), status=422
        )
    if len(content) > MAX_BYTES:
        return _page(request, web, kind=kind, error=_("Tệp dữ liệu: quá 10 MB."), status=413)
    try:
        answer = await services_for(request, web.access_token).identity.import_file(
            kind, content, dry_run=True
        )
    except BackendError as error:
        if error.status in (413, 422):
            return _page(
                request,
                web,
                kind=kind,
                error=_("Tệp dữ liệu: {title}.").format(title=error.title),
                status=error.status,
            )
        raise
    report: dict[str, Any] = answer
    encoded = base64.b64encode(content).decode() if report["valid"] else None
    return _page(request, web, kind=kind, report=report, content=encoded)


@router.post("/admin/import/run", response_class=HTMLResponse)
async def run(
    request: Request,
    web: OfficeUser,
    _form: CheckedForm,
    kind: Annotated[str, Form(max_length=20)] = "",
    content: Annotated[str, Form(max_length=MAX_ENCODED)] = "",
) -> Response:
    """The real import of the checked file: all rows, or none if identity finds any bad row."""
    if kind not in KINDS:
        return _page(request, web, error=_("Danh sách: hãy chọn một danh sách."), status=422)
    try:
        raw = base64.b64decode(content, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if not raw:
        return _page(
            request, web, kind=kind, error=_("Tệp dữ liệu: hãy chọn và kiểm tra lại tệp."), status=422
        )
    try:
        answer = await services_for(request, web.access_token).identity.import_file(kind, raw, dry_run=False)
    except BackendError as error:
        if error.status == 422 and "errors" in error.problem:
            # Something changed since the check (e.g. a duplicate now exists): nothing was imported.
            report = {"rows": error.problem.get("rows", 0), "errors": error.problem["errors"], "valid": False}
            return _page(request, web, kind=kind, report=report, error=error.title, status=422)
        if error.status in (413, 422):
            return _page(
                request,
                web,
                kind=kind,
                error=_("Tệp dữ liệu: {title}.").format(title=error.title),
                status=error.status,
            )
        raise
    return _page(request, web, kind=kind, done=answer)
