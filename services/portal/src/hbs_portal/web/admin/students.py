"""Học sinh: search (by POST, names never in URLs), class lists, a student's record, its versioned
edits with a reason, enrolment (move class, leave), linked parents, and creating a student."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from hbs_portal.clients import BackendError
from hbs_portal.i18n import N_, _, translated
from hbs_portal.models import WebSession
from hbs_portal.web.admin.history import with_changes
from hbs_portal.web.common import STALE_FORM, templates
from hbs_portal.web.deps import CheckedForm, OfficeUser, services_for
from hbs_shared.display import school_today

router = APIRouter(include_in_schema=False)

# (field, Vietnamese label, required on creation)
FIELDS: tuple[tuple[str, str, bool], ...] = (
    ("national_id", N_("Mã định danh"), True),
    ("full_name", N_("Họ và tên"), True),
    ("date_of_birth", N_("Ngày sinh"), True),
    ("gender", N_("Giới tính"), True),
    ("birthplace", N_("Nơi sinh"), True),
    ("ethnicity", N_("Dân tộc"), False),
    ("nationality", N_("Quốc tịch"), False),
    ("address", N_("Địa chỉ"), False),
    ("citizen_id", N_("Số CCCD"), False),
    ("father_name", N_("Họ tên cha"), False),
    ("father_occupation", N_("Nghề nghiệp cha"), False),
    ("mother_name", N_("Họ tên mẹ"), False),
    ("mother_occupation", N_("Nghề nghiệp mẹ"), False),
    ("guardian_name", N_("Họ tên người giám hộ"), False),
    ("guardian_occupation", N_("Nghề nghiệp người giám hộ"), False),
    ("policy_group", N_("Đối tượng chính sách"), False),
)
LABELS = {name: label for name, label, _ in FIELDS} | {
    "disability": N_("Khuyết tật"),
    "reason": N_("Lý do"),
    "class_id": N_("Lớp"),
    "enrolled_on": N_("Ngày vào lớp"),
    "left_on": N_("Ngày rời trường"),
    "expected_version": N_("Phiên bản"),
    "q": N_("Tìm kiếm"),
    "phone": N_("Số điện thoại"),
    "username": N_("Tên đăng nhập"),
}
CLEARABLE = frozenset(
    {
        "citizen_id",
        "father_name",
        "father_occupation",
        "mother_name",
        "mother_occupation",
        "guardian_name",
        "guardian_occupation",
        "policy_group",
    }
)
GENDERS = {"male": N_("Nam"), "female": N_("Nữ")}
LEAVE_REASONS = {
    "transferred": N_("Chuyển trường"),
    "dropped_out": N_("Thôi học"),
    "graduated": N_("Tốt nghiệp"),
    "other": N_("Lý do khác"),
}
RELATIONSHIPS = {"father": N_("Cha"), "mother": N_("Mẹ"), "guardian": N_("Người giám hộ")}
_NATIONAL_ID = re.compile(r"^\d{10}$|^\d{12}$")
_CITIZEN_ID = re.compile(r"^\d{12}$")
MAX_TEXT = 300

templates.env.globals.update(
    genders=translated(GENDERS),
    leave_reasons=translated(LEAVE_REASONS),
    relationships=translated(RELATIONSHIPS),
)


def shown_fields() -> list[tuple[str, str, bool]]:
    """The personal fields with their labels in the reader's language."""
    return [(name, _(label), required) for name, label, required in FIELDS]


class FormProblem(Exception):
    """A form value the portal refuses before calling identity; the message names the field."""


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    text = value.strip() if isinstance(value, str) else ""
    if len(text) > MAX_TEXT:
        raise FormProblem(_("{label}: quá {n} ký tự.").format(label=_(LABELS.get(name, name)), n=MAX_TEXT))
    return text


def _date(form: FormData, name: str, required: bool = True) -> str | None:
    """dd/mm/yyyy as typed, or yyyy-mm-dd from a date picker; identity takes ISO dates."""
    text = _text(form, name)
    if not text:
        if required:
            raise FormProblem(_("{label}: chưa nhập.").format(label=_(LABELS[name])))
        return None
    for pattern in ("%d/%m/%Y", "%Y-%m-%d"):
        try:
            return datetime.strptime(text, pattern).date().isoformat()
        except ValueError:
            continue
    raise FormProblem(_("{label}: cần dạng ngày/tháng/năm, ví dụ 14/03/2010.").format(label=_(LABELS[name])))


