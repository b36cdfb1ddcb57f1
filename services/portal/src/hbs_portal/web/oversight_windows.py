"""The board's time windows (Đ5) and compliance report (Đ10): "Thời hạn" sets the dates of each
step for the current year and grants extensions for one teacher or class with a reason; "Chấp hành
thời hạn" shows, per person, step and period, what was on time, late (and by how long), returned
and corrected, with its Excel file from grades."""

from __future__ import annotations

import re
import uuid
from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from hbs_portal.clients import BackendError
from hbs_portal.i18n import N_, _, translated
from hbs_portal.models import WebSession
from hbs_portal.web.common import templates
from hbs_portal.web.deps import Api, BoardMember, CheckedForm, Services
from hbs_portal.web.scores import local_time
from hbs_shared.labels import TERM_LABELS
from hbs_shared.names import sorted_by_name
from hbs_shared.roles import SIGNERS

router = APIRouter(include_in_schema=False)

STEP_NAMES: dict[int, str] = {
    0: N_("Nhập điểm"),
    1: N_("Ký sổ điểm (bước 1)"),
    2: N_("GVCN ký học bạ (bước 2)"),
    3: N_("PHT ký duyệt học bạ (bước 3)"),
    4: N_("Hiệu trưởng ký phê duyệt học bạ (bước 4)"),
}
SLOTS: tuple[tuple[str, int], ...] = (
    ("HK1", 0),
    ("HK1", 1),
    ("HK2", 0),
    ("HK2", 1),
    ("year", 2),
    ("year", 3),
    ("year", 4),
)
"""Every window of a year: score entry and step 1 per semester, the record's steps per year."""
STATE_LABELS = {"not_open": N_("chưa mở"), "open": N_("đang mở"), "closed": N_("đã đóng")}
DONE = {"saved": N_("Đã lưu thời hạn."), "extended": N_("Đã gia hạn.")}


def period_name(period: str) -> str:
    return _(TERM_LABELS.get(period, "Cả năm"))


def slot_key(period: str, step: int) -> str:
    return f"{period}:{step}"


def parse_slot(value: str) -> tuple[str, int] | None:
    """ "HK1:1" → ("HK1", 1) when it is one of the year's windows."""
    match = re.fullmatch(r"(HK1|HK2|year):([0-4])", value)
    if match is None:
        return None
    slot = (match.group(1), int(match.group(2)))
    return slot if slot in SLOTS else None


def parse_day(value: str) -> date | str | None:
    """An <input type=date> value: a date, None when empty, or the Vietnamese error."""
    if not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        return _("Ngày không hợp lệ (định dạng ngày/tháng/năm).")


def dmy(value: str | None) -> str:
    return date.fromisoformat(value).strftime("%d/%m/%Y") if value else ""


async def _teachers(api: Services) -> list[dict[str, Any]]:
    """The people a window can be extended for: staff who sign, by given name."""
    staff = [
        s for s in await api.identity.staff() if SIGNERS & set(s.get("roles", [])) and not s.get("disabled")
    ]
    return sorted_by_name(staff, lambda s: s["full_name"])


async def _windows_page(
    request: Request,
    web: WebSession,
    api: Services,
    *,
    error: str | None = None,
    status: int = 200,
    form: dict[str, str] | None = None,
) -> Response:
    year = await api.grades.windows()
    set_ = {slot_key(w["period"], w["step"]): w for w in year["windows"]}
    rows = [
        {
            "key": slot_key(period, step),
            "period": period,
            "step": step,
            "name": f"{_(STEP_NAMES[step])} – {period_name(period)}",
            "window": set_.get(slot_key(period, step)),
            "state": _(STATE_LABELS.get(set_[slot_key(period, step)]["state"], ""))
            if slot_key(period, step) in set_
            else _("không giới hạn"),
        }
        for period, step in SLOTS
    ]
    extensions = [
        {
            **e,
            "who": e["teacher_name"] if e.get("teacher_id") else _("Lớp {name}").format(name=e["class_name"]),
            "window": f"{_(STEP_NAMES[e['step']])} – {period_name(e['period'])}",
            "until": dmy(e["closes_on"]),
            "when": local_time(e["granted_at"]),
        }
        for e in await api.grades.window_extensions(year["school_year"])
    ]
    classes = sorted(c["name"] for c in await api.identity.classes())
    return templates.TemplateResponse(
        request,
        "oversight/windows.html",
        {
            "web": web,
            "school_year": year["school_year"],
            "rows": rows,
            "extensions": extensions,
            "teachers": await _teachers(api),
            "classes": classes,
            "slots": [(slot_key(p, s), f"{_(STEP_NAMES[s])} – {period_name(p)}") for p, s in SLOTS],
            "notice": _(DONE.get(request.query_params.get("done", ""), "")) or None,
            "error": error,
            "form": form or {},
            "dmy": dmy,
        },
        status_code=status,
    )


@router.get("/oversight/windows", response_class=HTMLResponse)
async def windows_page(request: Request, web: BoardMember, api: Api) -> Response:
    """Thời hạn: the year's windows, one form each, and the extensions granted."""
    return await _windows_page(request, web, api)


