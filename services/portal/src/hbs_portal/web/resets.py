"""The two-person rule for a signer's factors (mật khẩu, xác thực hai lớp, mã PIN ký số): the office
asks (accounts pages), a board member other than the requester and the owner approves or rejects
here, and the owner is told at their next sign-in (security notices)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from hbs_portal.clients import BackendError
from hbs_portal.i18n import N_, _
from hbs_portal.web.common import home_for, templates
from hbs_portal.web.deps import Api, BoardMember, CheckedForm, SignedIn
from hbs_portal.web.scores import local_time
from hbs_shared.roles import SIGNERS

router = APIRouter(include_in_schema=False)

# Labels and notices are translated where shown (hbs_portal.i18n).
FACTORS = {"password": N_("Mật khẩu"), "totp": N_("Xác thực hai lớp"), "signing_pin": N_("Mã PIN ký số")}
AWAITING = N_(
    "Đã gửi yêu cầu đặt lại; yêu cầu chờ Hiệu trưởng hoặc Phó hiệu trưởng (không phải người gửi) phê duyệt."
)
DONE = {"approved": N_("Đã phê duyệt yêu cầu đặt lại."), "rejected": N_("Đã từ chối yêu cầu đặt lại.")}


def factor_label(factor: str) -> str:
    return _(FACTORS[factor]) if factor in FACTORS else factor


templates.env.globals["factor_label"] = factor_label


def is_signer(account: dict[str, Any]) -> bool:
    """An account whose factors can cause a signature: resetting them needs a second person."""
    return bool(SIGNERS & set(account.get("roles", [])))


def _when(stamp: str | None) -> str:
    return local_time(stamp) if stamp else ""


def _page(
    request: Request, web: Any, resets: list[dict[str, Any]], *, error: str | None = None, status: int = 200
) -> Response:
    return templates.TemplateResponse(
        request,
        "resets.html",
        {
            "web": web,
            "resets": [{**r, "when": _when(r.get("requested_at"))} for r in resets],
            "notice": _(DONE.get(request.query_params.get("done", ""), "")) or None,
            "error": error,
        },
        status_code=status,
    )


@router.get("/factor-resets", response_class=HTMLResponse)
async def pending_resets(request: Request, web: BoardMember, api: Api) -> Response:
    """Phê duyệt đặt lại: the requests waiting for a board member."""
    return _page(request, web, await api.identity.factor_resets("pending"))


@router.post("/factor-resets/{reset_id}/approve", response_class=HTMLResponse)
async def approve(
    request: Request,
    web: BoardMember,
    api: Api,
    _form: CheckedForm,
    reset_id: uuid.UUID,
    confirm: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """Approving a password reset answers the new initial password once: shown on a slip to print."""
    if confirm != "yes":
        error = _("Xác nhận: hãy đánh dấu ô xác nhận để phê duyệt.")
        return _page(request, web, await api.identity.factor_resets("pending"), error=error, status=422)
    try:
        decided = await api.identity.approve_factor_reset(reset_id)
    except BackendError as refused:
        if refused.status in (403, 409, 422):
            pending = await api.identity.factor_resets("pending")
            return _page(request, web, pending, error=f"{refused.title}.", status=refused.status)
        raise
    if decided.get("initial_password"):
        slip = templates.TemplateResponse(request, "reset_slip.html", {"web": web, "reset": decided})
        slip.headers["cache-control"] = "no-store"  # a password: never kept by any cache
        return slip
    return RedirectResponse("/factor-resets?done=approved", status_code=303)


@router.post("/factor-resets/{reset_id}/reject", response_class=HTMLResponse)
async def reject(
    request: Request,
    web: BoardMember,
    api: Api,
    _form: CheckedForm,
    reset_id: uuid.UUID,
    reason: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    if len(reason.strip()) < 3:
        error = _("Lý do từ chối: cần ít nhất 3 ký tự.")
        return _page(request, web, await api.identity.factor_resets("pending"), error=error, status=422)
    try:
        await api.identity.reject_factor_reset(reset_id, reason.strip())
    except BackendError as refused:
        if refused.status in (403, 409, 422):
            pending = await api.identity.factor_resets("pending")
            return _page(request, web, pending, error=f"{refused.title}.", status=refused.status)
        raise
    return RedirectResponse("/factor-resets?done=rejected", status_code=303)


@router.get("/security-notices", response_class=HTMLResponse)
async def notices(request: Request, web: SignedIn, api: Api) -> Response:
    """After sign-in: what was reset on this account, by whom, approved by whom; "Đã hiểu" acks."""
    me = await api.identity.me()
    shown = me.get("security_notices") or []
    if not shown:
        return RedirectResponse(home_for(web.roles), status_code=303)
    return templates.TemplateResponse(
        request,
        "security_notices.html",
        {"web": web, "notices": [{**n, "when": _when(n.get("approved_at"))} for n in shown]},
    )


@router.post("/security-notices/{reset_id}/ack", response_class=HTMLResponse)
async def acknowledge(web: SignedIn, api: Api, _form: CheckedForm, reset_id: uuid.UUID) -> Response:
    await api.identity.ack_security_notice(reset_id)
    return RedirectResponse("/security-notices", status_code=303)
