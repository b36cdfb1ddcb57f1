"""Ký tất cả sổ điểm đã sẵn sàng: the subject teacher's preview of every own sheet ready to sign
(and of the others with the reason), one PIN for all of them, then the batch's progress."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from hbs_portal.clients import BackendError
from hbs_portal.i18n import _
from hbs_portal.models import WebSession
from hbs_portal.web.common import explain, templates
from hbs_portal.web.deps import Api, CheckedForm, Services, SignedIn
from hbs_portal.web.sheets import pin_status_or_guess

router = APIRouter(include_in_schema=False)
MAX_SHEETS = 500


async def _preview(
    request: Request, web: WebSession, api: Services, *, error: str | None = None, status: int = 200
) -> Response:
    preview = await api.grades.ready_to_sign()
    pin = await pin_status_or_guess(api, {"set": True, "locked": False})
    return templates.TemplateResponse(
        request,
        "grades/sign_all.html",
        {"web": web, "preview": preview, "pin": pin, "error": error},
        status_code=status,
    )


def _chosen(values: list[str]) -> list[tuple[str, int]] | None:
    """ "id:version" per ticked sheet, as the page showed it; None when one is malformed."""
    out: list[tuple[str, int]] = []
    for value in values[:MAX_SHEETS]:
        sheet_id, _, version = value.partition(":")
        try:
            out.append((str(uuid.UUID(sheet_id)), int(version)))
        except ValueError:
            return None
    return out


@router.get("/sheets/sign-all", response_model=None)
async def sign_all_page(request: Request, web: SignedIn, api: Api) -> Response:
    return await _preview(request, web, api)


@router.post("/sheets/sign-all", response_model=None)
async def sign_all(
    request: Request,
    web: SignedIn,
    api: Api,
    _form: CheckedForm,
    sheet: Annotated[list[str] | None, Form(max_length=MAX_SHEETS)] = None,
    pin: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    """One activation for every ticked sheet, then one request for all of them. A wrong PIN or a
    sheet grades refuses changes nothing: the preview again, with the message."""
    chosen = _chosen(sheet or [])
    if chosen is None:
        return await _preview(
            request,
            web,
            api,
            error=_("Sổ điểm: danh sách gửi lên không hợp lệ, xin tải lại trang."),
            status=422,
        )
    if not chosen:
        return await _preview(request, web, api, error=_("Sổ điểm: chưa chọn sổ điểm nào để ký."), status=422)
    if not pin:
        return await _preview(request, web, api, error=_("Mã PIN ký số: chưa nhập."), status=422)
    try:
        # The PIN activates exactly these sheets first: a wrong PIN asks grades for nothing.
        activation_id = await api.signing.activate(pin, subject_ids=[sheet_id for sheet_id, _ in chosen])
    except BackendError as failed:
        return await _preview(request, web, api, error=_pin_message(failed), status=failed.status)
    try:
        batch = await api.grades.sign_sheets(chosen, activation_id)
    except BackendError as failed:
        return await _preview(request, web, api, error=_sheet_message(failed), status=failed.status)
    return RedirectResponse(f"/sheets/sign-all/{batch['batch_id']}", status_code=303)


def _pin_message(failed: BackendError) -> str:
    text = explain(failed)
    return text if text.startswith(_("Mã PIN ký số")) else _("Mã PIN ký số: {text}").format(text=text)


def _sheet_message(failed: BackendError) -> str:
    """Grades names the sheet it refused (class, subject, semester) and the students missing scores."""
    missing: list[dict[str, Any]] = failed.problem.get("missing") or []
    names = "; ".join(f"{m['full_name']}: {', '.join(m['column_labels'])}" for m in missing[:20])
    return f"{failed.title}. {names}" if names else failed.title


@router.get("/sheets/sign-all/{batch_id}", response_model=None)
async def batch_page(request: Request, web: SignedIn, api: Api, batch_id: uuid.UUID) -> Response:
    """The batch's sheets until none is being signed (the page reloads itself every 2 s until then)."""
    batch = await api.grades.sheet_batch(batch_id)
    return templates.TemplateResponse(request, "grades/sign_all_batch.html", {"web": web, "batch": batch})
