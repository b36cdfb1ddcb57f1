"""Review samples (Đ4.2: the vice-principal's random check before step 3), the homeroom teacher's
check of each student's personal data against the documents (Đ6.1) with "Báo sai lệch" as a change
request to the office, and the office's list of change requests (apply or reject)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import RedirectResponse, Response

from hbs_portal.i18n import N_, _, translated
from hbs_portal.models import WebSession
from hbs_portal.web.common import error_page, templates
from hbs_portal.web.deps import Api, CheckedForm, OfficeUser, SignedIn
from hbs_portal.web.scores import local_time
from hbs_shared.labels import FRONT_PAGE_LABELS, RECORD_STATE_LABELS

router = APIRouter(include_in_schema=False)
ClassName = Path(min_length=1, max_length=40)
SAMPLE_STATES = {"open": N_("đang kiểm tra"), "passed": N_("đã đạt"), "returned": N_("có học bạ trả lại")}
VERDICTS = {"pending": N_("chưa kiểm tra"), "correct": N_("Đúng"), "returned": N_("Trả lại")}
CHECK_STATES = {
    "unchecked": N_("chưa kiểm tra"),
    "verified": N_("đã kiểm tra, đúng"),
    "discrepancy": N_("có sai lệch, chờ văn phòng"),
    "stale": N_("thông tin đã thay đổi, cần kiểm tra lại"),
}
REQUEST_STATES = {"pending": N_("chờ văn phòng"), "applied": N_("đã sửa"), "rejected": N_("từ chối")}
NOTICES = {
    "drawn": N_("Đã chọn mẫu kiểm tra."),
    "marked": N_("Đã ghi kết quả kiểm tra."),
    "verified": N_("Đã ghi nhận kiểm tra thông tin cá nhân."),
    "verified_all": N_("Đã xác nhận đúng mọi mục của các học sinh đã chọn."),
    "reported": N_("Đã gửi yêu cầu sửa thông tin cho văn phòng."),
    "applied": N_("Đã sửa thông tin theo yêu cầu."),
    "rejected": N_("Đã từ chối yêu cầu."),
}
templates.env.filters["vntime"] = lambda stamp: local_time(stamp) if stamp else ""
templates.env.globals.update(
    front_page_labels=translated(FRONT_PAGE_LABELS),
    sample_states=translated(SAMPLE_STATES),
    verdict_labels=translated(VERDICTS),
    check_states=translated(CHECK_STATES),
    request_states=translated(REQUEST_STATES),
)


def _page(request: Request, web: WebSession, name: str, status: int = 200, **context: Any) -> Response:
    notice = _(NOTICES.get(request.query_params.get("notice", ""), "")) or None
    return templates.TemplateResponse(
        request,
        name,
        {"web": web, "labels": translated(RECORD_STATE_LABELS), "notice": notice, **context},
        status_code=status,
    )


def _class_url(class_name: str, notice: str) -> str:
    return f"/records/classes/{quote(class_name, safe='')}?notice={notice}#mau-kiem-tra"


# ------------------------------------------------------------------ samples (vice-principal)


@router.post("/review/classes/{class_name}/samples", response_model=None)
async def draw(_form: CheckedForm, web: SignedIn, api: Api, class_name: str = ClassName) -> Response:
    """Chọn mẫu kiểm tra: grades draws with a fresh seed and keeps every earlier sample."""
    await api.grades.draw_review_sample(class_name)
    return RedirectResponse(_class_url(class_name, "drawn"), status_code=303)


@router.post("/review/samples/{sample_id}/records/{record_id}/verdict", response_model=None)
async def verdict(
    request: Request,
    _form: CheckedForm,
    web: SignedIn,
    api: Api,
    sample_id: uuid.UUID,
    record_id: uuid.UUID,
    class_name: Annotated[str, Form(min_length=1, max_length=40)],
    verdict: Annotated[str, Form(max_length=10)] = "",
    reason: Annotated[str, Form(max_length=2000)] = "",
    subject_code: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    """Đúng, or Trả lại with a reason: to the subject's teacher when a subject is named."""
    if verdict not in ("correct", "returned"):
        return error_page(request, web, _("Kết quả kiểm tra: không hợp lệ."), 422)
    body: dict[str, Any] = {"verdict": verdict}
    if verdict == "returned":
        if len(reason.strip()) < 5:
            return error_page(request, web, _("Lý do trả lại: cần ghi rõ (ít nhất 5 ký tự)."), 422)
        body["reason"] = reason.strip()[:1000]
        if subject_code.strip():
            body["subject_code"] = subject_code.strip()
    await api.grades.review_verdict(sample_id, record_id, body)
    return RedirectResponse(_class_url(class_name, "marked"), status_code=303)


@router.get("/review/samples/{sample_id}/redraw", response_model=None)
async def redraw(request: Request, web: SignedIn, api: Api, sample_id: uuid.UUID) -> Response:
    """Anyone auditing: the sample drawn again from its stored seed, compared with what was kept."""
    return _page(request, web, "review/redraw.html", redraw=await api.grades.redraw_review_sample(sample_id))


# ------------------------------------------------------------------ personal data (homeroom teacher)


