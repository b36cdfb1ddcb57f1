"""Cán bộ: adding a staff member, and changing a staff member's roles (system admins only)."""

from __future__ import annotations

import re
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from hbs_portal.clients import BackendError
from hbs_portal.i18n import _
from hbs_portal.models import WebSession
from hbs_portal.web.admin.accounts import ROLE_LABELS, account_view
from hbs_portal.web.common import templates
from hbs_portal.web.deps import CheckedForm, OfficeUser, SystemAdmin, services_for
from hbs_shared.names import sorted_by_name

router = APIRouter(include_in_schema=False)
_USERNAME = re.compile(r"^[a-zA-Z0-9._-]{3,120}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


async def _staff_page(
    request: Request, web: WebSession, error: str | None, typed: dict[str, Any]
) -> Response:
    staff: list[dict[str, Any]] = await services_for(request, web.access_token).identity.staff()
    staff = sorted_by_name(staff, lambda s: s["full_name"])
    return templates.TemplateResponse(
        request,
        "admin/staff.html",
        {"web": web, "staff": staff, "error": error, "typed": typed},
        status_code=422 if error else 200,
    )


def _roles_problem(roles: list[str]) -> str | None:
    if not roles:
        return _("Vai trò: hãy chọn ít nhất một vai trò.")
    if not set(roles) <= ROLE_LABELS.keys():
        return _("Vai trò: có vai trò không hợp lệ.")
    return None


@router.post("/admin/staff", response_class=HTMLResponse)
async def create_staff(
    request: Request,
    _form: CheckedForm,
    web: OfficeUser,
    username: Annotated[str, Form(max_length=200)] = "",
    full_name: Annotated[str, Form(max_length=300)] = "",
    email: Annotated[str, Form(max_length=300)] = "",
    roles: Annotated[list[str] | None, Form(max_length=10)] = None,
) -> Response:
    """The new person signs in with an initial password issued from their account page."""
    chosen = roles or []
    username, full_name, email = username.strip(), full_name.strip(), email.strip()
    typed = {"username": username, "full_name": full_name, "email": email, "roles": chosen}
    error = None
    if not _USERNAME.match(username):
        error = _("Tên đăng nhập: 3–120 ký tự, chỉ gồm chữ không dấu, số, dấu chấm, gạch ngang, gạch dưới.")
    elif not full_name or len(full_name) > 200:
        error = _("Họ và tên: chưa nhập.")
    elif email and not _EMAIL.match(email):
        error = _("Email: không đúng dạng.")
    else:
        error = _roles_problem(chosen)
    if error:
        return await _staff_page(request, web, error, typed)
    body: dict[str, Any] = {"username": username, "full_name": full_name, "roles": chosen}
    if email:
        body["email"] = email
    try:
        made = await services_for(request, web.access_token).identity.create_staff(body)
    except BackendError as refused:
        if refused.status in (409, 422):
            return await _staff_page(
                request, web, _("Tên đăng nhập hoặc thông tin: {title}.").format(title=refused.title), typed
            )
        raise
    return RedirectResponse(f"/admin/accounts/{made['id']}?done=created", status_code=303)


@router.post("/admin/staff/{staff_id}/roles", response_class=HTMLResponse)
async def change_roles(
    request: Request,
    _form: CheckedForm,
    web: SystemAdmin,
    staff_id: uuid.UUID,
    roles: Annotated[list[str] | None, Form(max_length=10)] = None,
) -> Response:
    chosen = roles or []
    if error := _roles_problem(chosen):
        return await account_view(request, web, staff_id, error=error, status=422)
    try:
        await services_for(request, web.access_token).identity.set_staff_roles(staff_id, chosen)
    except BackendError as refused:
        if refused.status in (409, 422):
            return await account_view(
                request, web, staff_id, error=_("Vai trò: {title}.").format(title=refused.title), status=422
            )
        raise
    return RedirectResponse(f"/admin/accounts/{staff_id}?done=roles", status_code=303)
