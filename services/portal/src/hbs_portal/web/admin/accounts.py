"""Tài khoản: staff list, and one account's actions (disable, enable, new password, reset TOTP)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from hbs_portal.models import WebSession
from hbs_portal.web.admin.access import STALE_FORM, Office, admin_session, download, failed
from hbs_portal.web.backends import BackendError
from hbs_portal.web.common import templates
from hbs_portal.web.sessions import csrf_ok

router = APIRouter(include_in_schema=False)

ROLE_LABELS = {
    "principal": "Hiệu trưởng",
    "vice_principal": "Phó hiệu trưởng",
    "subject_teacher": "Giáo viên bộ môn",
    "homeroom_teacher": "Giáo viên chủ nhiệm",
    "office_admin": "Văn phòng",
    "system_admin": "Quản trị hệ thống",
}
ACTIONS = {
    "disable": "Khoá tài khoản",
    "enable": "Mở khoá tài khoản",
    "password": "Cấp mật khẩu ban đầu mới",
    "slip": "Cấp mật khẩu mới và tải phiếu PDF",
    "totp": "Đặt lại xác thực hai lớp",
}
templates.env.globals["role_labels"] = ROLE_LABELS


@router.get("/admin/accounts", response_class=HTMLResponse)
async def staff_list(request: Request) -> Response:
    web = await admin_session(request)
    if isinstance(web, Response):
        return web
    try:
        staff: list[dict[str, Any]] = (await Office(request, web).identity("GET", "/staff")).json()
    except BackendError as error:
        return failed(request, web, error)
    staff.sort(key=lambda s: s["full_name"])
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
    try:
        account: dict[str, Any] = (
            await Office(request, web).identity("GET", f"/accounts/{account_id}")
        ).json()
    except BackendError as refused:
        return failed(request, web, refused)
    return templates.TemplateResponse(
        request,
        "admin/account.html",
        {
            "web": web,
            "account": account,
            "actions": ACTIONS,
            "error": error,
            "notice": notice,
            "issued": issued,
        },
        status_code=status,
    )


@router.get("/admin/accounts/{account_id}", response_class=HTMLResponse)
async def account_page(request: Request, account_id: uuid.UUID) -> Response:
    web = await admin_session(request)
    if isinstance(web, Response):
        return web
    done = request.query_params.get("done", "")
    notice = {
        "created": "Đã thêm cán bộ. Hãy cấp mật khẩu ban đầu và in phiếu đăng nhập.",
        "roles": "Đã lưu vai trò.",
    }.get(done) or (f"Đã thực hiện: {ACTIONS[done]}." if done in ACTIONS else None)
    return await account_view(request, web, account_id, notice=notice)


@router.post("/admin/accounts/{account_id}/{action}", response_class=HTMLResponse)
async def account_action(
    request: Request,
    account_id: uuid.UUID,
    action: str,
    csrf: Annotated[str, Form(max_length=64)] = "",
    confirm: Annotated[str, Form(max_length=10)] = "",
    reason: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """Each action needs the confirmation box ticked; a new password is shown once, never stored here."""
    web = await admin_session(request)
    if isinstance(web, Response):
        return web
    if action not in ACTIONS:
        return failed(request, web, BackendError(404, "Không tìm thấy trang"))
    if not csrf_ok(web, csrf):
        return await account_view(request, web, account_id, error=STALE_FORM, status=403)
    if confirm != "yes":
        return await account_view(
            request,
            web,
            account_id,
            error=f"Xác nhận: hãy đánh dấu ô xác nhận để {ACTIONS[action].lower()}.",
            status=422,
        )
    if action == "disable" and len(reason.strip()) < 3:
        return await account_view(
            request, web, account_id, error="Lý do khoá: cần ít nhất 3 ký tự.", status=422
        )
    office = Office(request, web)
    try:
        if action == "disable":
            await office.identity("POST", f"/accounts/{account_id}/disable", json={"reason": reason.strip()})
        elif action == "enable":
            await office.identity("POST", f"/accounts/{account_id}/enable")
        elif action == "totp":
            await office.identity("POST", f"/accounts/{account_id}/totp/reset")
        elif action == "slip":
            slip = await office.identity("POST", f"/accounts/{account_id}/sign-in-slip")
            return download(slip, f"phieu-dang-nhap-{account_id}.pdf")
        else:
            issued: dict[str, Any] = (
                await office.identity("POST", f"/accounts/{account_id}/password")
            ).json()
            return await account_view(request, web, account_id, issued=issued)
    except BackendError as error:
        if error.status == 422:
            return await account_view(request, web, account_id, error=error.title, status=422)
        return failed(request, web, error)
    return RedirectResponse(f"/admin/accounts/{account_id}?done={action}", status_code=303)
