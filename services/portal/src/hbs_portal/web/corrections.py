"""Corrections of a signed score sheet (Đ9.2, Đ3.3): the board opens one with the minutes (biên
bản: number, date, who was present, which cells, why), signs the minutes with its PIN, and follows
each correction of the sheet; the teacher's grid (`web/scores.py`) opens only the listed cells.
Grades checks everything; this page keeps what the board typed when it refuses."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from hbs_portal.clients import BackendError
from hbs_portal.i18n import N_, _
from hbs_portal.models import WebSession
from hbs_portal.web.common import error_page, explain, pdf_response, templates
from hbs_portal.web.deps import Api, BoardMember, CheckedForm, Services, SignedIn
from hbs_portal.web.filenames import file_name
from hbs_portal.web.scores import local_time
from hbs_shared.display import school_today, score_text
from hbs_shared.roles import BOARD

router = APIRouter(include_in_schema=False)

CORRECTABLE = ("midterm", "final", "comment")
"""Besides the regular assessments (regular_k), the columns a correction may list."""
FIELD_LABELS = {
    "minutes_number": N_("Số biên bản"),
    "minutes_date": N_("Ngày biên bản"),
    "present": N_("Thành phần có mặt"),
    "reason": N_("Lý do điều chỉnh"),
    "cells": N_("Ô điều chỉnh"),
    "expected_version": N_("Phiên bản sổ điểm"),
}
NOTICES = {
    "opened": (
        N_("Đã mở điều chỉnh. Hãy ký biên bản; giáo viên bộ môn sửa các ô trong biên bản rồi ký lại sổ điểm.")
    ),
    "signing": N_("Đang ký biên bản…"),
}
MINUTES_STATES = {"unsigned": N_("Chưa ký"), "signing": N_("Đang ký"), "signed": N_("Đã ký")}


@dataclass
class Typed:
    """The opening form as the board filled it (kept when grades refuses it)."""

    minutes_number: str = ""
    minutes_date: str = ""
    present: str = ""
    reason: str = ""
    cells: set[str] = field(default_factory=set)
    """Checked cells, each "student_id|column"."""


def shown_value(value: str | None, column: str) -> str:
    """A cell's value as a page prints it: a score with a decimal comma, "(trống)" if empty."""
    if not value:
        return _("(trống)")
    return value if column == "comment" else score_text(value)


def columns_of(scores: dict[str, Any]) -> list[dict[str, str]]:
    return [c for c in scores["columns"] if c["key"].startswith("regular_") or c["key"] in CORRECTABLE]


def cell_values(row: dict[str, Any]) -> dict[str, str]:
    """A grid row's correctable cells as the page prints them (scores with a decimal comma)."""
    values = {f"regular_{i}": score_text(v) for i, v in enumerate(row["regular"], start=1)}
    values.update(
        midterm=score_text(row["midterm"]),
        final=score_text(row["final"]),
        comment=row["comment"] or "",
    )
    return values


