"""Download names (issue 15): after what the file holds, an ASCII fallback and the UTF-8 name."""

from __future__ import annotations

from urllib.parse import unquote

from starlette.datastructures import QueryParams

from hbs_portal.web.filenames import ascii_name, content_disposition, file_name
from hbs_portal.web.sheet_filters import filter_sheets


def test_a_signed_sheet_is_named_after_its_class_subject_and_semester() -> None:
    name = file_name("Sổ điểm đã ký", "10A1", "Toán", "Học kỳ I", ext="pdf")
    assert name == "Sổ điểm đã ký 10A1 Toán Học kỳ I.pdf"
    header = content_disposition(name, "inline")
    assert header.startswith('inline; filename="So-diem-da-ky-10A1-Toan-Hoc-ky-I.pdf"; ')
    assert unquote(header.split("filename*=UTF-8''")[1]) == name


def test_nothing_in_a_name_can_break_the_header_or_a_path() -> None:
    name = file_name("Học bạ", 'Đỗ "Hữu" Ánh', "11/2 Toán\\chuyên", None, "", ext="pdf")
    assert name == "Học bạ Đỗ Hữu Ánh 11 2 Toán chuyên.pdf"
    assert ascii_name(name) == "Hoc-ba-Do-Huu-Anh-11-2-Toan-chuyen.pdf"
    assert '"' not in content_disposition(name).split("filename*=")[1]
    assert file_name(None, ext="xlsx") == "tep.xlsx"


def test_the_sheet_list_filters_and_names_an_unknown_value_by_its_field() -> None:
    def sheet(class_name: str, code: str, teacher: str, state: str) -> dict[str, str]:
        return {
            "class_name": class_name,
            "subject_code": code,
            "subject": {"TOAN": "Toán", "NGU_VAN": "Ngữ văn"}[code],
            "teacher_id": teacher,
            "teacher_name": f"Giáo viên {teacher}",
            "term": "HK1",
            "term_label": "Học kỳ I",
            "state": state,
            "state_label": state,
        }

    sheets = [sheet("10A1", "TOAN", "t1", "open"), sheet("10A1", "NGU_VAN", "t2", "signed"),
              sheet("10A2", "TOAN", "t1", "signed")]  # fmt: skip
    shown, found = filter_sheets(sheets, QueryParams("subject=TOAN&state=signed"))
    assert shown == [sheets[2]]
    assert (found.chosen, found.total, found.errors) == ({"subject": "TOAN", "state": "signed"}, 3, [])
    assert found.choices["subject"] == [("NGU_VAN", "Ngữ văn"), ("TOAN", "Toán")]
    shown, found = filter_sheets(sheets, QueryParams("class=10Z&teacher=t2"))
    assert shown == [sheets[1]]
    assert found.errors == ["Lớp: không có “10Z” trong danh sách sổ điểm."]
