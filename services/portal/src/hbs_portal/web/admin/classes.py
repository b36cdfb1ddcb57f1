"""Lớp học và phân công: the classes of the current year, creating one, and who teaches what in a
class (subject teachers, the homeroom teacher), assigned or ended by the office."""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from hbs_portal.clients import BackendError
from hbs_portal.i18n import N_, _, translated
from hbs_portal.models import WebSession
from hbs_portal.web.common import templates
from hbs_portal.web.deps import CheckedForm, OfficeUser, services_for
from hbs_shared.curriculum import SUBJECTS, SUBJECTS_BY_CODE
from hbs_shared.roles import TEACHERS

router = APIRouter(include_in_schema=False)
KINDS = {"subject_teacher": N_("Giảng dạy"), "homeroom_teacher": N_("Chủ nhiệm")}
_LEADING_GRADE = re.compile(r"^(1[0-2])")


async def _classes_page(
    request: Request,
    web: WebSession,
    *,
    error: str | None = None,
    typed: dict[str, str] | None = None,
    notice: str | None = None,
) -> Response:
    api = services_for(request, web.access_token)
    classes = await api.identity.classes_sorted()
    years: list[dict[str, Any]] = await api.identity.school_years()
    current = next((y["name"] for y in years if y.get("current")), years[-1]["name"] if years else "")
    return templates.TemplateResponse(
        request,
        "admin/classes.html",
        {
            "web": web,
            "classes": classes,
            "years": [y["name"] for y in years],
            "current_year": current,
            "typed": typed or {},
            "error": error,
            "notice": notice,
        },
        status_code=422 if error else 200,
    )


@router.get("/admin/classes", response_class=HTMLResponse)
async def classes_page(request: Request, web: OfficeUser) -> Response:
    notice = _("Đã xoá lớp.") if request.query_params.get("done") == "deleted" else None
    return await _classes_page(request, web, notice=notice)


