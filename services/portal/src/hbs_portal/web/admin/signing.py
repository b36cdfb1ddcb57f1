"""Ký số (system_admin): certificates with status and expiry; resetting a staff member's signing PIN."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from hbs_portal.clients import BackendError
from hbs_portal.i18n import N_, _, translated
from hbs_portal.models import WebSession
from hbs_portal.web.common import templates
from hbs_portal.web.deps import CheckedForm, SystemAdmin, services_for
from hbs_portal.web.resets import AWAITING
from hbs_shared.names import sorted_by_name
from hbs_shared.roles import SIGNATURE_ROLES, Role

router = APIRouter(include_in_schema=False)

STATUS_LABELS = {
    "valid": N_("Còn hiệu lực"),
    "expired": N_("Hết hạn"),
    "revoked": N_("Đã thu hồi"),
    "not_yet_valid": N_("Chưa có hiệu lực"),
}
CERT_ROLES = {role.value: role.label for role in Role if role in SIGNATURE_ROLES}


async def _page(
    request: Request,
    web: WebSession,
    *,
    error: str | None = None,
    notice: str | None = None,
    status: int = 200,
) -> Response:
    api = services_for(request, web.access_token)
    certificates: list[dict[str, Any]] = await api.signing.certificates()
    staff: list[dict[str, Any]] = await api.identity.staff()
    names = {s["id"]: s["full_name"] for s in staff}
    staff = sorted_by_name(staff, lambda s: s["full_name"])
    return templates.TemplateResponse(
        request,
        "admin/signing.html",
        {
            "web": web,
            "certificates": certificates,
            "names": names,
            "staff": staff,
            "statuses": translated(STATUS_LABELS),
            "cert_roles": translated(CERT_ROLES),
            "error": error,
            "notice": notice,
        },
        status_code=status,
    )


@router.get("/admin/signing", response_class=HTMLResponse)
async def signing_page(request: Request, web: SystemAdmin) -> Response:
    return await _page(request, web)


@router.post("/admin/signing/pin-reset", response_class=HTMLResponse)
async def reset_pin(
    request: Request,
    web: SystemAdmin,
    _form: CheckedForm,
    user_id: Annotated[str, Form(max_length=40)] = "",
    reason: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    """The person sets a new PIN afterwards; signing records who reset it and why."""
    try:
        person = uuid.UUID(user_id)
    except ValueError:
        return await _page(request, web, error=_("Cán bộ: hãy chọn một người trong danh sách."), status=422)
    if len(reason.strip()) < 3:
        return await _page(request, web, error=_("Lý do đặt lại: cần ít nhất 3 ký tự."), status=422)
    api = services_for(request, web.access_token)
    try:
        await api.signing.reset_pin(person, reason.strip())
    except BackendError as error:
        if error.code == "approval_required":
            # A signer's PIN: two people (the office asks, a board member approves).
            await api.identity.request_factor_reset(person, "signing_pin", reason.strip())
            return await _page(request, web, notice=_(AWAITING))
        if error.status in (404, 409, 422):
            return await _page(request, web, error=error.title, status=error.status)
        raise
    return await _page(request, web, notice=_("Đã đặt lại mã PIN ký số; người đó cần đặt mã PIN mới."))