def _personal(form: FormData, creating: bool) -> dict[str, Any]:
    """The personal fields of the form, checked; empty optional ones are None."""
    values: dict[str, Any] = {}
    for name, label, required in FIELDS:
        if name == "date_of_birth":
            values[name] = _date(form, name)
            continue
        text = _text(form, name)
        if required and not text:
            raise FormProblem(_("{label}: chưa nhập.").format(label=_(label)))
        values[name] = text or None
    if values["gender"] not in GENDERS:
        raise FormProblem(_("Giới tính: hãy chọn Nam hoặc Nữ."))
    if not _NATIONAL_ID.match(values["national_id"]):
        raise FormProblem(_("Mã định danh: cần 10 hoặc 12 chữ số."))
    if values["citizen_id"] and not _CITIZEN_ID.match(values["citizen_id"]):
        raise FormProblem(_("Số CCCD: cần đúng 12 chữ số."))
    values["disability"] = form.get("disability") == "yes"
    if creating:
        # Identity's defaults apply to what is left empty on creation.
        return {k: v for k, v in values.items() if v is not None}
    # On an edit an empty optional field is cleared; the others cannot be emptied.
    values["address"] = values["address"] or ""
    return {k: v for k, v in values.items() if v is not None or k in CLEARABLE}


def _explain(error: BackendError) -> str:
    """Identity's refusal with the Vietnamese name of the field it names."""
    errors = error.problem.get("errors")
    if error.status == 422 and isinstance(errors, list) and errors:
        names = [LABELS.get(str(e.get("field", "")).split(".")[-1], "") for e in errors]
        named = [_(n) for n in names if n]
        return _("{fields}: không hợp lệ.").format(fields=", ".join(named) or _("Dữ liệu"))
    field = LABELS.get(str(error.problem.get("field", "")))
    return f"{_(field)}: {error.title}." if field else error.title


def _list_page(
    request: Request,
    web: WebSession,
    classes: list[dict[str, Any]],
    *,
    students: list[dict[str, Any]] | None = None,
    total: int = 0,
    heading: str | None = None,
    q: str = "",
    error: str | None = None,
    status: int = 200,
) -> Response:
    return templates.TemplateResponse(
        request,
        "admin/students.html",
        {
            "web": web,
            "classes": classes,
            "students": students,
            "total": total,
            "heading": heading,
            "q": q,
            "error": error,
        },
        status_code=status,
    )


@router.get("/admin/students", response_class=HTMLResponse)
async def students_home(request: Request, web: OfficeUser) -> Response:
    classes = await services_for(request, web.access_token).identity.classes_sorted()
    return _list_page(request, web, classes)


@router.post("/admin/students/search", response_class=HTMLResponse)
async def search(request: Request, form: CheckedForm, web: OfficeUser) -> Response:
    """Identity's POST /students/search: the name typed stays in the request body."""
    api = services_for(request, web.access_token)
    try:
        classes = await api.identity.classes_sorted()
        q = _text(form, "q")[:100]
        if not q:
            return _list_page(
                request, web, classes, error=_("Tìm kiếm: hãy nhập họ tên hoặc mã định danh."), status=422
            )
        within = _text(form, "class_id")
        if within and within not in {c["id"] for c in classes}:
            return _list_page(
                request, web, classes, error=_("Lớp: hãy chọn một lớp trong danh sách."), status=422
            )
        query = {"q": q, "class_id": within or None, "limit": 100, "offset": 0}
        page = await api.identity.search_students(query)
    except FormProblem as problem:
        return _list_page(request, web, [], error=str(problem), status=422)
    except BackendError:
        raise
    return _list_page(
        request, web, classes, students=page["items"], total=page["total"], heading=_("Kết quả tìm kiếm"), q=q
    )


@router.get("/admin/students/class/{class_id}", response_class=HTMLResponse)
async def class_list(request: Request, web: OfficeUser, class_id: uuid.UUID) -> Response:
    api = services_for(request, web.access_token)
    classes = await api.identity.classes_sorted()
    chosen = next((c for c in classes if c["id"] == str(class_id)), None)
    if chosen is None:
        raise BackendError(404, _("Không tìm thấy lớp"))
    page = await api.identity.students_of_class(class_id)
    return _list_page(
        request,
        web,
        classes,
        students=page["items"],
        total=page["total"],
        heading=_("Lớp {name} ({year})").format(name=chosen["name"], year=chosen["school_year"]),
    )


