"""Public verification of a signed record, by its printed code or by uploading the PDF."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from hbs_portal.clients import BackendError
from hbs_portal.i18n import N_, _, translated
from hbs_portal.web.common import (
    templates,
)
from hbs_portal.web.deps import PublicApi
from hbs_portal.web.verify_text import vietnamese_report
from hbs_shared.roles import SIGNATURE_ROLES

router = APIRouter(include_in_schema=False)


_ROLE_NAMES = {role.value: role.formal_label for role in SIGNATURE_ROLES}
_VERDICTS = {"valid": N_("Hợp lệ"), "invalid": N_("Không hợp lệ"), "indeterminate": N_("Chưa xác định được")}
MAX_VERIFY_UPLOAD = 5 * 1024 * 1024  # as signing accepts (a sealed record is ~170 KB)


def _verify_page(
    request: Request, *, report: dict[str, Any] | None, error: str | None, status: int = 200
) -> Response:
    return templates.TemplateResponse(
        request,
        "verify.html",
        {
            "web": None,
            "report": vietnamese_report(report) if report else None,
            "error": error,
            "roles": translated(_ROLE_NAMES),
            "verdicts": translated(_VERDICTS),
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
async def verify_by_code(request: Request, api: PublicApi, code: str) -> Response:
    if not code.isalnum() or len(code) > 16:
        return _verify_page(request, report=None, error=_("Mã tra cứu không hợp lệ."), status=422)
    try:
        report = await api.signing.verify_code(code.upper())
    except BackendError as error:
        return _verify_page(request, report=None, error=error.title, status=error.status)
    return _verify_page(request, report=report, error=None)


@router.post("/verify", response_class=HTMLResponse)
async def verify_upload(request: Request, api: PublicApi, file: UploadFile | None = None) -> Response:
    if file is None or not file.filename:
        return _verify_page(request, report=None, error=_("Tệp PDF: chưa chọn tệp."), status=422)
    content = await file.read(MAX_VERIFY_UPLOAD + 1)
    if len(content) > MAX_VERIFY_UPLOAD:
        return _verify_page(request, report=None, error=_("Tệp PDF: quá 5 MB."), status=413)
    if not content.startswith(b"%PDF"):
        return _verify_page(request, report=None, error=_("Tệp PDF: không phải tệp PDF."), status=422)
    try:
        report = await api.signing.verify_pdf(content)
    except BackendError as error:
        return _verify_page(request, report=None, error=error.title, status=error.status)
    return _verify_page(request, report=report, error=None)
