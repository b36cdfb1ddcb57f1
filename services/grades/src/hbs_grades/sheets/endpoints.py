"""Score sheet endpoints: every one checks the caller against the sheet it names."""

from __future__ import annotations

import uuid
from urllib.parse import quote, unquote

from fastapi import APIRouter, Header, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from hbs_grades.models import ScoreSheet
from hbs_grades.sheets import excel
from hbs_grades.sheets.cells import column_label
from hbs_grades.sheets.merge import ShownChange, save_merging
from hbs_grades.sheets.reading import SheetView
from hbs_grades.sheets.schemas import (
    ChangeOut,
    MinutesSignIn,
    SaveScores,
    SheetAction,
    SheetCorrectionIn,
    SheetCorrectionOut,
    SheetOut,
    SheetScoresOut,
    SignAction,
)
from hbs_grades.windows.rules import ENTRY_STEP
from hbs_grades.wiring import Grades, grades_of
from hbs_grades.xlsx import SHEET_UPLOAD, XLSX, open_book
from hbs_shared.auth import CurrentPrincipal, Principal
from hbs_shared.problems import Problem
from hbs_shared.service import runtime_of
from hbs_shared.uploads import off_loop, read_body

router = APIRouter(prefix="/sheets", tags=["score sheets"])


async def _in_window(
    grades: Grades, session: AsyncSession, principal: Principal, sheet_id: uuid.UUID, step: int
) -> ScoreSheet | None:
    """Đ5: the sheet's teacher enters (step 0) and signs (step 1) within the school's window; the
    checks of the use case (who, which state) come first for anyone else. The caller keeps the
    sheet returned: the session's identity map holds it only weakly, and the use case then reads
    it from there instead of loading it a second time."""
    sheet = await grades.sheets.sheets.get(session, principal.school_id, sheet_id)
    if sheet is not None and sheet.teacher_id == principal.user_id:
        await grades.windows.require_open_for_sheet(session, sheet, step)
    return sheet


@router.get("", response_model=list[SheetOut])
async def list_sheets(principal: CurrentPrincipal, request: Request) -> list[SheetOut]:
    service = grades_of(request).sheets
    async with runtime_of(request).db.transaction() as session:
        return [SheetOut.of(s) for s in await service.visible_to(session, principal)]


@router.get("/{sheet_id}", response_model=SheetOut)
async def get_sheet(sheet_id: uuid.UUID, principal: CurrentPrincipal, request: Request) -> SheetOut:
    service = grades_of(request).sheets
    async with runtime_of(request).db.transaction() as session:
        return SheetOut.of(await service.get_visible(session, principal, sheet_id))


@router.get("/{sheet_id}/scores", response_model=SheetScoresOut)
async def get_scores(sheet_id: uuid.UUID, principal: CurrentPrincipal, request: Request) -> SheetScoresOut:
    """The class list with every cell, each student's semester result and what is missing."""
    service = grades_of(request).sheets
    async with runtime_of(request).db.transaction() as session:
        return SheetScoresOut.of(await service.visible_view(session, principal, sheet_id))


@router.put("/{sheet_id}/scores", response_model=SheetScoresOut)
async def save_scores(
    sheet_id: uuid.UUID, body: SaveScores, principal: CurrentPrincipal, request: Request
) -> SheetScoresOut:
    """Store changed cells, all or nothing: a refused cell is named (student and column)."""
    grades, db = grades_of(request), runtime_of(request).db
    changes = [row.shown_change() for row in body.rows]
    async with grades.writing(db.is_sqlite), db.transaction() as session:
        _held = await _in_window(grades, session, principal, sheet_id, ENTRY_STEP)  # loaded once
        view = await save_merging(
            grades.sheet_entry, session, principal, sheet_id, body.expected_version, changes, body.reason
        )
    return SheetScoresOut.of(view)


@router.get("/{sheet_id}/changes", response_model=list[ChangeOut])
async def list_changes(sheet_id: uuid.UUID, principal: CurrentPrincipal, request: Request) -> list[ChangeOut]:
    """Every change to the sheet's cells: who, when, old → new, and why once submitted."""
    service = grades_of(request).sheets
    async with runtime_of(request).db.transaction() as session:
        return [ChangeOut.of(c) for c in await service.changes(session, principal, sheet_id)]