async def _student_page(
    request: Request,
    web: WebSession,
    student_id: uuid.UUID,
    *,
    error: str | None = None,
    notice: str | None = None,
    status: int = 200,
) -> Response:
    api = services_for(request, web.access_token)
    student = await api.identity.student(student_id)
    versions = await api.identity.student_part(student_id, "versions")
    enrolments = await api.identity.student_part(student_id, "enrolments")
    parents = await api.identity.student_part(student_id, "parents")
    classes = await api.identity.classes_sorted()
    return templates.TemplateResponse(
        request,
        "admin/student.html",
        {
            "web": web,
            "student": student,
            "versions": with_changes(versions, translated(LABELS)),
            "enrolments": enrolments,
            "parents": parents,
            "classes": classes,
            "fields": shown_fields(),
            "labels": translated(LABELS),
            "today": school_today().isoformat(),
            "error": error,
            "notice": notice,
        },
        status_code=status,
    )


@router.get("/admin/students/new", response_class=HTMLResponse)
async def new_student_form(request: Request, web: OfficeUser) -> Response:
    return await _new_page(request, web, {})


async def _new_page(
    request: Request, web: WebSession, values: dict[str, Any], error: str | None = None, status: int = 200
) -> Response:
    classes = await services_for(request, web.access_token).identity.classes_sorted()
    return templates.TemplateResponse(
        request,
        "admin/student_new.html",
        {"web": web, "classes": classes, "fields": shown_fields(), "values": values, "error": error},
        status_code=status,
    )


