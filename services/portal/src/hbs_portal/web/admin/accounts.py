"""Tài khoản: staff list, and one account's actions (disable, enable, new password, reset TOTP)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from hbs_portal.clients import BackendError
from hbs_portal.i18n import N_, _, translated
from hbs_portal.models import WebSession
from hbs_portal.web.admin.access import download
from hbs_portal.web.common import templates
from hbs_portal.web.deps import CheckedForm, OfficeUser, services_for
from hbs_portal.web.filenames import file_name
from hbs_portal.web.resets import AWAITING, is_signer
from hbs_shared.names import sorted_by_name
from hbs_shared.roles import STAFF, Role

router = APIRouter(include_in_schema=False)

ROLE_LABELS = {role.value: role.label for role in Role if role in STAFF}
ACTIONS = {
    "disable": N_("Khoá tài khoản"),
    "enable": N_("Mở khoá tài khoản"),
    "password": N_("Cấp mật khẩu ban đầu mới"),
    "slip": N_("Cấp mật khẩu mới và tải phiếu PDF"),
    "totp": N_("Đặt lại xác thực hai lớp"),
    "pin": N_("Đặt lại mã PIN ký số"),
}
# For a signer these actions become a request a second board member must approve (two-person rule).
RESET_FACTORS: dict[str, Literal["password", "totp", "signing_pin"]] = {
    "password": "password",
    "slip": "password",
    "totp": "totp",
    "pin": "signing_pin",
}
templates.env.globals["role_labels"] = translated(ROLE_LABELS)


@router.get("/admin/accounts", response_class=HTMLResponse)
async def staff_list(request: Request, web: OfficeUser) -> Response:
    staff: list[dict[str, Any]] = await services_for(request, web.access_token).identity.staff()
    staff = sorted_by_name(staff, lambda s: s["full_name"])
    return templates.TemplateResponse(
        request, "admin/staff.html", {"web": web, "staff": staff, "error": None, "typed": {}}
    )


async def account_view(
    request: Request,
    web: WebSession,
    account_id: uuid.UUID,
    *,
    error: str | None = None,
    notice: str | None = None,
    issued: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    account: dict[str, Any] = await services_for(request, web.access_token).identity.account(account_id)
    return templates.TemplateResponse(
        request,
        "admin/account.html",
        {
            "web": web,
            "account": account,
            "actions": translated(ACTIONS),
            "error": error,
            "notice": notice,
            "issued": issued,
            "signer": is_signer(account),
        },
        status_code=status,
    )


@router.get("/admin/accounts/{account_id}", response_class=HTMLResponse)
async def account_page(request: Request, web: OfficeUser, account_id: uuid.UUID) -> Response:
    done = request.query_params.get("done", "")
    notice = {
        "created": _("Đã thêm cán bộ. Hãy cấp mật khẩu ban đầu và in phiếu đăng nhập."),
        "roles": _("Đã lưu vai trò."),
        "requested": _(AWAITING),
    }.get(done) or (_("Đã thực hiện: {action}.").format(action=_(ACTIONS[done])) if done in ACTIONS else None)
    return await account_view(request, web, account_id, notice=notice)


@router.post("/admin/accounts/{account_id}/{action}", response_class=HTMLResponse)
async def account_action(
    request: Request,
    web: OfficeUser,
    _form: CheckedForm,
    account_id: uuid.UUID,
    action: str,
    confirm: Annotated[str, Form(max_length=10)] = "",
    reason: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """Each action needs the confirmation box ticked; a new password is shown once, never stored here."""
    if action not in ACTIONS:
        raise BackendError(404, _("Không tìm thấy trang"))
    if confirm != "yes":
        return await account_view(
            request,
            web,
            account_id,
            error=_("Xác nhận: hãy đánh dấu ô xác nhận để {action}.").format(
                action=_(ACTIONS[action]).lower()
            ),
            status=422,
        )
    if action == "disable" and len(reason.strip()) < 3:
        return await account_view(
            request, web, account_id, error=_("Lý do khoá: cần ít nhất 3 ký tự."), status=422
        )
    api = services_for(request, web.access_token)
    if action == "pin":
        # The PIN only signs: resetting it is always a request for a board member's approval.
        if is_signer(await api.identity.account(account_id)):
            return await _request_reset(request, web, account_id, "signing_pin", reason)
        error = _("Mã PIN ký số: chỉ người ký số mới có mã PIN.")
        return await account_view(request, web, account_id, error=error, status=422)
    try:
        if action == "disable":
            await api.identity.disable_account(account_id, reason.strip())
        elif action == "enable":
            await api.identity.enable_account(account_id)
        elif action == "totp":
            await api.identity.reset_totp(account_id)
        elif action == "slip":
            slip = await api.identity.sign_in_slip(account_id)
            owner = await api.identity.account(account_id)
            return download(slip, file_name("Phiếu đăng nhập", owner.get("full_name"), ext="pdf"))
        else:
            issued: dict[str, Any] = (await api.identity.new_initial_password(account_id)).json()
            return await account_view(request, web, account_id, issued=issued)
    except BackendError as error:
        if error.code == "approval_required" and action in RESET_FACTORS:
            # A signer's factor (identity decides: a new account's first password is not a reset):
            # nothing changed; it becomes a request a second board member approves.
            return await _request_reset(request, web, account_id, RESET_FACTORS[action], reason)
        if error.status == 422:
            return await account_view(request, web, account_id, error=error.title, status=422)
        raise
    return RedirectResponse(f"/admin/accounts/{account_id}?done={action}", status_code=303)


async def _request_reset(
    request: Request,
    web: WebSession,
    account_id: uuid.UUID,
    factor: Literal["password", "totp", "signing_pin"],
    reason: str,
) -> Response:
    """A signer's factor: nothing is reset now; a board member other than the requester approves."""
    if len(reason.strip()) < 3:
        error = _("Lý do đặt lại: cần ít nhất 3 ký tự.")
        return await account_view(request, web, account_id, error=error, status=422)
    try:
        await services_for(request, web.access_token).identity.request_factor_reset(
            account_id, factor, reason.strip()
        )
    except BackendError as error:
        if error.status in (403, 409, 422):
            return await account_view(request, web, account_id, error=f"{error.title}.", status=error.status)
        raise
    return RedirectResponse(f"/admin/accounts/{account_id}?done=requested", status_code=303)
