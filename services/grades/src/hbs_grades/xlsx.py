"""Small helpers over openpyxl (untyped): write a table, read cell texts back."""

from __future__ import annotations

import re
from decimal import Decimal
from io import BytesIO
from typing import Any

from openpyxl import Workbook, load_workbook  # type: ignore[import-untyped]
from openpyxl.styles import Alignment, Font, PatternFill  # type: ignore[import-untyped]
from openpyxl.utils import get_column_letter  # type: ignore[import-untyped]

from hbs_shared.cells import set_xlsx_value
from hbs_shared.display import score_number
from hbs_shared.problems import Problem
from hbs_shared.uploads import MB, UploadLimits, check_zip

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
SHEET_UPLOAD = UploadLimits(max_bytes=5 * MB, max_unzipped_bytes=8 * MB, max_members=64)
"""A class's score sheet is tens of KB; a file unzipping to more is refused before openpyxl."""


def column_letter(index: int) -> str:
    """1 → A."""
    letter: str = get_column_letter(index)
    return letter


def new_book(title: str) -> tuple[Any, Any]:
    book = Workbook()
    sheet = book.active
    # A worksheet's name cannot hold \\ / ? * [ ] : nor control characters (openpyxl refuses them).
    sheet.title = re.sub(r"[\\/?*\[\]:\x00-\x1f]", "", title)[:31] or "Sheet"
    return book, sheet


def put(sheet: Any, row: int, column: int, value: Any) -> Any:
    """Write one cell; text from users (names, comments) that looks like a formula stays text."""
    cell = sheet.cell(row=row, column=column)
    set_xlsx_value(cell, value)
    return cell


def write_header(sheet: Any, row: int, labels: list[str], widths: list[int] | None = None) -> None:
    for index, label in enumerate(labels, start=1):
        cell = put(sheet, row, index, label)
        cell.font = Font(bold=True)
        cell.fill = HEADER_FILL
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        sheet.column_dimensions[column_letter(index)].width = (widths or [])[index - 1] if widths else 12


def write_title(sheet: Any, row: int, text: str) -> None:
    put(sheet, row, 1, text).font = Font(bold=True, size=13)


def put_average(sheet: Any, row: int, column: int, value: Any, places: int = 1) -> Any:
    """An average as an Excel number shown with its decimals always ("9,0", not "9": DOMAIN's
    conventions); the separator is still Excel's locale's. "Miễn", "Đ" stay text."""
    cell = put_score(sheet, row, column, value)
    if score_number(value) is not None:
        cell.number_format = "0." + "0" * places
    return cell


def put_score(sheet: Any, row: int, column: int, value: Any) -> Any:
    """A score as an Excel number (8.5), not text: a Vietnamese Excel shows it "8,5" and sums it.

    The General format leaves the decimal separator to Excel's locale; "Miễn", "Đ" stay text."""
    number = score_number(value)
    return put(sheet, row, column, value if number is None else number)


def as_text_cell(cell: Any) -> None:
    """Typed values stay as typed ("8,5"), not turned into dates or floats."""
    cell.number_format = "@"


def save(book: Any) -> bytes:
    out = BytesIO()
    book.save(out)
    return out.getvalue()


def open_book(data: bytes) -> Any:
    """Blocking: call it off the event loop (`hbs_shared.uploads.off_loop`)."""
    check_zip(data, SHEET_UPLOAD)
    try:
        return load_workbook(BytesIO(data), data_only=True, read_only=False)
    except Exception as error:  # openpyxl raises many kinds on a file that is not xlsx
        raise Problem(
            422, "Tệp không phải bảng tính Excel (.xlsx) hợp lệ", type(error).__name__, field="file"
        ) from None


def cell_text(value: Any) -> str | None:
    """A cell's value as the text a teacher meant: 8.5 → "8.5", 8 → "8", "" → None."""
    if value is None:
        return None
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return format(Decimal(repr(value)).normalize(), "f") if value == value else None
    text = str(value).strip()
    return text or None