@router.post("/admin/students/new", response_class=HTMLResponse)
async def create_student(request: Request, form: CheckedForm, web: OfficeUser) -> Response:
    typed = {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf"}
    try:
        body = _personal(form, creating=True)
        chosen = _text(form, "class_id")
        if chosen:
            body["class_id"] = str(uuid.UUID(chosen))
            body["enrolled_on"] = _date(form, "enrolled_on")
    except FormProblem as problem:
        return await _new_page(request, web, typed, str(problem), 422)
    except ValueError:
        return await _new_page(request, web, typed, _("Lớp: hãy chọn một lớp trong danh sách."), 422)
    try:
        made = await services_for(request, web.access_token).identity.create_student(body)
    except BackendError as error:
        if error.status in (409, 422):
            return await _new_page(request, web, typed, _explain(error), error.status)
        raise
    return RedirectResponse(f"/admin/students/{made['id']}?done=created", status_code=303)


@router.get("/admin/students/{student_id}", response_class=HTMLResponse)
async def student_page(request: Request, web: OfficeUser, student_id: uuid.UUID) -> Response:
    done = {
        "created": _("Đã thêm học sinh."),
        "updated": _("Đã lưu thay đổi (một phiên bản mới)."),
        "moved": _("Đã chuyển lớp."),
        "left": _("Đã ghi nhận học sinh rời trường."),
        "parent": _("Đã thêm phụ huynh và liên kết với học sinh."),
        "unlinked": _("Đã bỏ liên kết phụ huynh."),
    }.get(request.query_params.get("done", ""))
    return await _student_page(request, web, student_id, notice=done)


@router.post("/admin/students/{student_id}/edit", response_class=HTMLResponse)
async def edit_student(
    request: Request, form: CheckedForm, web: OfficeUser, student_id: uuid.UUID
) -> Response:
    """Only the fields that changed are sent; identity keeps the old values as a version with the reason."""
    api = services_for(request, web.access_token)
    try:
        values = _personal(form, creating=False)
        reason = _text(form, "reason")
        if len(reason) < 3:
            raise FormProblem(_("Lý do thay đổi: cần ít nhất 3 ký tự."))
        version = _text(form, "expected_version")
        if not version.isdigit():
            raise FormProblem(_(STALE_FORM))
    except FormProblem as problem:
        return await _student_page(request, web, student_id, error=str(problem), status=422)
    try:
        current = await api.identity.student(student_id)
        changed = {
            k: v for k, v in values.items() if v != current.get(k) and not (v is None and not current.get(k))
        }
        if not changed:
            return await _student_page(
                request, web, student_id, error=_("Không có thông tin nào thay đổi."), status=422
            )
        await api.identity.update_student(
            student_id, {**changed, "reason": reason, "expected_version": int(version)}
        )
    except BackendError as error:
        if error.status in (409, 422):
            return await _student_page(request, web, student_id, error=_explain(error), status=error.status)
        raise
    return RedirectResponse(f"/admin/students/{student_id}?done=updated", status_code=303)


@router.post("/admin/students/{student_id}/move", response_class=HTMLResponse)
async def move_student(
    request: Request, form: CheckedForm, web: OfficeUser, student_id: uuid.UUID
) -> Response:
    try:
        target = str(uuid.UUID(_text(form, "class_id")))
        on = _date(form, "enrolled_on")
    except FormProblem as problem:
        return await _student_page(request, web, student_id, error=str(problem), status=422)
    except ValueError:
        return await _student_page(request, web, student_id, error=_("Lớp: hãy chọn một lớp."), status=422)
    try:
        await services_for(request, web.access_token).identity.enrol(student_id, target, on)
    except BackendError as error:
        if error.status in (409, 422):
            return await _student_page(request, web, student_id, error=_explain(error), status=error.status)
        raise
    return RedirectResponse(f"/admin/students/{student_id}?done=moved", status_code=303)


@router.post("/admin/students/{student_id}/leave", response_class=HTMLResponse)
async def student_leaves(
    request: Request, form: CheckedForm, web: OfficeUser, student_id: uuid.UUID
) -> Response:
    try:
        on = _date(form, "left_on")
        reason = _text(form, "reason")
        if reason not in LEAVE_REASONS:
            raise FormProblem(_("Lý do rời trường: hãy chọn một lý do."))
        if form.get("confirm") != "yes":
            raise FormProblem(_("Xác nhận: hãy đánh dấu ô xác nhận học sinh rời trường."))
    except FormProblem as problem:
        return await _student_page(request, web, student_id, error=str(problem), status=422)
    try:
        await services_for(request, web.access_token).identity.leave(student_id, on, reason)
    except BackendError as error:
        if error.status in (409, 422):
            return await _student_page(request, web, student_id, error=_explain(error), status=error.status)
        raise
    return RedirectResponse(f"/admin/students/{student_id}?done=left", status_code=303)


def _phone(text: str) -> str | None:
    """A Vietnamese mobile number as identity stores it (0 and nine digits), or None if malformed."""
    digits = re.sub(r"[\s.\-()]", "", text)
    if digits.startswith("+84"):
        digits = "0" + digits[3:]
    return digits if re.fullmatch(r"0[0-9]{9}", digits) else None


@router.post("/admin/students/{student_id}/parents", response_class=HTMLResponse)
async def add_parent(request: Request, form: CheckedForm, web: OfficeUser, student_id: uuid.UUID) -> Response:
    """A new parent account linked to this student (the parent signs in with the phone number)."""
    try:
        name = _text(form, "parent_name")
        if not name:
            raise FormProblem(_("Họ tên phụ huynh: chưa nhập."))
        typed_phone = _text(form, "parent_phone")
        phone = _phone(typed_phone) if typed_phone else None
        if typed_phone and phone is None:
            raise FormProblem(_("Số điện thoại: cần 10 chữ số, bắt đầu bằng 0."))
        relationship = _text(form, "relationship")
        if relationship not in RELATIONSHIPS:
            raise FormProblem(_("Quan hệ: hãy chọn Cha, Mẹ hoặc Người giám hộ."))
    except FormProblem as problem:
        return await _student_page(request, web, student_id, error=str(problem), status=422)
    api = services_for(request, web.access_token)
    try:
        await api.identity.student(student_id)  # 404 before anything is made
        await api.identity.create_parent(
            {
                "full_name": name,
                "phone": phone,
                "children": [{"student_id": str(student_id), "relationship": relationship}],
            },
        )
    except BackendError as error:
        if error.status in (409, 422):
            message = _explain(error)
            return await _student_page(
                request,
                web,
                student_id,
                error=_("Phụ huynh: {message}").format(message=message),
                status=error.status,
            )
        raise
    return RedirectResponse(f"/admin/students/{student_id}?done=parent", status_code=303)


@router.post("/admin/students/{student_id}/parents/{parent_id}/unlink", response_class=HTMLResponse)
async def unlink_parent(
    request: Request, form: CheckedForm, web: OfficeUser, student_id: uuid.UUID, parent_id: uuid.UUID
) -> Response:
    if form.get("confirm") != "yes":
        return await _student_page(
            request, web, student_id, error=_("Xác nhận: hãy đánh dấu ô xác nhận bỏ liên kết."), status=422
        )
    try:
        await services_for(request, web.access_token).identity.unlink_parent(parent_id, student_id)
    except BackendError as error:
        if error.status in (409, 422):
            return await _student_page(request, web, student_id, error=_explain(error), status=error.status)
        raise
    return RedirectResponse(f"/admin/students/{student_id}?done=unlinked", status_code=303)