@router.post("/{sheet_id}/submit", response_model=SheetOut)
async def submit_sheet(
    sheet_id: uuid.UUID, body: SheetAction, principal: CurrentPrincipal, request: Request
) -> SheetOut:
    grades = grades_of(request)
    async with runtime_of(request).db.transaction() as session:
        loaded = await _in_window(grades, session, principal, sheet_id, 1)
        was = None if loaded is None else str(loaded.state)
        sheet = await grades.sheet_signing.submit(session, principal, sheet_id, body.expected_version)
        if was != sheet.state:
            grades.windows.mark_sheet(session, sheet, ENTRY_STEP)  # score entry ends with the submission
        return SheetOut.of(sheet)


@router.post("/{sheet_id}/sign", response_model=SheetOut, status_code=202)
async def request_signature(
    sheet_id: uuid.UUID, body: SignAction, principal: CurrentPrincipal, request: Request
) -> SheetOut:
    runtime = runtime_of(request)
    grades = grades_of(request)
    async with runtime.db.transaction() as session:
        _held = await _in_window(grades, session, principal, sheet_id, 1)  # loaded once
        sheet = await grades.sheet_signing.request_signature(
            session, principal, sheet_id, body.expected_version, body.activation_id
        )
        grades.windows.mark_sheet(session, sheet, 1, request_id=sheet.signing_request_id)
        out = SheetOut.of(sheet)
    runtime.relay.nudge()
    return out


def attachment(filename: str) -> dict[str, str]:
    ascii_name = filename.encode("ascii", "ignore").decode() or "file.xlsx"
    return {
        "content-disposition": f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"
    }


@router.get("/{sheet_id}/xlsx", response_class=Response, responses={200: {"content": {XLSX: {}}}})
async def download_xlsx(sheet_id: uuid.UUID, principal: CurrentPrincipal, request: Request) -> Response:
    """The sheet as .xlsx with the class list filled in, to work offline."""
    service = grades_of(request).sheets
    async with runtime_of(request).db.transaction() as session:
        view = await service.visible_view(session, principal, sheet_id)
    sheet = view.sheet
    name = f"so-diem-{sheet.class_name}-{sheet.subject_code}-{sheet.term}.xlsx".replace(" ", "_")
    return Response(excel.to_xlsx(view), media_type=XLSX, headers=attachment(name))


@router.put("/{sheet_id}/xlsx", response_model=SheetScoresOut)
async def upload_xlsx(
    sheet_id: uuid.UUID,
    principal: CurrentPrincipal,
    request: Request,
    x_change_reason: str | None = Header(default=None, max_length=3000),
) -> SheetScoresOut:
    """Upload the filled-in .xlsx (the request body). All or nothing: every refused cell is
    reported with its student, column and cell address (e.g. F7); the version written in the
    file (D2) must still be the sheet's, or the answer is 409 naming expected_version. The reason
    for a change after submitting travels percent-encoded in `X-Change-Reason`, never in the URL
    (it may name a student)."""
    if "reason" in request.query_params:
        raise Problem(
            422, "Lý do sửa: gửi trong tiêu đề X-Change-Reason", "reason belongs in a header", field="reason"
        )
    reason = _header_text(x_change_reason, "reason", 1000)
    grades, db = grades_of(request), runtime_of(request).db
    service = grades.sheets
    # Who may upload is decided before the body is read; the parse runs off the event loop.
    async with db.transaction() as session:
        sheet = await service.get_visible(session, principal, sheet_id)
        if sheet.teacher_id != principal.user_id:
            raise Problem(
                403,
                "Chỉ giáo viên bộ môn được phân công mới thao tác được sổ điểm này",
                "only the assigned subject teacher may upload",
                field="sheet_id",
            )
    data = await read_body(request, SHEET_UPLOAD)
    book = await off_loop(open_book, data)
    async with grades.writing(db.is_sqlite), db.transaction() as session:
        _held = await _in_window(grades, session, principal, sheet_id, ENTRY_STEP)  # loaded once
        view = await service.visible_view(session, principal, sheet_id)
        version, rows, where = excel.from_book(book, view)
        shown = excel.shown_in_book(book, view)
        # A file downloaded before the sheet's last save (even one of its own upload) is merged
        # against the cells it showed: only cells someone else changed too are refused, by name.
        merged = [ShownChange(row, None if shown is None else shown.get(row.student_id)) for row in rows]
        cell_of = {(str(rows[i].student_id), key): cell for (i, key), cell in where.items()}
        try:
            saved = await save_merging(
                grades.sheet_entry, session, principal, sheet_id, version, merged, reason
            )
        except Problem as problem:
            _name_cells(problem, view, cell_of)
            for error in problem.extra.get("errors", []):
                error["cell"] = cell_of.get((str(error.get("student_id")), error["column"]))
            if problem.extra.get("errors"):
                problem.detail = "; ".join(
                    f"{e['cell']} ({e['full_name']}, {e['column_label']}): {e['message']}"
                    for e in problem.extra["errors"][:20]
                )
            raise
    return SheetScoresOut.of(saved)


