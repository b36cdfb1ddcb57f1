"""Xuất dữ liệu (Excel lists, same columns as the import templates) and sign-in slips per class."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from hbs_portal.clients import BackendError
from hbs_portal.i18n import N_, _, translated
from hbs_portal.models import WebSession
from hbs_portal.web.admin.access import download
from hbs_portal.web.admin.imports import KINDS, Kind
from hbs_portal.web.common import templates
from hbs_portal.web.deps import CheckedForm, OfficeUser, services_for
from hbs_portal.web.filenames import file_name

router = APIRouter(include_in_schema=False)
SLIP_OWNERS = {"students": N_("Học sinh"), "parents": N_("Phụ huynh")}


async def _page(request: Request, web: WebSession, error: str | None = None, status: int = 200) -> Response:
    classes = await services_for(request, web.access_token).identity.classes_sorted()
    return templates.TemplateResponse(
        request,
        "admin/export.html",
        {
            "web": web,
            "kinds": translated(KINDS),
            "owners": translated(SLIP_OWNERS),
            "classes": classes,
            "error": error,
        },
        status_code=status,
    )


@router.get("/admin/export", response_class=HTMLResponse)
async def export_page(request: Request, web: OfficeUser) -> Response:
    return await _page(request, web)


@router.get("/admin/export/{kind}")
async def export_list(request: Request, web: OfficeUser, kind: Kind) -> Response:
    """This school year's list as .xlsx (identity records the download in the audit log)."""
    answer = await services_for(request, web.access_token).identity.export(kind)
    return download(answer, file_name("Danh sách", KINDS[kind], ext="xlsx"))


async def _chosen_class(
    request: Request, web: WebSession, class_id: str, who: str
) -> tuple[dict[str, Any] | None, Response | None]:
    """The class the slips are for, or the export page again saying which field is wrong."""
    try:
        chosen = uuid.UUID(class_id)
    except ValueError:
        return None, await _page(request, web, _("Lớp: hãy chọn một lớp trong danh sách."), 422)
    if who not in SLIP_OWNERS:
        return None, await _page(request, web, _("Phiếu cho: hãy chọn học sinh hoặc phụ huynh."), 422)
    try:
        found = await services_for(request, web.access_token).identity.school_class(chosen)
    except BackendError as error:
        if error.status == 404:
            return None, await _page(request, web, _("Lớp: không tìm thấy lớp này."), 404)
        raise
    return found, None


def _confirm_page(
    request: Request, web: WebSession, klass: dict[str, Any], who: str, error: str | None, status: int
) -> Response:
    return templates.TemplateResponse(
        request,
        "admin/slips_confirm.html",
        {"web": web, "klass": klass, "who": who, "owner_label": _(SLIP_OWNERS[who]), "error": error},
        status_code=status,
    )


@router.get("/admin/slips", response_class=HTMLResponse)
async def confirm_slips(
    request: Request,
    web: OfficeUser,
    class_id: Annotated[str, Query(max_length=40)] = "",
    who: Annotated[str, Query(max_length=20)] = "students",
) -> Response:
    """Ask first: the class by name and what happens to its passwords (the id only in the URL)."""
    if not class_id:
        return RedirectResponse("/admin/export", status_code=303)
    klass, refused = await _chosen_class(request, web, class_id, who)
    if refused is not None or klass is None:
        return refused or RedirectResponse("/admin/export", status_code=303)
    return _confirm_page(request, web, klass, who, None, 200)


@router.post("/admin/slips")
async def class_slips(
    request: Request,
    web: OfficeUser,
    _form: CheckedForm,
    class_id: Annotated[str, Form(max_length=40)] = "",
    who: Annotated[str, Form(max_length=20)] = "students",
    confirm: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """A PDF of sign-in slips: every slip carries a new initial password, so the old ones stop working."""
    klass, refused = await _chosen_class(request, web, class_id, who)
    if refused is not None or klass is None:
        return refused or RedirectResponse("/admin/export", status_code=303)
    if confirm != "yes":
        error = _("Xác nhận: hãy bấm nút xác nhận trên trang này để cấp mật khẩu mới cho cả lớp.")
        return _confirm_page(request, web, klass, who, error, 422)
    owners: Literal["students", "parents"] = "students" if who == "students" else "parents"
    api = services_for(request, web.access_token)
    answer = await api.identity.class_sign_in_slips(uuid.UUID(class_id), owners)
    return download(answer, file_name("Phiếu đăng nhập", SLIP_OWNERS[who], "lớp", klass["name"], ext="pdf"))