@router.post("/admin/classes", response_class=HTMLResponse)
async def create_class(
    request: Request,
    web: OfficeUser,
    _form: CheckedForm,
    name: Annotated[str, Form(max_length=100)] = "",
    grade_level: Annotated[str, Form(max_length=5)] = "",
    school_year: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    name = name.strip()
    typed = {"name": name, "grade_level": grade_level, "school_year": school_year}
    grade = int(grade_level) if grade_level in ("10", "11", "12") else None
    leading = _LEADING_GRADE.match(name)
    error = None
    if not name or len(name) > 40:
        error = _("Tên lớp: cần từ 1 đến 40 ký tự.")
    elif grade is None:
        error = _("Khối: hãy chọn 10, 11 hoặc 12.")
    elif leading and int(leading.group(1)) != grade:
        error = _("Tên lớp: “{name}” không thuộc khối {grade}.").format(name=name, grade=grade)
    elif not re.fullmatch(r"\d{4}-\d{4}", school_year):
        error = _("Năm học: hãy chọn một năm học.")
    if error or grade is None:
        return await _classes_page(request, web, error=error, typed=typed)
    try:
        made = await services_for(request, web.access_token).identity.create_class(name, grade, school_year)
    except BackendError as refused:
        if refused.status in (409, 422):
            return await _classes_page(
                request, web, error=_("Tên lớp: {title}.").format(title=refused.title), typed=typed
            )
        raise
    return RedirectResponse(f"/admin/classes/{made['id']}", status_code=303)


async def _class_page(
    request: Request,
    web: WebSession,
    class_id: uuid.UUID,
    *,
    error: str | None = None,
    notice: str | None = None,
) -> Response:
    api = services_for(request, web.access_token)
    school_class = await api.identity.school_class(class_id)
    assignments: list[dict[str, Any]] = await api.identity.assignments(class_id)
    staff: list[dict[str, Any]] = await api.identity.staff()
    teachers = sorted(
        (s for s in staff if not s["disabled"] and TEACHERS & set(s["roles"])),
        key=lambda s: s["full_name"],
    )
    assignments.sort(key=lambda a: (a["kind"] != "homeroom_teacher", a["subject_name"] or ""))
    return templates.TemplateResponse(
        request,
        "admin/class.html",
        {
            "web": web,
            "school_class": school_class,
            "assignments": assignments,
            "teachers": teachers,
            "subjects": SUBJECTS,
            "kinds": translated(KINDS),
            "error": error,
            "notice": notice,
        },
        status_code=422 if error else 200,
    )


async def _change(
    request: Request,
    web: WebSession,
    class_id: uuid.UUID,
    call: Awaitable[object],
    *,
    label: str,
    shown: tuple[int, ...],
    done: str,
) -> Response:
    """One change of a class's page: identity's refusals with a `shown` status stay on the page."""
    try:
        await call
    except BackendError as refused:
        if refused.status in shown:
            return await _class_page(request, web, class_id, error=f"{label}: {refused.title}.")
        raise
    return RedirectResponse(f"/admin/classes/{class_id}?done={done}", status_code=303)


@router.get("/admin/classes/{class_id}", response_class=HTMLResponse)
async def class_page(request: Request, web: OfficeUser, class_id: uuid.UUID) -> Response:
    notice = {
        "assigned": _("Đã phân công."),
        "ended": _("Đã kết thúc phân công."),
        "renamed": _("Đã đổi tên lớp."),
    }.get(request.query_params.get("done", ""))
    return await _class_page(request, web, class_id, notice=notice)


@router.post("/admin/classes/{class_id}/assignments", response_class=HTMLResponse)
async def assign(
    request: Request,
    web: OfficeUser,
    _form: CheckedForm,
    class_id: uuid.UUID,
    kind: Annotated[str, Form(max_length=20)] = "",
    teacher_id: Annotated[str, Form(max_length=40)] = "",
    subject_code: Annotated[str, Form(max_length=40)] = "",
    replace: Annotated[str, Form(max_length=5)] = "",
) -> Response:
    """A subject teacher needs a subject; "replace" ends the current one of that class (and subject)."""
    error = None
    try:
        teacher = str(uuid.UUID(teacher_id))
    except ValueError:
        teacher, error = "", _("Giáo viên: hãy chọn một giáo viên.")
    if kind not in KINDS:
        error = _("Loại phân công: hãy chọn Giảng dạy hoặc Chủ nhiệm.")
    elif kind == "subject_teacher" and subject_code not in SUBJECTS_BY_CODE:
        error = _("Môn: hãy chọn một môn học.")
    if error:
        return await _class_page(request, web, class_id, error=error)
    body: dict[str, Any] = {
        "kind": kind,
        "teacher_id": teacher,
        "class_id": str(class_id),
        "subject_code": subject_code if kind == "subject_teacher" else None,
        "replace": replace == "yes",
    }
    call = services_for(request, web.access_token).identity.assign(body)
    return await _change(
        request, web, class_id, call, label=_("Phân công"), shown=(409, 422), done="assigned"
    )


@router.post("/admin/classes/{class_id}/assignments/{assignment_id}/end", response_class=HTMLResponse)
async def end_assignment(
    request: Request,
    web: OfficeUser,
    _form: CheckedForm,
    class_id: uuid.UUID,
    assignment_id: uuid.UUID,
) -> Response:
    call = services_for(request, web.access_token).identity.unassign(assignment_id)
    return await _change(request, web, class_id, call, label=_("Phân công"), shown=(409,), done="ended")


@router.post("/admin/classes/{class_id}/rename", response_class=HTMLResponse)
async def rename_class(
    request: Request,
    web: OfficeUser,
    _form: CheckedForm,
    class_id: uuid.UUID,
    name: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Identity renames it and tells grades, which keeps the class's sheets under the new name."""
    if not name.strip() or len(name.strip()) > 40:
        return await _class_page(request, web, class_id, error=_("Tên mới: cần từ 1 đến 40 ký tự."))
    call = services_for(request, web.access_token).identity.rename_class(class_id, name.strip())
    return await _change(request, web, class_id, call, label=_("Tên mới"), shown=(409, 422), done="renamed")


@router.post("/admin/classes/{class_id}/delete", response_class=HTMLResponse)
async def delete_class(
    request: Request, web: OfficeUser, _form: CheckedForm, class_id: uuid.UUID
) -> Response:
    """Only a class made by mistake: identity refuses one that anything refers to, and says what."""
    try:
        await services_for(request, web.access_token).identity.delete_class(class_id)
    except BackendError as refused:
        if refused.status == 409:
            detail = str(refused.problem.get("detail") or "")
            return await _class_page(request, web, class_id, error=f"{refused.title}. {detail}".strip())
        raise
    return RedirectResponse("/admin/classes?done=deleted", status_code=303)
