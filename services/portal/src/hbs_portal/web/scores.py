"""Score entry for one sheet (sổ điểm): the grid, saving, submitting, the Excel round trip and the
change log. The grades service validates every cell; this page keeps what the teacher typed."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData, UploadFile

from hbs_portal.clients import BackendError
from hbs_portal.i18n import N_, _
from hbs_portal.models import WebSession
from hbs_portal.web.common import error_page, explain, templates
from hbs_portal.web.deps import Api, CheckedForm, Services, SignedIn
from hbs_shared.display import school_time_text, score_text
from hbs_shared.labels import SUBJECT_STATUS_LABELS
from hbs_shared.roles import BOARD

router = APIRouter(include_in_schema=False)

SCHOOL_TIME = ZoneInfo("Asia/Ho_Chi_Minh")
MAX_XLSX_BYTES = 5 * 1024 * 1024
CELL_LIMITS = {"comment": 2000}
"""Longest text a cell may carry (anything else: 20); the service says what is valid."""
NOTICES = {
    "saved": N_("Đã lưu sổ điểm."),
    "submitted": N_("Đã nộp sổ điểm."),
    "uploaded": N_("Đã nhập điểm từ tệp Excel."),
}
STATUS_LABELS = {k: v for k, v in SUBJECT_STATUS_LABELS.items() if v}
STATUS_CHOICES = [
    ("assessed", N_("Đánh giá")),
    ("exempt", N_("Miễn học")),
    ("not_assessed", N_("Không đánh giá (khuyết tật)")),
]
"""Per student: assessed, exempt (e.g. GDTC on a doctor's advice), or not assessed (Đ6, disability)."""


@dataclass
class GridRow:
    """One student's line as the page shows it: what is typed, what is saved, what is wrong."""

    index: int
    student_id: str
    full_name: str
    status: str
    result: str | None
    missing: list[str]
    typed: dict[str, str] = field(default_factory=dict)
    saved: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    typed_status: str = ""
    shown: dict[str, str] = field(default_factory=dict)
    """What the page showed in each cell when it was drawn (grades merges a stale save with it)."""

    def __post_init__(self) -> None:
        self.typed_status = self.typed_status or self.status

    @property
    def status_label(self) -> str:
        return _(STATUS_LABELS.get(self.status, ""))

    def differs(self, key: str) -> bool:
        return self.typed.get(key, "") != self.saved.get(key, "")


@dataclass
class PageState:
    """Everything the grid page may show besides the sheet itself."""

    notice: str | None = None
    error: str | None = None
    conflict: bool = False
    reason: str = ""
    reason_error: str | None = None
    problems: list[str] = field(default_factory=list)
    missing: list[dict[str, Any]] = field(default_factory=list)
    unsaved: bool = False
    """The grid holds typed values that were not saved: leaving the page must warn."""


def _saved_cells(row: dict[str, Any]) -> dict[str, str]:
    # Scores as teachers write them, with a decimal comma; grades reads "8,5" back the same.
    cells = {f"regular_{i}": score_text(v) for i, v in enumerate(row["regular"], start=1)}
    cells.update(
        midterm=score_text(row["midterm"]), final=score_text(row["final"]), comment=row["comment"] or ""
    )
    return cells


def grid_rows(scores: dict[str, Any]) -> list[GridRow]:
    labels = {c["key"]: c["label"] for c in scores["columns"]}
    rows = []
    for index, row in enumerate(scores["rows"]):
        saved = _saved_cells(row)
        rows.append(
            GridRow(
                index=index,
                student_id=row["student_id"],
                full_name=row["full_name"],
                status=row["status"],
                result=row["result"],
                missing=[labels.get(k, k) for k in row["missing"]],
                typed=dict(saved),
                saved=saved,
            )
        )
    return rows


async def sheet_scores(api: Services, sheet_id: uuid.UUID) -> dict[str, Any]:
    """The sheet's grid; under a correction after signing (Đ9.2) also that correction, whose
    minutes list the only cells the teacher may change (grades refuses any other)."""
    scores = await api.grades.scores(sheet_id)
    correction_id = scores["sheet"].get("correction_id")
    if correction_id:
        found = await api.grades.sheet_corrections(sheet_id)
        scores["correction"] = next((c for c in found if c["id"] == correction_id), None)
    return scores


def open_cells(scores: dict[str, Any]) -> set[str] | None:
    """ "student_id|column" of every cell the open correction lets change; None without one
    (or for a correction from before minutes listed their cells)."""
    correction = scores.get("correction")
    if not correction or not correction.get("cells"):
        return None
    return {f"{cell['student_id']}|{cell['column']}" for cell in correction["cells"]}


def editable(sheet: dict[str, Any], web: WebSession) -> bool:
    return sheet["state"] in ("open", "submitted") and str(sheet["teacher_id"]) == str(web.user_id)


def render(
    request: Request,
    web: WebSession,
    scores: dict[str, Any],
    rows: list[GridRow],
    state: PageState,
    status_code: int = 200,
) -> Response:
    sheet = scores["sheet"]
    return templates.TemplateResponse(
        request,
        "grades/scores.html",
        {
            "web": web,
            "sheet": sheet,
            "columns": scores["columns"],
            "rows": rows,
            "editable": editable(sheet, web),
            "comment_only": sheet["assessment"] == "comment",
            "status_choices": [(code, _(label)) for code, label in STATUS_CHOICES],
            "state": state,
            "correction": scores.get("correction"),
            "open_cells": open_cells(scores),
            "board": bool(set(web.roles) & BOARD),
        },
        status_code=status_code,
    )


@router.get("/sheets/{sheet_id}/scores", response_model=None)
async def scores_page(request: Request, web: SignedIn, api: Api, sheet_id: uuid.UUID) -> Response:
    scores = await sheet_scores(api, sheet_id)
    notice = _(NOTICES.get(request.query_params.get("notice", ""), "")) or None
    return render(request, web, scores, grid_rows(scores), PageState(notice=notice))


def _typed_rows(form: FormData, scores: dict[str, Any], rows: list[GridRow]) -> tuple[list[GridRow], bool]:
    """The grid with the form's values in it; False if a cell is too long to send."""
    keys = [c["key"] for c in scores["columns"]]
    by_id = {row.student_id: row for row in rows}
    ok = True
    for index, student_id in enumerate(form.getlist("sid")):
        row = by_id.get(str(student_id))
        if row is None:
            continue  # a student who left the class meanwhile: nothing to keep for them
        status = form.get(f"c{index}_status")
        if isinstance(status, str) and status in STATUS_LABELS.keys() | {"assessed"}:
            row.typed_status = status
        for key in [*keys, "status"]:
            shown = form.get(f"c{index}_{key}_shown")
            if isinstance(shown, str) and len(shown) <= CELL_LIMITS.get(key, 20):
                row.shown[key] = shown
        if row.status != "assessed":
            continue  # no cells were shown for them
        for key in keys:
            value = form.get(f"c{index}_{key}")
            if not isinstance(value, str):
                continue
            if len(value) > CELL_LIMITS.get(key, 20):
                row.errors[key] = _("quá dài")
                ok = False
            row.typed[key] = value
    return rows, ok


def _changes(scores: dict[str, Any], rows: list[GridRow]) -> list[dict[str, Any]]:
    regular_keys = [c["key"] for c in scores["columns"] if c["key"].startswith("regular_")]
    changes = []
    for row in rows:
        change: dict[str, Any] = {"student_id": row.student_id}
        if row.typed_status != row.status:
            change["status"] = row.typed_status
        if row.status == "assessed" and row.typed_status == "assessed":
            change.update(
                regular=[row.typed.get(k, "") for k in regular_keys],
                midterm=row.typed.get("midterm", ""),
                final=row.typed.get("final", ""),
                comment=row.typed.get("comment", ""),
            )
        if len(change) > 1:
            if row.shown:
                change["shown"] = {
                    k: v for k, v in row.shown.items() if k in change or k.startswith("regular_")
                }
            changes.append(change)
    return changes


def _same(typed: str, shown: str) -> bool:
    return typed.strip().replace(",", ".") == shown.strip().replace(",", ".")


def _cell_errors(rows: list[GridRow], problem: dict[str, Any]) -> list[str]:
    """Put the service's per-cell messages on the cells; the lines for the summary box."""
    by_id = {row.student_id: row for row in rows}
    lines = []
    for error in problem.get("errors", []):
        row = by_id.get(str(error.get("student_id")))
        column = str(error.get("column", ""))
        message = str(error.get("message", ""))
        if row is not None:
            row.errors[column] = message
        where = f"{error['cell']} – " if error.get("cell") else ""
        lines.append(
            f"{where}{error.get('full_name') or _('Học sinh')}, "
            f"{error.get('column_label', column)}: {message}"
        )
    return lines


@router.post("/sheets/{sheet_id}/scores", response_model=None)
async def save_scores(
    request: Request, web: SignedIn, api: Api, form: CheckedForm, sheet_id: uuid.UUID
) -> Response:
    version = str(form.get("version", ""))
    reason = str(form.get("reason", ""))[:1000]
    scores = await sheet_scores(api, sheet_id)
    rows, ok = _typed_rows(form, scores, grid_rows(scores))
    state = PageState(reason=reason, unsaved=True)
    if not version.isdigit() or not 1 <= int(version) < 2**31:
        return error_page(request, web, _("Phiên bản sổ điểm: không hợp lệ, xin tải lại trang."), 422)
    # The form's version, not the current one: a save over someone else's is a conflict.
    scores["sheet"]["version"] = int(version)
    if not ok:
        state.error = _("Có ô quá dài (điểm tối đa 20 ký tự, nhận xét 2000), chưa lưu gì.")
        return render(request, web, scores, rows, state, 422)
    body = {"expected_version": int(version), "rows": _changes(scores, rows), "reason": reason or None}
    try:
        await api.grades.save_scores(sheet_id, body)
    except BackendError as error:
        return await _refused(request, web, api, sheet_id, scores, rows, state, error)
    return RedirectResponse(f"/sheets/{sheet_id}/scores?notice=saved", status_code=303)


async def _refused(
    request: Request,
    web: WebSession,
    api: Services,
    sheet_id: uuid.UUID,
    scores: dict[str, Any],
    rows: list[GridRow],
    state: PageState,
    error: BackendError,
) -> Response:
    """The grid again with the teacher's typed values and why nothing was saved."""
    problem_field = error.problem.get("field")
    if error.status == 409 and problem_field == "expected_version":
        # Grades merged what it could and found cells someone else changed too (its answer names
        # them): nothing was saved. Show the newer values, the teacher's typed ones beside them.
        current = await sheet_scores(api, sheet_id)
        by_id = {r.student_id: r for r in grid_rows(current)}
        for row in rows:
            fresh = by_id.get(row.student_id)
            if fresh is None:
                continue
            row.saved, row.result = fresh.saved, fresh.result
            for key, shown in row.shown.items():
                # A cell the teacher left as the page showed it takes the newer value.
                if key in row.typed and _same(row.typed[key], shown):
                    row.typed[key] = row.saved.get(key, "")
        state.conflict = True
        state.error = _(
            "Sổ điểm vừa được lưu ở nơi khác nên chưa lưu gì. Ô bạn không sửa đã lấy giá trị mới; "
            "ô bạn đã nhập vẫn giữ điểm của bạn, giá trị đang lưu hiện bên cạnh. "
            "Kiểm tra rồi bấm “Lưu” để ghi điểm của bạn."
        )
        return render(request, web, current, rows, state, 409)
    if problem_field == "reason":
        state.reason_error = _("Lý do sửa: {title}.").format(title=error.title)
    state.error = f"{error.title}."
    state.problems = _cell_errors(rows, error.problem)
    return render(request, web, scores, rows, state, error.status)


@router.post("/sheets/{sheet_id}/submit-scores", response_model=None)
async def submit_scores(
    request: Request, web: SignedIn, api: Api, form: CheckedForm, sheet_id: uuid.UUID
) -> Response:
    version = str(form.get("version", ""))
    if not version.isdigit() or not 1 <= int(version) < 2**31:
        return error_page(request, web, _("Phiên bản sổ điểm: không hợp lệ, xin tải lại trang."), 422)
    try:
        await api.grades.sheet_action(sheet_id, "submit", int(version))
    except BackendError as error:
        scores = await sheet_scores(api, sheet_id)
        state = PageState(error=f"{explain(error)}.", missing=list(error.problem.get("missing", [])))
        return render(request, web, scores, grid_rows(scores), state, error.status)
    return RedirectResponse(f"/sheets/{sheet_id}/scores?notice=submitted", status_code=303)


@router.get("/sheets/{sheet_id}/scores.xlsx", response_model=None)
async def download_xlsx(request: Request, web: SignedIn, api: Api, sheet_id: uuid.UUID) -> Response:
    answer = await api.grades.sheet_xlsx(sheet_id)
    return Response(
        answer.content,
        media_type=answer.headers.get("content-type", "application/octet-stream"),
        headers={
            "content-disposition": answer.headers.get("content-disposition", "attachment"),
            "cache-control": "private, no-store",
        },
    )


@router.post("/sheets/{sheet_id}/scores.xlsx", response_model=None)
async def upload_xlsx(
    request: Request, web: SignedIn, api: Api, form: CheckedForm, sheet_id: uuid.UUID
) -> Response:
    reason = str(form.get("reason", ""))[:1000]
    upload = form.get("file")
    data = await upload.read(MAX_XLSX_BYTES + 1) if isinstance(upload, UploadFile) else b""
    state = PageState(reason=reason)
    if not data:
        state.error = _("Tệp Excel: chưa chọn tệp.")
    elif len(data) > MAX_XLSX_BYTES:
        state.error = _("Tệp Excel: lớn quá 5 MB.")
    elif not data.startswith(b"PK"):
        state.error = _("Tệp Excel: không phải tệp .xlsx.")
    else:
        headers = {"content-type": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
        if reason.strip():
            # The reason may name a student: a header, never the URL.
            headers["x-change-reason"] = quote(reason.strip(), safe="")
        try:
            await api.grades.upload_sheet_xlsx(sheet_id, data, headers)
        except BackendError as error:
            state.error = _("Tệp Excel: {problem}").format(problem=_upload_message(error))
            state.problems = _cell_errors([], error.problem) + _conflict_lines(error.problem)
            if error.problem.get("field") == "reason":
                state.reason_error = _("Lý do sửa: {title}.").format(title=error.title)
        else:
            return RedirectResponse(f"/sheets/{sheet_id}/scores?notice=uploaded", status_code=303)
    scores = await sheet_scores(api, sheet_id)
    return render(request, web, scores, grid_rows(scores), state, 422)


def _upload_message(error: BackendError) -> str:
    if error.status == 409 and error.problem.get("code") == "stale_cells":
        return _(
            "sau khi tệp được tải về, sổ điểm đã được sửa ở chính những ô bạn sửa trong tệp, "
            "nên chưa nhập gì. Các ô đó (giá trị trong tệp / đang lưu):"
        )
    if error.status == 409 and error.problem.get("field") == "expected_version":
        return _(
            "tệp được tải về trước lần lưu gần nhất của sổ điểm nên chưa nhập gì. "
            "Hãy tải về tệp mới, nhập lại rồi tải lên."
        )
    return f"{error.title}."


def _conflict_lines(problem: dict[str, Any]) -> list[str]:
    """Exactly what changed since the download: each cell both sides changed, with both values."""
    return [
        f"{c.get('cell') or ''} – {c.get('full_name') or _('Học sinh')}, "
        f"{c.get('column_label', c.get('column'))}: "
        + _("trong tệp “{yours}”, đang lưu “{theirs}”").format(
            yours=score_text(c.get("yours")) or _("(trống)"),
            theirs=score_text(c.get("theirs")) or _("(trống)"),
        )
        for c in problem.get("conflicts", [])
    ]


@router.get("/sheets/{sheet_id}/changes", response_model=None)
async def changes_page(request: Request, web: SignedIn, api: Api, sheet_id: uuid.UUID) -> Response:
    scores = await api.grades.scores(sheet_id)
    log = await api.grades.sheet_changes(sheet_id)
    names = {row["student_id"]: row["full_name"] for row in scores["rows"]}
    changes = [
        {
            **change,
            "full_name": names.get(change["student_id"], _("(đã rời lớp)")),
            "when": local_time(change["changed_at"]),
        }
        for change in reversed(log)
    ]
    return templates.TemplateResponse(
        request, "grades/changes.html", {"web": web, "sheet": scores["sheet"], "changes": changes}
    )


def local_time(stamp: str) -> str:
    """A service timestamp as the school's clock reads it (dd/mm/yyyy hh:mm)."""
    return school_time_text(stamp)
