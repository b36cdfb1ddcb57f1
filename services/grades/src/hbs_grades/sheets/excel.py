"""The score sheet as .xlsx and back: Vietnamese headers, the class list filled in.

Layout: row 1 title, row 2 the sheet id and version (checked on upload), row 4 the headers,
students from row 5. Column B holds the student's id (grades' key), C the mã định danh.
A hidden second sheet keeps the cells as they were when the file was downloaded: an upload made
after the sheet moved on (e.g. the same file uploaded twice) is merged against them cell by cell.
"""

from __future__ import annotations

import uuid
from typing import Any

from hbs_grades.sheets.cells import STATUS_LABELS, assessment_keys, column_label
from hbs_grades.sheets.entry import RowChange
from hbs_grades.sheets.reading import SheetView
from hbs_grades.xlsx import (
    as_text_cell,
    cell_text,
    column_letter,
    new_book,
    open_book,
    put,
    put_average,
    put_score,
    save,
    write_header,
    write_title,
)
from hbs_shared.labels import TERM_LABELS
from hbs_shared.problems import Problem

FIRST_ROW = 5
HEADER_ROW = 4
FIXED = ["STT", "Mã học sinh", "Mã định danh", "Họ và tên"]
SHOWN_SHEET = "Đã tải về"


def keys_of(view: SheetView) -> list[str]:
    return [*assessment_keys(view.sheet.regular_count), "comment", "status"]


def to_xlsx(view: SheetView) -> bytes:
    sheet = view.sheet
    book, ws = new_book("Sổ điểm")
    write_title(
        ws,
        1,
        f"SỔ ĐIỂM MÔN {sheet.subject.upper()} – LỚP {sheet.class_name} – "
        f"{TERM_LABELS.get(sheet.term, sheet.term).upper()} – NĂM HỌC {sheet.school_year}",
    )
    put(ws, 2, 1, "Mã sổ")
    put(ws, 2, 2, str(sheet.id))
    put(ws, 2, 3, "Phiên bản")
    put(ws, 2, 4, sheet.version)
    put(
        ws,
        3,
        1,
        (
            "Điểm từ 0 đến 10, tối đa một chữ số thập phân (8,5 hoặc 8.5)"
            if sheet.assessment == "scored"
            else "Ghi Đ (Đạt) hoặc CĐ (Chưa đạt)"
        )
        + "; cột cuối: để trống, “Miễn” hoặc “Không đánh giá”.",
    )
    keys = keys_of(view)
    result_label = "ĐTBmhk" if sheet.assessment == "scored" else "Kết quả"
    write_header(
        ws,
        HEADER_ROW,
        [*FIXED, *(column_label(k) for k in keys), f"{result_label} (tự tính)"],
        [5, 38, 14, 28, *([9] * (len(keys) - 2)), 30, 16, 12],
    )
    ws.column_dimensions["B"].hidden = True
    for offset, line in enumerate(view.lines):
        row = FIRST_ROW + offset
        put(ws, row, 1, offset + 1)
        put(ws, row, 2, str(line.student.id))
        put(ws, row, 3, line.student.national_id)
        put(ws, row, 4, line.student.full_name)
        for index, key in enumerate(keys, start=len(FIXED) + 1):
            value = line.cells.value(key)
            if key == "status":
                value = STATUS_LABELS[line.cells.status] or None
            if key in ("comment", "status") or value is None:
                # What the teacher types stays as typed ("8,5" is not turned into a date).
                as_text_cell(put(ws, row, index, value))
            else:
                put_score(ws, row, index, value)
        put_average(ws, row, len(FIXED) + len(keys) + 1, line.result)
    ws.freeze_panes = f"E{FIRST_ROW}"
    _write_shown(book, view, keys)
    return save(book)


def _stored_text(line: Any, key: str) -> str | None:
    if key == "status":
        return STATUS_LABELS[line.cells.status] or None
    value: str | None = line.cells.value(key)
    return value