@router.get("/review/personal-data/{class_name}", response_model=None)
async def personal_data_page(
    request: Request, web: SignedIn, api: Api, class_name: str = ClassName
) -> Response:
    """Kiểm tra thông tin cá nhân: each student's front page, ticked field by field, with a note."""
    lines = await api.grades.personal_data_checks(class_name)
    students = {line["student_id"] for line in lines}
    requests = [r for r in await api.identity.change_requests("all") if r["student_id"] in students]
    return _page(
        request,
        web,
        "review/personal_data.html",
        class_name=class_name,
        lines=lines,
        requests=requests,
        error=request.query_params.get("error"),
    )


@router.post("/review/personal-data/{class_name}/verify-all", response_model=None)
async def verify_all_personal_data(
    request: Request,
    form: CheckedForm,
    web: SignedIn,
    api: Api,
    class_name: str = ClassName,
    confirmed: Annotated[str, Form(max_length=3)] = "",
) -> Response:
    """Đánh dấu tất cả đúng: the ticked students' every field confirmed at once, once the teacher
    ticks that she compared them with the documents (each student still gets their own check)."""
    chosen = [str(s) for s in form.getlist("student_id")][:200]
    if not chosen:
        return error_page(request, web, _("Đánh dấu tất cả đúng: chưa chọn học sinh nào."), 422)
    if confirmed != "yes":
        return error_page(
            request,
            web,
            _(
                "Xác nhận: hãy đánh dấu ô “Tôi đã đối chiếu với giấy khai sinh và hồ sơ gốc” "
                "trước khi xác nhận tất cả."
            ),
            422,
        )
    try:
        ids = [str(uuid.UUID(s)) for s in chosen]
    except ValueError:
        return error_page(request, web, _("Danh sách học sinh gửi lên không hợp lệ, xin tải lại trang."), 422)
    await api.grades.verify_all_personal_data(class_name, ids)
    page = f"/review/personal-data/{quote(class_name, safe='')}"
    return RedirectResponse(f"{page}?notice=verified_all", status_code=303)


@router.post("/review/personal-data/{class_name}/{student_id}", response_model=None)
async def check_personal_data(
    request: Request,
    form: CheckedForm,
    web: SignedIn,
    api: Api,
    student_id: uuid.UUID,
    class_name: str = ClassName,
    action: Annotated[str, Form(max_length=10)] = "",
    note: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """ "Xác nhận đúng" records the check; "Báo sai lệch" asks identity for the change (as this
    teacher: identity decides she is the student's homeroom teacher), then records the discrepancy."""
    fields = [str(f) for f in form.getlist("fields") if str(f) in FRONT_PAGE_LABELS]
    page = f"/review/personal-data/{quote(class_name, safe='')}"
    if action == "verify":
        await api.grades.check_personal_data(
            student_id, {"state": "verified", "fields": fields, "note": note.strip()[:2000]}
        )
        return RedirectResponse(f"{page}?notice=verified#hs-{student_id}", status_code=303)
    if action != "report":
        return error_page(request, web, _("Thao tác: không hợp lệ."), 422)
    changes = {
        name: str(form.get(f"correct_{name}", "")).strip()[:300]
        for name in FRONT_PAGE_LABELS
        if str(form.get(f"correct_{name}", "")).strip()
    }
    if not changes:
        return error_page(
            request, web, _("Báo sai lệch: ghi giá trị đúng theo giấy tờ cho ít nhất một mục."), 422
        )
    if len(note.strip()) < 5:
        return error_page(request, web, _("Ghi chú: cần ghi rõ sai lệch (ít nhất 5 ký tự)."), 422)
    made = await api.identity.request_student_change(student_id, changes, note.strip()[:1000])
    await api.grades.check_personal_data(
        student_id,
        {
            "state": "discrepancy",
            "fields": fields,
            "note": note.strip()[:2000],
            "change_request_id": made["id"],
        },
    )
    return RedirectResponse(f"{page}?notice=reported#hs-{student_id}", status_code=303)


# ------------------------------------------------------------------ change requests (office)


@router.get("/change-requests", response_model=None)
async def change_requests_page(request: Request, web: OfficeUser, api: Api) -> Response:
    """Yêu cầu sửa thông tin: the homeroom teachers' requests, to apply or reject."""
    pending = await api.identity.change_requests("pending")
    decided = [r for r in await api.identity.change_requests("all") if r["state"] != "pending"][:50]
    return _page(request, web, "review/change_requests.html", pending=pending, decided=decided)


@router.post("/change-requests/{request_id}/apply", response_model=None)
async def apply_change(_form: CheckedForm, web: OfficeUser, api: Api, request_id: uuid.UUID) -> Response:
    await api.identity.apply_change_request(request_id)
    return RedirectResponse("/change-requests?notice=applied", status_code=303)


@router.post("/change-requests/{request_id}/reject", response_model=None)
async def reject_change(
    request: Request,
    _form: CheckedForm,
    web: OfficeUser,
    api: Api,
    request_id: uuid.UUID,
    reason: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    if len(reason.strip()) < 5:
        return error_page(request, web, _("Lý do từ chối: cần ghi rõ (ít nhất 5 ký tự)."), 422)
    await api.identity.reject_change_request(request_id, reason.strip()[:500])
    return RedirectResponse("/change-requests?notice=rejected", status_code=303)