@router.post("/oversight/windows", response_class=HTMLResponse)
async def save_window(
    request: Request,
    web: BoardMember,
    api: Api,
    _form: CheckedForm,
    slot: Annotated[str, Form(max_length=10)] = "",
    opens_on: Annotated[str, Form(max_length=10)] = "",
    closes_on: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """Set one window (both dates) or remove it (both empty: the step is then always open)."""
    chosen = parse_slot(slot)
    if chosen is None:
        return await _windows_page(request, web, api, error=_("Thời hạn: không hợp lệ."), status=422)
    opens, closes = parse_day(opens_on), parse_day(closes_on)
    for label, value in ((_("Ngày mở"), opens), (_("Ngày đóng"), closes)):
        if isinstance(value, str):
            return await _windows_page(request, web, api, error=f"{label}: {value}", status=422)
    if (opens is None) != (closes is None):
        error = _("Cần nhập cả ngày mở và ngày đóng (hoặc để trống cả hai để bỏ thời hạn).")
        return await _windows_page(request, web, api, error=error, status=422)
    period, step = chosen
    year = (await api.grades.windows())["school_year"]
    body = {
        "period": period,
        "step": step,
        "opens_on": opens.isoformat() if isinstance(opens, date) else None,
        "closes_on": closes.isoformat() if isinstance(closes, date) else None,
    }
    try:
        await api.grades.set_windows(year, [body])
    except BackendError as refused:
        if refused.status in (409, 422):
            return await _windows_page(request, web, api, error=f"{refused.title}.", status=refused.status)
        raise
    return RedirectResponse("/oversight/windows?done=saved", status_code=303)


@router.post("/oversight/windows/extensions", response_class=HTMLResponse)
async def add_extension(
    request: Request,
    web: BoardMember,
    api: Api,
    _form: CheckedForm,
    slot: Annotated[str, Form(max_length=10)] = "",
    who: Annotated[str, Form(max_length=10)] = "teacher",
    teacher_id: Annotated[str, Form(max_length=40)] = "",
    class_name: Annotated[str, Form(max_length=40)] = "",
    closes_on: Annotated[str, Form(max_length=10)] = "",
    reason: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    """Gia hạn for one teacher or one class: a new closing day and the reason (kept with who/when)."""
    form = {
        "slot": slot,
        "who": who,
        "teacher_id": teacher_id,
        "class_name": class_name,
        "closes_on": closes_on,
        "reason": reason,
    }

    async def refuse(message: str, status: int = 422) -> Response:
        return await _windows_page(request, web, api, error=message, status=status, form=form)

    chosen = parse_slot(slot)
    if chosen is None:
        return await refuse(_("Thời hạn được gia hạn: hãy chọn một bước."))
    body: dict[str, Any] = {"period": chosen[0], "step": chosen[1]}
    if who == "teacher":
        try:
            body["teacher_id"] = str(uuid.UUID(teacher_id))
        except ValueError:
            return await refuse(_("Giáo viên: hãy chọn một giáo viên."))
    elif who == "class":
        if not 1 <= len(class_name.strip()) <= 40:
            return await refuse(_("Lớp: hãy chọn một lớp."))
        body["class_name"] = class_name.strip()
    else:
        return await refuse(_("Gia hạn cho: chọn giáo viên hoặc lớp."))
    until = parse_day(closes_on)
    if not isinstance(until, date):
        return await refuse(_("Gia hạn đến ngày: {problem}").format(problem=until or _("cần nhập ngày.")))
    if len(reason.strip()) < 3:
        return await refuse(_("Lý do gia hạn: cần ít nhất 3 ký tự."))
    body.update(
        closes_on=until.isoformat(),
        reason=reason.strip(),
        school_year=(await api.grades.windows())["school_year"],
    )
    try:
        await api.grades.extend_window(body)
    except BackendError as refused:
        if refused.status in (409, 422):
            return await refuse(f"{refused.title}.", refused.status)
        raise
    return RedirectResponse("/oversight/windows?done=extended", status_code=303)


COMPLIANCE_FILTERS = ("term", "step", "department", "teacher_id", "group_by")
Filter = Annotated[str, Query(max_length=120)]


def compliance_filters(
    term: Filter = "",
    step: Filter = "",
    department: Filter = "",
    teacher_id: Filter = "",
    group_by: Filter = "",
) -> dict[str, str]:
    """The filters as chosen on the page (empty is every value); grades validates them."""
    chosen = dict(zip(COMPLIANCE_FILTERS, (term, step, department, teacher_id, group_by), strict=True))
    return {name: value for name, value in chosen.items() if value}


Filters = Annotated[dict[str, str], Depends(compliance_filters)]


@router.get("/oversight/compliance", response_class=HTMLResponse)
async def compliance_page(request: Request, web: BoardMember, api: Api, filters: Filters) -> Response:
    """Chấp hành thời hạn: per person (or department), step and period (Đ10), filtered."""
    report = await api.grades.compliance(filters)
    rows = [
        {**r, "step_name": _(STEP_NAMES[r["step"]]), "period_name": period_name(r["period"])}
        for r in report["rows"]
    ]
    return templates.TemplateResponse(
        request,
        "oversight/compliance.html",
        {
            "web": web,
            "school_year": report["school_year"],
            "counted_at": local_time(report["counted_at"]),
            "rows": rows,
            "report": report,
            "chosen": filters,
            "steps": translated(STEP_NAMES),
            "xlsx": "/oversight/compliance.xlsx" + (f"?{urlencode(filters)}" if filters else ""),
        },
    )


@router.get("/oversight/compliance.xlsx", response_model=None)
async def compliance_xlsx(web: BoardMember, api: Api, filters: Filters) -> Response:
    """The Excel file with the page's filters."""
    answer = await api.grades.compliance_xlsx(filters)
    return Response(
        answer.content,
        media_type=answer.headers.get("content-type", "application/octet-stream"),
        headers={
            "content-disposition": answer.headers.get("content-disposition", "attachment"),
            "cache-control": "private, no-store",
        },
    )