def _write_shown(book: Any, view: SheetView, keys: list[str]) -> None:
    """The cells as downloaded, same rows and columns as the first sheet, hidden from the teacher."""
    shown = book.create_sheet(SHOWN_SHEET)
    shown.sheet_state = "hidden"
    put(shown, 1, 1, "Giá trị khi tải về (không sửa trang này)")
    put(shown, 2, 4, view.sheet.version)
    for offset, line in enumerate(view.lines):
        row = FIRST_ROW + offset
        put(shown, row, 2, str(line.student.id))
        for index, key in enumerate(keys, start=len(FIXED) + 1):
            as_text_cell(put(shown, row, index, _stored_text(line, key)))


def shown_in_book(book: Any, view: SheetView) -> dict[uuid.UUID, dict[str, str | None]] | None:
    """Per student, the cells as the file showed them when downloaded; None for a file from before
    this sheet existed (or one whose hidden sheet was removed): then only its version counts."""
    if SHOWN_SHEET not in book.sheetnames:
        return None
    ws = book[SHOWN_SHEET]
    keys = keys_of(view)
    found: dict[uuid.UUID, dict[str, str | None]] = {}
    for row in range(FIRST_ROW, ws.max_row + 1):
        try:
            student_id = uuid.UUID(_text(ws, row, 2) or "")
        except ValueError:
            continue
        found[student_id] = {
            key: _text(ws, row, column) for column, key in enumerate(keys, start=len(FIXED) + 1)
        }
    return found


def _text(ws: Any, row: int, column: int) -> str | None:
    return cell_text(ws.cell(row=row, column=column).value)


def from_xlsx(data: bytes, view: SheetView) -> tuple[int, list[RowChange], dict[tuple[int, str], str]]:
    """(version in the file, the rows, where each (row index, column key) is in the file)."""
    return from_book(open_book(data), view)


def from_book(book: Any, view: SheetView) -> tuple[int, list[RowChange], dict[tuple[int, str], str]]:
    """The same from a workbook already opened (off the event loop) by `open_book`."""
    ws = book.worksheets[0]
    sheet = view.sheet
    if _text(ws, 2, 2) != str(sheet.id):
        raise Problem(
            422,
            "Tệp này không phải của sổ điểm này",
            f"cell B2 should hold the sheet id {sheet.id}",
            field="file",
            extra={"cell": "B2"},
        )
    version_text = _text(ws, 2, 4) or ""
    if not version_text.isdigit():
        raise Problem(
            422, "Tệp thiếu phiên bản sổ điểm (ô D2)", "cell D2: version", field="file", extra={"cell": "D2"}
        )
    keys = keys_of(view)
    expected_headers = [*FIXED, *(column_label(k) for k in keys)]
    found = [_text(ws, HEADER_ROW, c) for c in range(1, len(expected_headers) + 1)]
    if found != expected_headers:
        raise Problem(
            422,
            "Dòng tiêu đề của tệp đã bị sửa",
            f"row {HEADER_ROW} should read: {' | '.join(expected_headers)}",
            field="file",
        )
    rows: list[RowChange] = []
    where: dict[tuple[int, str], str] = {}
    for row in range(FIRST_ROW, ws.max_row + 1):
        student_text = _text(ws, row, 2)
        if student_text is None:
            if any(_text(ws, row, c) for c in range(len(FIXED) + 1, len(FIXED) + len(keys) + 1)):
                raise Problem(
                    422,
                    f"Dòng {row} có điểm nhưng không có mã học sinh",
                    f"row {row}: column B is empty",
                    field="file",
                    extra={"cell": f"B{row}"},
                )
            continue
        try:
            student_id = uuid.UUID(student_text)
        except ValueError:
            raise Problem(
                422,
                f"Mã học sinh ở ô B{row} không hợp lệ",
                student_text,
                field="file",
                extra={"cell": f"B{row}"},
            ) from None
        cells: dict[str, str | None] = {}
        index = len(rows)
        for column, key in enumerate(keys, start=len(FIXED) + 1):
            cells[key] = _text(ws, row, column)
            where[(index, key)] = f"{column_letter(column)}{row}"
        if cells.get("status") is None:
            cells["status"] = "assessed"
        where[(index, "student_id")] = f"B{row}"
        rows.append(RowChange(student_id, cells))
    return int(version_text), rows, where
