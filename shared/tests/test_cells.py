"""Formula-like text in exports stays text (CSV/formula injection)."""

from __future__ import annotations

import io
import zipfile

import pytest
from openpyxl import Workbook, load_workbook  # type: ignore[import-untyped]

from hbs_shared.cells import csv_safe, is_formula_like, set_xlsx_value

INJECTIONS = ['=HYPERLINK("http://x","Bấm để xem")', "+1+1", "-2+3", "@SUM(A1)", "\tx", "\rx"]


@pytest.mark.parametrize("text", INJECTIONS)
def test_formula_like_text_is_never_a_formula_in_xlsx(text: str) -> None:
    workbook = Workbook()
    set_xlsx_value(workbook.active["A1"], text)
    buffer = io.BytesIO()
    workbook.save(buffer)
    sheet_xml = zipfile.ZipFile(buffer).read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet_xml
    cell = load_workbook(io.BytesIO(buffer.getvalue())).active["A1"]
    assert (cell.value, cell.data_type, cell.quotePrefix) == (text, "s", True)


def test_ordinary_values_are_left_as_they_are() -> None:
    workbook = Workbook()
    set_xlsx_value(workbook.active["A1"], 8.5)
    set_xlsx_value(workbook.active["A2"], "Nguyễn Văn An")
    assert workbook.active["A1"].value == 8.5
    assert workbook.active["A2"].quotePrefix is False
    assert not is_formula_like(8.5)


@pytest.mark.parametrize("text", INJECTIONS)
def test_csv_cells_get_an_apostrophe(text: str) -> None:
    assert csv_safe(text) == "'" + text
    assert csv_safe("An") == "An"
    assert csv_safe(7) == 7


def test_control_characters_an_xlsx_cannot_hold_are_dropped_not_fatal() -> None:
    workbook = Workbook()
    set_xlsx_value(workbook.active["A1"], "10A\x011")
    buffer = io.BytesIO()
    workbook.save(buffer)
    assert load_workbook(io.BytesIO(buffer.getvalue())).active["A1"].value == "10A1"
