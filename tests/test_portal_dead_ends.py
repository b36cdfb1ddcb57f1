"""Issue 15, "no dead ends": every refusal on the teacher's and the office's pages leads back to
where the person can fix it, files are named after what they hold, and a downloaded Excel file
stays usable after one upload of it (against the running system)."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import openpyxl  # type: ignore[import-untyped]
import pytest

from hbs_devtools.drive import SIGNING_PIN, SystemClient

from .factories import OFFICE, SchoolClass, SchoolFactory
from .test_portal_conduct import conduct
from .test_portal_conduct import form_fields as conduct_form
from .test_portal_scores import api_scores, form_fields, portal_as, sheet_of

pytestmark = [pytest.mark.db, pytest.mark.broker, pytest.mark.hsm]


@pytest.fixture(scope="module")
def klass(school: SchoolFactory) -> SchoolClass:
    return school.school_class(students=3, subjects=("TOAN",))


@pytest.fixture(scope="module")
def token(system: SystemClient, klass: SchoolClass) -> str:
    token = system.token(klass.teachers["TOAN"].username)
    with system.client("signing", token) as signing:
        assert signing.put("/signing-pin", json={"pin": SIGNING_PIN}).status_code == 204
    return token


@pytest.fixture(scope="module")
def teacher(system: SystemClient, klass: SchoolClass, token: str) -> Iterator[httpx.Client]:
    with portal_as(system, klass.teachers["TOAN"].username) as browser:
        yield browser


def hidden_fields(page: str, form_action: str) -> dict[str, str]:
    """The hidden inputs of one form (a confirmation page's form is nothing else)."""
    start = page.index(f'action="{form_action}"')
    form = page[start : page.index("</form>", start)]
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form))


def _sign_form(teacher: httpx.Client, sheet_id: str, pin: str) -> dict[str, Any]:
    """The sheet list's "Nộp và ký số" form, as the browser sends it."""
    form = form_fields(teacher.get("/sheets").text, f"/sheets/{sheet_id}/sign")
    return {"csrf": form["csrf"], "version": form["version"], "pin": pin}


def test_an_incomplete_sheet_and_a_wrong_pin_lead_back_to_the_grid(
    system: SystemClient, school: SchoolFactory, teacher: httpx.Client, token: str, klass: SchoolClass
) -> None:
    sheet_id = str(sheet_of(system, token, klass, "HK1")["id"])
    scores = api_scores(system, token, sheet_id)
    first = scores["rows"][0]["full_name"]
    # Nothing entered yet: signing from the sheet list names who is missing, on the grid.
    incomplete = teacher.post(f"/sheets/{sheet_id}/sign", data=_sign_form(teacher, sheet_id, SIGNING_PIN))
    assert incomplete.status_code == 422
    assert "Sổ điểm còn thiếu đánh giá, chưa nộp được." in incomplete.text
    assert re.search(rf"<li>{re.escape(first)}: ĐĐGtx 1, [^<]*ĐĐGgk, ĐĐGck</li>", incomplete.text)
    assert f'action="/sheets/{sheet_id}/scores"' in incomplete.text  # the grid, to fill them in

    school.fill_scores(klass.teachers["TOAN"], sheet_id)
    wrong = teacher.post(f"/sheets/{sheet_id}/sign", data=_sign_form(teacher, sheet_id, "000000"))
    assert wrong.status_code == 403
    assert "Mã PIN ký số không đúng (còn" in wrong.text
    assert f'action="/sheets/{sheet_id}/sign"' in wrong.text  # try again right there
    assert api_scores(system, token, sheet_id)["sheet"]["state"] == "open"

    # The right PIN signs it; the signed PDF is named after the class, subject and semester.
    signed = teacher.post(f"/sheets/{sheet_id}/sign", data=_sign_form(teacher, sheet_id, SIGNING_PIN))
    assert signed.status_code == 303, signed.text
    system.wait_for_state(token, sheet_id, "signed")
    pdf = teacher.get(f"/sheets/{sheet_id}/document")
    assert pdf.status_code == 200
    plain = f"So-diem-da-ky-{klass.name}-Toan-Hoc-ky-I.pdf"
    utf8 = quote(f"Sổ điểm đã ký {klass.name} Toán Học kỳ I.pdf", safe="")
    assert pdf.headers["content-disposition"] == f"inline; filename=\"{plain}\"; filename*=UTF-8''{utf8}"


def test_class_slips_ask_first_naming_the_class_and_are_named_after_it(
    system: SystemClient, klass: SchoolClass
) -> None:
    with portal_as(system, OFFICE) as office:
        export = office.get("/admin/export").text
        assert '<form method="get" action="/admin/slips">' in export  # asks before it resets
        asked = office.get("/admin/slips", params={"class_id": klass.id, "who": "students"})
        assert asked.status_code == 200
        assert f"Mật khẩu hiện tại của tất cả học sinh lớp {klass.name} sẽ không dùng được nữa" in asked.text
        assert "data-busy=" in asked.text  # the page says what it is doing while the slips are made
        form = hidden_fields(asked.text, "/admin/slips")
        assert (form["class_id"], form["who"], form["confirm"]) == (klass.id, "students", "yes")
        slips = office.post("/admin/slips", data=form)
        assert slips.status_code == 200
        assert slips.content.startswith(b"%PDF")
        name = quote(f"Phiếu đăng nhập Học sinh lớp {klass.name}.pdf", safe="")
        assert slips.headers["content-disposition"].endswith(f"filename*=UTF-8''{name}")
        assert office.get("/admin/slips", params={"class_id": "10A1", "who": "students"}).status_code == 422


