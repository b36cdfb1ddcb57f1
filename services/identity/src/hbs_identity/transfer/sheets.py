"""Reading and writing the tabular files: .xlsx (openpyxl) and CSV, with Vietnamese headers."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from openpyxl import Workbook, load_workbook  # type: ignore[import-untyped]
from openpyxl.styles import Font, PatternFill  # type: ignore[import-untyped]

from hbs_identity.text import nfc, search_key
from hbs_shared.cells import set_xlsx_value
from hbs_shared.uploads import MB, UploadLimits, check_zip

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
IMPORT_LIMITS = UploadLimits(max_bytes=20 * MB, max_unzipped_bytes=64 * MB, max_members=256)
"""A whole school's students are a few MB unzipped; more is refused before openpyxl sees it."""


@dataclass(frozen=True)
class Column:
    header: str
    """The Vietnamese header in templates and exports."""
    field: str
    required: bool = False
    note: str = ""


@dataclass(frozen=True)
class Row:
    number: int
    """The row number as the user sees it in the file (the header is row 1)."""
    values: dict[str, Any]


class FileError(ValueError):
    pass


def _header_key(value: object) -> str:
    return search_key(str(value or "")).replace("*", "").strip()


def read_rows(content: bytes, columns: Sequence[Column]) -> list[Row]:
    """Rows by field name; a header may be the Vietnamese one or the field name, any case/diacritics.
    Blocking: call it off the event loop (`hbs_shared.uploads.off_loop`)."""
    if content[:2] == b"PK":
        check_zip(content, IMPORT_LIMITS)
        try:
            book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
        except Exception as error:
            raise FileError(f"not a readable .xlsx file: {error}") from None
        sheet = book.worksheets[0]
        table = [list(r) for r in sheet.iter_rows(values_only=True)]
    else:
        try:
            text = content.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise FileError("a CSV file must be UTF-8") from None
        dialect = csv.Sniffer().sniff(text.splitlines()[0] if text else ",", delimiters=",;\t")
        table = [list(r) for r in csv.reader(io.StringIO(text), dialect)]
    if not table:
        raise FileError("the file is empty")
    by_key = {_header_key(c.header): c.field for c in columns} | {
        _header_key(c.field): c.field for c in columns
    }
    headers = [by_key.get(_header_key(h)) for h in table[0]]
    missing = [c.header for c in columns if c.required and c.field not in headers]
    if missing:
        raise FileError("missing columns: " + ", ".join(missing))
    rows = []
    for number, cells in enumerate(table[1:], start=2):
        values: dict[str, Any] = {}
        for field, cell in zip(headers, cells, strict=False):
            if field is None or cell is None:
                continue
            if isinstance(cell, str):
                cell = nfc(cell)
                if not cell:
                    continue
            values[field] = cell
        if values:
            rows.append(Row(number, values))
    return rows


def write_xlsx(
    title: str,
    columns: Sequence[Column],
    rows: list[dict[str, Any]],
    notes: list[tuple[str, str]] | None = None,
) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = title[:31]
    _append(sheet, [c.header + (" *" if c.required else "") for c in columns])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="DDEBF7")
    for row in rows:
        _append(sheet, [_cell(row.get(c.field)) for c in columns])
    for index, column in enumerate(columns, start=1):
        sheet.column_dimensions[sheet.cell(1, index).column_letter].width = max(14, len(column.header) + 4)
    sheet.freeze_panes = "A2"
    if notes:
        guide = book.create_sheet("Hướng dẫn")
        _append(guide, ["Cột", "Cách điền"])
        for cell in guide[1]:
            cell.font = Font(bold=True)
        for header, text in notes:
            _append(guide, [header, text])
        guide.column_dimensions["A"].width = 30
        guide.column_dimensions["B"].width = 100
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _append(sheet: Any, values: list[Any]) -> None:
    """One row; a name or note that looks like a formula stays typed text (formula injection)."""
    row = sheet.max_row + 1 if sheet.max_row > 1 or sheet.cell(1, 1).value is not None else 1
    for column, value in enumerate(values, start=1):
        set_xlsx_value(sheet.cell(row=row, column=column), value)


def _cell(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    if isinstance(value, list):
        return "; ".join(str(v) for v in value)
    return value