def described(correction: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    """A correction as the pages show it: names for ids, school time, decimal commas."""
    return {
        **correction,
        "opened": local_time(correction["opened_at"]),
        "closed": local_time(correction["closed_at"]) if correction.get("closed_at") else None,
        "minutes_day": date.fromisoformat(correction["minutes_date"]).strftime("%d/%m/%Y"),
        "minutes_signed": local_time(correction["minutes_signed_at"])
        if correction.get("minutes_signed_at")
        else None,
        "minutes_state_label": _(
            MINUTES_STATES.get(correction["minutes_state"], correction["minutes_state"])
        ),
        "listed": [
            {
                **cell,
                "full_name": names.get(cell["student_id"], _("(đã rời lớp)")),
                "old": shown_value(cell["old_value"], cell["column"]),
            }
            for cell in correction["cells"]
        ],
    }


async def _sheet_and_corrections(
    api: Services, sheet_id: uuid.UUID
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    scores = await api.grades.scores(sheet_id)
    names = {row["student_id"]: row["full_name"] for row in scores["rows"]}
    found = await api.grades.sheet_corrections(sheet_id)
    return scores, [described(c, names) for c in reversed(found)]


def _is_board(web: WebSession) -> bool:
    return bool(set(web.roles) & BOARD)


@router.get("/sheets/{sheet_id}/corrections", response_model=None)
async def corrections_page(request: Request, web: SignedIn, api: Api, sheet_id: uuid.UUID) -> Response:
    """Every correction of the sheet (open or closed) and, on a signed sheet, the board's form."""
    return await _sheet_page(request, web, api, sheet_id)


async def _sheet_page(
    request: Request,
    web: WebSession,
    api: Services,
    sheet_id: uuid.UUID,
    typed: Typed | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    scores, corrections = await _sheet_and_corrections(api, sheet_id)
    sheet = scores["sheet"]
    return templates.TemplateResponse(
        request,
        "corrections/sheet.html",
        {
            "web": web,
            "sheet": sheet,
            "rows": [
                {"student_id": r["student_id"], "full_name": r["full_name"], "values": cell_values(r)}
                for r in scores["rows"]
            ],
            "columns": columns_of(scores),
            "corrections": corrections,
            "may_open": sheet["state"] == "signed" and _is_board(web),
            "typed": typed or Typed(minutes_date=school_today().isoformat()),
            "error": error,
        },
        status_code=status_code,
    )


@router.post("/sheets/{sheet_id}/corrections", response_model=None)
async def open_correction(
    request: Request,
    _form: CheckedForm,
    web: BoardMember,
    api: Api,
    sheet_id: uuid.UUID,
    version: Annotated[int, Form(ge=1, le=2_147_483_647)] = 1,
    minutes_number: Annotated[str, Form(max_length=200)] = "",
    minutes_date: Annotated[str, Form(max_length=20)] = "",
    present: Annotated[str, Form(max_length=6000)] = "",
    reason: Annotated[str, Form(max_length=4000)] = "",
    cell: Annotated[list[str] | None, Form(max_length=2000)] = None,
) -> Response:
    """Mở điều chỉnh (biên bản): the minutes go to grades, which reopens the sheet for its teacher."""
    typed = Typed(minutes_number, minutes_date, present, reason, set(cell or []))
    cells = []
    for value in sorted(typed.cells):
        student_id, _bar, column = value.partition("|")
        cells.append({"student_id": student_id, "column": column})
    body = {
        "expected_version": version,
        "minutes_number": minutes_number.strip(),
        "minutes_date": minutes_date.strip(),
        "present": [line.strip() for line in present.splitlines() if line.strip()],
        "reason": reason.strip(),
        "cells": cells,
    }
    if not cells:
        message = _("Ô điều chỉnh: chọn ít nhất một ô cần sửa.")
    elif not body["present"]:
        message = _("Thành phần có mặt: ghi mỗi người một dòng (họ tên – chức vụ).")
    else:
        try:
            sheet = await api.grades.open_sheet_correction(sheet_id, body)
        except BackendError as refusal:
            if refusal.status not in (409, 422):
                raise
            message = _explained(refusal)
        else:
            return RedirectResponse(
                f"/sheets/{sheet_id}/corrections/{sheet['correction_id']}?notice=opened", status_code=303
            )
    return await _sheet_page(request, web, api, sheet_id, typed=typed, error=message, status_code=422)


def _explained(refusal: BackendError) -> str:
    """Grades' refusal with the form field it names (its title may already start with it)."""
    where = str(refusal.problem.get("field", "")).removeprefix("body.").split(".")[0].split("[")[0]
    label = FIELD_LABELS.get(where)
    if label is None or refusal.title.startswith(label) or refusal.title.startswith("Ô điều chỉnh"):
        return refusal.title
    return f"{_(label)}: {refusal.title}"


async def _one(
    api: Services, sheet_id: uuid.UUID, correction_id: uuid.UUID
) -> tuple[dict[str, Any], dict[str, Any]]:
    scores, corrections = await _sheet_and_corrections(api, sheet_id)
    found = next((c for c in corrections if c["id"] == str(correction_id)), None)
    if found is None:
        raise BackendError(404, _("Không tìm thấy biên bản điều chỉnh"))
    return scores["sheet"], found


@router.get("/sheets/{sheet_id}/corrections/{correction_id}", response_model=None)
async def minutes_page(
    request: Request, web: SignedIn, api: Api, sheet_id: uuid.UUID, correction_id: uuid.UUID
) -> Response:
    """The minutes: their facts, the cells under the correction, the PDF, "Ký biên bản"."""
    return await _minutes_page(request, web, api, sheet_id, correction_id)


async def _minutes_page(
    request: Request,
    web: WebSession,
    api: Services,
    sheet_id: uuid.UUID,
    correction_id: uuid.UUID,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    sheet, correction = await _one(api, sheet_id, correction_id)
    return templates.TemplateResponse(
        request,
        "corrections/minutes.html",
        {
            "web": web,
            "sheet": sheet,
            "c": correction,
            "notice": _(NOTICES.get(request.query_params.get("notice", ""), "")) or None,
            "may_sign": correction["minutes_state"] == "unsigned"
            and correction["opened_by"] == str(web.user_id),
            "error": error,
        },
        status_code=status_code,
    )


@router.post("/sheets/{sheet_id}/corrections/{correction_id}/sign", response_model=None)
async def sign_minutes(
    request: Request,
    _form: CheckedForm,
    web: BoardMember,
    api: Api,
    sheet_id: uuid.UUID,
    correction_id: uuid.UUID,
    pin: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    """Ký biên bản: the PIN activates this one signature first, so a wrong PIN changes nothing."""
    if not pin:
        message = _("Mã PIN ký số: chưa nhập.")
    else:
        try:
            activation_id = await api.signing.activate(pin, subject_ids=[str(correction_id)])
            await api.grades.sign_correction_minutes(sheet_id, correction_id, activation_id)
        except BackendError as refusal:
            if refusal.status not in (403, 409, 422, 423):
                raise
            message = explain(refusal)
        else:
            return RedirectResponse(
                f"/sheets/{sheet_id}/corrections/{correction_id}?notice=signing", status_code=303
            )
    return await _minutes_page(request, web, api, sheet_id, correction_id, error=message, status_code=422)


@router.get("/sheets/{sheet_id}/corrections/{correction_id}/{which}.pdf", response_model=None)
async def correction_document(
    request: Request,
    web: SignedIn,
    api: Api,
    sheet_id: uuid.UUID,
    correction_id: uuid.UUID,
    which: Literal["minutes", "superseded", "corrected"],
) -> Response:
    """The signed minutes, the sheet's version the correction replaced, or the one signed after it;
    fetched from signing with the user's own token (signing decides who may read it)."""
    _sheet, correction = await _one(api, sheet_id, correction_id)
    document_id = {
        "minutes": correction.get("minutes_document_id"),
        "superseded": correction.get("superseded_document_id"),
        "corrected": correction.get("new_document_id"),
    }[which]
    if not document_id:
        return error_page(request, web, _("Tài liệu này chưa có bản đã ký."), 404)
    pdf = await api.signing.document_pdf(document_id)
    # File names stay Vietnamese (ASCII-folded) in both languages.
    names = {"minutes": "Biên bản điều chỉnh", "superseded": "Sổ điểm bản cũ", "corrected": "Sổ điểm đã sửa"}
    sheet = _sheet
    name = file_name(
        names[which], sheet.get("class_name"), sheet.get("subject"), sheet.get("term_label"), ext="pdf"
    )
    return pdf_response(pdf, name)
