"""Tiến độ (Đ4.1): the board follows score entry and the four signing steps per department,
class, teacher and step, drills down to each missing item and its person, and sends "Nhắc".
The recipient sees their unread reminders on every page (the layout's banner) and all on `/reminders`."""

from __future__ import annotations

import re
import uuid
from typing import Annotated, Any
from urllib.parse import parse_qsl, urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from hbs_portal.clients import BackendError
from hbs_portal.i18n import N_, translated
from hbs_portal.web.common import templates
from hbs_portal.web.deps import Api, BoardMember, CheckedForm, SignedIn

router = APIRouter(include_in_schema=False)
FILTERS = ("term", "step", "group_by", "class_name", "subject_code", "teacher_id", "department", "state")
GROUPS = {
    "step": N_("Bước"),
    "department": N_("Tổ chuyên môn"),
    "class": N_("Lớp"),
    "teacher": N_("Người phụ trách"),
    "subject": N_("Môn"),
}
STEPS = {
    "score_entry": N_("Nhập điểm"),
    "sheet_signing": N_("Bước 1: ký sổ điểm"),
    "homeroom": N_("Bước 2: GVCN ký học bạ"),
    "review": N_("Bước 3: PHT duyệt"),
    "approval": N_("Bước 4: HT phê duyệt"),
}
TERMS = {"HK1": N_("Học kỳ I"), "HK2": N_("Học kỳ II")}
# What grades names its steps (hbs_grades.progress): the `label` filter translates them on the board.
# Departments stay as the school names them (data, like on the compliance page).
GRADES_LABELS = (
    N_("Nhập điểm và nộp sổ điểm"),
    N_("Bước 1: GV bộ môn ký sổ điểm"),
    N_("Bước 2: GVCN ký học bạ"),
    N_("Bước 3: Phó Hiệu trưởng duyệt"),
    N_("Bước 4: Hiệu trưởng phê duyệt"),
)
BACK_TO = re.compile(r"^/[A-Za-z0-9/_.%\-]{0,200}$")
"""Where "Đã xem" returns: a path of this portal (the page the banner was on), never elsewhere."""
EMAIL_STATES = {
    "none": N_("không gửi (chưa có địa chỉ hoặc chưa cấu hình)"),
    "pending": N_("đang chờ gửi"),
    "sending": N_("đang gửi"),
    "sent": N_("đã gửi"),
    "failed": N_("gửi không được"),
}
Text = Annotated[str, Query(max_length=120)]


def _chosen(values: dict[str, str]) -> dict[str, str]:
    """Only the known filters, non-empty (grades validates their values again)."""
    return {k: v for k, v in values.items() if k in FILTERS and v}


@router.get("/progress", response_model=None)
async def progress_page(
    request: Request,
    web: BoardMember,
    api: Api,
    term: Text = "",
    step: Text = "score_entry",
    group_by: Text = "class",
    class_name: Text = "",
    subject_code: Text = "",
    teacher_id: Text = "",
    department: Text = "",
    state: Text = "",
) -> Response:
    chosen = _chosen(
        {
            "term": term,
            "step": step,
            "group_by": group_by,
            "class_name": class_name,
            "subject_code": subject_code,
            "teacher_id": teacher_id,
            "department": department,
            "state": state,
        }
    )
    view = await api.grades.progress(chosen)
    items = await api.grades.progress_items({k: v for k, v in chosen.items() if k != "group_by"})
    sent = await api.grades.sent_reminders()
    return templates.TemplateResponse(
        request,
        "progress/board.html",
        {
            "web": web,
            "view": view,
            "items": items["items"],
            "sent": sent[:20],
            "email_states": translated(EMAIL_STATES),
            "chosen": chosen,
            "query": urlencode(chosen),
            "groups": translated(GROUPS),
            "steps": translated(STEPS),
            "terms": translated(TERMS),
            "notice": request.query_params.get("notice"),
        },
    )


@router.post("/progress/remind", response_model=None)
async def remind(
    request: Request,
    web: BoardMember,
    api: Api,
    _form: CheckedForm,
    step: Annotated[str, Form(max_length=20)] = "",
    term: Annotated[str, Form(max_length=4)] = "",
    sheet_id: Annotated[uuid.UUID | None, Form()] = None,
    class_name: Annotated[str, Form(max_length=40)] = "",
    teacher_id: Annotated[uuid.UUID | None, Form()] = None,
    note: Annotated[str, Form(max_length=500)] = "",
    back: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Nhắc: grades decides who is responsible and tells them (portal, e-mail)."""
    body: dict[str, Any] = {"note": note.strip()}
    for key, value in (("step", step), ("term", term), ("class_name", class_name)):
        if value:
            body[key] = value
    if sheet_id is not None:
        body["sheet_id"] = str(sheet_id)
    if teacher_id is not None:
        body["teacher_id"] = str(teacher_id)
    returning = _chosen(dict(parse_qsl(back)))
    try:
        await api.grades.remind(body)
    except BackendError as error:
        if error.status not in (409, 422):
            raise
        returning["notice"] = "nothing" if error.status == 409 else "invalid"
    else:
        returning["notice"] = "reminded"
    return RedirectResponse(f"/progress?{urlencode(returning)}", status_code=303)


@router.get("/reminders", response_model=None)
async def my_reminders(request: Request, web: SignedIn, api: Api) -> Response:
    """Lời nhắc: every reminder the caller received, newest first."""
    found = await api.grades.my_reminders()
    return templates.TemplateResponse(
        request, "progress/reminders.html", {"web": web, "reminders": found, "next_page": "/reminders"}
    )


@router.post("/reminders/{reminder_id}/read", response_model=None)
async def read_reminder(
    web: SignedIn,
    api: Api,
    _form: CheckedForm,
    reminder_id: uuid.UUID,
    next_page: Annotated[str, Form(alias="next", max_length=200)] = "/reminders",
) -> Response:
    """Đã xem: the reminder leaves the home page's list (grades refuses someone else's)."""
    await api.grades.read_reminder(reminder_id)
    back = next_page if BACK_TO.match(next_page) and not next_page.startswith("//") else "/reminders"
    return RedirectResponse(back, status_code=303)
