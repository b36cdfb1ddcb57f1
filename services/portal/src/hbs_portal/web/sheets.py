"""The teacher's score sheets: list, submit and sign with the signing PIN, the signed PDF."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from hbs_portal.clients import BackendError
from hbs_portal.i18n import _
from hbs_portal.models import WebSession
from hbs_portal.web.common import explain, pdf_response, templates
from hbs_portal.web.deadlines import my_deadlines
from hbs_portal.web.deps import Api, CheckedForm, Services, SignedIn
from hbs_portal.web.filenames import file_name
from hbs_portal.web.scores import PageState, grid_rows, render, sheet_scores
from hbs_portal.web.sheet_filters import filter_sheets
from hbs_shared.roles import BOARD

router = APIRouter(include_in_schema=False)
PIN_CODES = {"wrong_pin", "no_pin", "pin_locked"}
"""Signing's refusals about the PIN itself: the teacher retries on the grid's sign form."""


async def submit_and_sign(api: Services, sheet_id: uuid.UUID, version: int, pin: str) -> None:
    """Submit the sheet if still open, then sign it: the PIN activates this one signature first,
    so a wrong PIN changes nothing (the score page and the sheet list both sign this way)."""
    sheet = await api.grades.sheet(sheet_id)
    if sheet["version"] != version:
        raise BackendError(409, _("Sổ điểm vừa được thay đổi ở nơi khác, hãy tải lại"))
    activation_id = await api.signing.activate(pin, subject_ids=[str(sheet_id)])
    if sheet["state"] == "open":
        sheet = await api.grades.sheet_action(sheet_id, "submit", version)
    await api.grades.sheet_action(sheet_id, "sign", sheet["version"], activation_id)


async def pin_status_or_guess(api: Services, guess: dict[str, Any]) -> dict[str, Any]:
    """The signing PIN's state; a guess when signing cannot answer (the sign form will say why)."""
    try:
        return await api.signing.pin_status()
    except BackendError:
        return guess


@router.get("/sheets", response_model=None)
async def sheets_page(request: Request, web: SignedIn, api: Api) -> Response:
    everything = await api.grades.sheets()
    sheets, filters = filter_sheets(everything, request.query_params)
    pin_status = await pin_status_or_guess(api, {"set": True, "locked": False})
    deadlines = await my_deadlines(api)  # entry, step 1 and (homeroom) step 2
    return templates.TemplateResponse(
        request,
        "sheets.html",
        {
            "web": web,
            "sheets": sheets,
            "mine": any(s["teacher_id"] == str(web.user_id) for s in everything),
            "filters": filters,
            "board": bool(set(web.roles) & BOARD),
            "waiting": any(s["state"] == "signing" for s in sheets),
            "notice": request.query_params.get("notice"),
            "pin": pin_status,
            "deadlines": deadlines,
        },
        status_code=422 if filters.errors else 200,
    )


@router.post("/sheets/{sheet_id}/sign", response_model=None)
async def sign_sheet(
    request: Request,
    web: SignedIn,
    api: Api,
    _form: CheckedForm,
    sheet_id: uuid.UUID,
    version: Annotated[int, Form(ge=1)] = 1,
    pin: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    if not pin:
        return await _back_to_grid(request, web, api, sheet_id, _("Mã PIN ký số: chưa nhập."), [], 422)
    try:
        await submit_and_sign(api, sheet_id, version, pin)
    except BackendError as error:
        about_pin = error.problem.get("code") in PIN_CODES
        if error.status >= 500 or error.status in (401, 404) or (error.status == 403 and not about_pin):
            raise  # not the teacher's to fix on the grid: the error page says what happened
        missing = list(error.problem.get("missing", []))
        message = explain(error).rstrip(".") + "."  # a PIN message already names the PIN
        return await _back_to_grid(request, web, api, sheet_id, message, missing, error.status)
    return RedirectResponse("/sheets?notice=signing", status_code=303)


async def _back_to_grid(
    request: Request,
    web: WebSession,
    api: Services,
    sheet_id: uuid.UUID,
    message: str,
    missing: list[dict[str, Any]],
    status_code: int,
) -> Response:
    """No dead end: the sheet's grid again, saying why it was not signed and who is missing."""
    scores = await sheet_scores(api, sheet_id)
    state = PageState(error=message, missing=missing)
    return render(request, web, scores, grid_rows(scores), state, status_code)


@router.get("/signing-pin", response_model=None)
async def signing_pin_form(request: Request, web: SignedIn, api: Api) -> Response:
    status = await api.signing.pin_status()
    return templates.TemplateResponse(
        request, "signing_pin.html", {"web": web, "status": status, "error": None, "done": False}
    )


@router.post("/signing-pin", response_model=None)
async def set_signing_pin(
    request: Request,
    web: SignedIn,
    api: Api,
    _form: CheckedForm,
    pin: Annotated[str, Form(max_length=64)] = "",
    pin_again: Annotated[str, Form(max_length=64)] = "",
    current_pin: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    error: str | None = None
    status_code = 200
    if pin != pin_again:
        error, status_code = _("Nhập lại mã PIN: không khớp với mã PIN mới."), 422
    else:
        try:
            await api.signing.set_pin(pin, current_pin or None)
        except BackendError as failed:
            error, status_code = explain(failed), failed.status
    status = await pin_status_or_guess(api, {"set": error is None, "locked": False})
    return templates.TemplateResponse(
        request,
        "signing_pin.html",
        {"web": web, "status": status, "error": error, "done": error is None},
        status_code=status_code,
    )


@router.get("/sheets/{sheet_id}/document", response_model=None)
async def sheet_document(web: SignedIn, api: Api, sheet_id: uuid.UUID) -> Response:
    sheet = await api.grades.sheet(sheet_id)
    if not sheet.get("document_id"):
        raise BackendError(404, _("Sổ điểm này chưa có bản đã ký"))
    name = file_name(
        "Sổ điểm đã ký", sheet.get("class_name"), sheet.get("subject"), sheet.get("term_label"), ext="pdf"
    )
    return pdf_response(await api.signing.document_pdf(sheet["document_id"]), name)