def _name_cells(problem: Problem, view: SheetView, cell_of: dict[tuple[str, str], str]) -> None:
    """A merge conflict says exactly what changed: the cell, the student, the column, both values."""
    conflicts = problem.extra.get("conflicts") or []
    names = {str(line.student.id): line.student.full_name for line in view.lines}
    for conflict in conflicts:
        conflict["cell"] = cell_of.get((conflict["student_id"], conflict["column"]))
        conflict["full_name"] = names.get(conflict["student_id"], "")
        conflict["column_label"] = column_label(conflict["column"])
    if conflicts:
        problem.detail = "; ".join(
            f"{c['cell']} ({c['full_name']}, {c['column_label']}): file {c['yours']!r}, now {c['theirs']!r}"
            for c in conflicts[:20]
        )


def _header_text(value: str | None, field_name: str, limit: int) -> str | None:
    """A percent-encoded UTF-8 header value (headers carry only Latin-1), checked like a body field."""
    if value is None:
        return None
    try:
        text = unquote(value, errors="strict")
    except UnicodeDecodeError:
        raise Problem(
            422, "Lý do sửa: không đọc được", "not percent-encoded UTF-8", field=field_name
        ) from None
    if len(text) > limit:
        raise Problem(422, f"Lý do sửa: tối đa {limit} ký tự", "too long", field=field_name)
    return text or None


@router.post("/{sheet_id}/corrections", response_model=SheetOut, status_code=201)
async def open_correction(
    sheet_id: uuid.UUID, body: SheetCorrectionIn, principal: CurrentPrincipal, request: Request
) -> SheetOut:
    """Reopen a signed sheet for its teacher under the board's minutes (Đ9): only the cells the
    minutes list may then change."""
    grades, db = grades_of(request), runtime_of(request).db
    async with grades.writing(db.is_sqlite), db.transaction() as session:
        sheet, _ = await grades.sheet_corrections.open_sheet(
            session,
            principal,
            sheet_id,
            expected=body.expected_version,
            minutes=body.minutes(),
            present=body.present,
            cells=[cell.cell() for cell in body.cells],
        )
        return SheetOut.of(sheet)


@router.get("/{sheet_id}/corrections", response_model=list[SheetCorrectionOut])
async def list_corrections(
    sheet_id: uuid.UUID, principal: CurrentPrincipal, request: Request
) -> list[SheetCorrectionOut]:
    grades = grades_of(request)
    async with runtime_of(request).db.transaction() as session:
        found = await grades.sheet_corrections.of(session, principal, sheet_id)
        return [SheetCorrectionOut.of(c) for c in found]


@router.post(
    "/{sheet_id}/corrections/{correction_id}/minutes/sign", response_model=SheetCorrectionOut, status_code=202
)
async def sign_minutes(
    sheet_id: uuid.UUID,
    correction_id: uuid.UUID,
    body: MinutesSignIn,
    principal: CurrentPrincipal,
    request: Request,
) -> SheetCorrectionOut:
    """The board member who opened the correction signs its minutes (rendered and signed by signing)."""
    grades, db = grades_of(request), runtime_of(request).db
    async with grades.writing(db.is_sqlite), db.transaction() as session:
        correction = await grades.sheet_minutes.request(
            session, principal, sheet_id, correction_id, body.activation_id
        )
        return SheetCorrectionOut.of(correction)