def _upload(teacher: httpx.Client, sheet_id: str, book: Any) -> httpx.Response:
    data = io.BytesIO()
    book.save(data)
    csrf = form_fields(teacher.get(f"/sheets/{sheet_id}/scores").text, f"/sheets/{sheet_id}/scores")["csrf"]
    files = {"file": ("so-diem.xlsx", data.getvalue())}
    return teacher.post(f"/sheets/{sheet_id}/scores.xlsx", data={"csrf": csrf}, files=files)


def test_a_downloaded_excel_file_stays_usable_after_its_upload_and_a_clash_names_each_cell(
    system: SystemClient, school: SchoolFactory, teacher: httpx.Client, token: str, klass: SchoolClass
) -> None:
    sheet_id = str(sheet_of(system, token, klass, "HK2")["id"])
    school.fill_scores(klass.teachers["TOAN"], sheet_id)
    # The other tab's value must differ from the downloaded one, or the file could not tell
    # that anyone changed it (the filled scores are random).
    downloaded = api_scores(system, token, sheet_id)["rows"][1]["final"]
    other = "9" if downloaded != "9" else "8"
    book = openpyxl.load_workbook(io.BytesIO(teacher.get(f"/sheets/{sheet_id}/scores.xlsx").content))
    sheet = book.worksheets[0]
    sheet["I5"] = "7,5"  # first student's ĐĐGgk
    assert _upload(teacher, sheet_id, book).status_code == 303
    # The same file, corrected once more and uploaded again: nothing else changed, accepted.
    sheet["J6"] = "6"  # second student's ĐĐGck
    again = _upload(teacher, sheet_id, book)
    assert again.status_code == 303, again.text[-2000:]
    rows = api_scores(system, token, sheet_id)["rows"]
    assert (rows[0]["midterm"], rows[1]["final"]) == ("7.5", "6")

    # Someone else (another tab) changes the same cell: the file is refused, naming exactly that.
    scores = api_scores(system, token, sheet_id)
    with system.client("grades", token) as grades:
        changed = grades.put(
            f"/sheets/{sheet_id}/scores",
            json={
                "expected_version": scores["sheet"]["version"],
                "rows": [{"student_id": rows[1]["student_id"], "final": other}],
            },
        )
    assert changed.status_code == 200, changed.text
    sheet["J6"] = "5,5"
    clash = _upload(teacher, sheet_id, book)
    assert clash.status_code == 422, f"downloaded {downloaded}, other tab {other}"
    assert f"J6 – {rows[1]['full_name']}, ĐĐGck: trong tệp “5,5”, đang lưu “{other}”" in clash.text
    assert api_scores(system, token, sheet_id)["rows"][1]["final"] == other


def test_the_homeroom_teacher_sets_one_conduct_for_the_class_then_changes_the_exceptions(
    system: SystemClient, klass: SchoolClass
) -> None:
    assert klass.homeroom is not None
    path = f"/classes/{klass.name}/conduct"
    with portal_as(system, klass.homeroom.username) as homeroom:
        page = homeroom.get(path, params={"term": "HK1"}).text
        form = conduct_form(page, path)
        form.update(fill="1", fill_conduct="Đ", c0_absent_excused="2")
        filled = homeroom.post(path, data=form)
        assert filled.status_code == 200
        assert "Đã điền “Đ – Đạt” cho cả lớp (chưa lưu)" in filled.text
        again = conduct_form(filled.text, path)
        assert [again[f"c{i}_conduct"] for i in range(len(klass.students))] == ["Đ"] * len(klass.students)
        assert again["c0_absent_excused"] == "2"  # what was typed elsewhere stays
        assert 'name="c1_conduct" data-r="1" data-c="0" data-first-letter' in filled.text  # d → Đ
        again["c1_conduct"] = "T"  # the exception
        saved = homeroom.post(path, data=again)
        assert saved.status_code == 303, saved.text[-1500:]
        no_level = homeroom.post(path, data={**again, "fill": "1", "fill_conduct": ""})
        assert no_level.status_code == 422
        assert "Rèn luyện cho cả lớp: hãy chọn một mức" in no_level.text
    token = system.token(klass.homeroom.username)
    stored = [row["terms"]["HK1"]["conduct"] for row in conduct(system, token, klass)]
    assert stored == ["Đ", "T", *["Đ"] * (len(klass.students) - 2)]


def test_the_vice_principal_filters_the_sheet_list_by_class_subject_teacher_and_state(
    system: SystemClient, klass: SchoolClass
) -> None:
    teacher = klass.teachers["TOAN"]
    with portal_as(system, "phohieutruong") as vice:
        everything = vice.get("/sheets").text
        total = everything.count('<tr data-sheet="')
        assert total >= 2
        assert f"{total} / {total} sổ điểm." in everything
        query = {"class": klass.name, "subject": "TOAN", "teacher": teacher.id, "state": "open"}
        page = vice.get("/sheets", params=query).text
        # HK1 was signed by the dead-ends test when run before; HK2 stays open either way.
        rows = re.findall(r'<tr data-sheet="[^"]+">\s*<td>([^<]+)</td><td>([^<]+)</td>', page)
        assert rows
        assert set(rows) == {(klass.name, "Toán")}
        assert f"{len(rows)} / {total} sổ điểm khớp bộ lọc." in page
        assert f'<option value="{teacher.id}" selected>{teacher.full_name}</option>' in page
        wrong = vice.get("/sheets", params={"class": "99Z9", "state": "lost"})
        assert wrong.status_code == 422
        assert "Lớp: không có “99Z9” trong danh sách sổ điểm." in wrong.text
        assert "Trạng thái: không có “lost” trong danh sách sổ điểm." in wrong.text
