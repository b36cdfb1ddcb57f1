"""The teacher's score entry through the portal, against the running system: save, refused cells,
a stale version, submitting, the change log and the Excel round trip (Thông tư 22, Đ5, Đ9)."""

from __future__ import annotations

import html
import io
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import openpyxl  # type: ignore[import-untyped]
import pytest

from hbs_devtools.drive import SystemClient, sign_in_portal

from .factories import SchoolClass, SchoolFactory, password_of

pytestmark = [pytest.mark.db, pytest.mark.broker, pytest.mark.hsm]


@contextmanager
def portal_as(system: SystemClient, username: str) -> Iterator[httpx.Client]:
    """A portal session signed in as this demo person, like a browser's cookie jar."""
    with httpx.Client(base_url=system.stack.url("portal"), timeout=60) as browser:
        signed = sign_in_portal(browser, username, password_of(username))
        assert signed.status_code == 303, signed.text
        yield browser


def form_fields(page: str, form_action: str) -> dict[str, Any]:
    """The named inputs and selected options of one form on the page, as a browser would send them."""
    start = page.index(f'action="{form_action}"')
    form = page[start : page.index("</form>", start)]
    fields: dict[str, Any] = {"sid": re.findall(r'name="sid" value="([^"]+)"', form)}
    for name, value in re.findall(r'<input name="([^"]+)" value="([^"]*)"', form):
        fields[name] = html.unescape(value)
    for name, value in re.findall(r'name="(csrf|version|section)" value="([^"]*)"', form):
        fields[name] = value
    for name, options in re.findall(r'<select name="([^"]+)"[^>]*>(.*?)</select>', form, re.S):
        chosen = re.search(r'<option value="([^"]*)" selected', options)
        fields[name] = html.unescape(chosen.group(1)) if chosen else ""
    return fields


def api_scores(system: SystemClient, token: str, sheet_id: str) -> dict[str, Any]:
    with system.client("grades", token) as grades:
        answer = grades.get(f"/sheets/{sheet_id}/scores")
    assert answer.status_code == 200, answer.text
    scores: dict[str, Any] = answer.json()
    return scores


@pytest.fixture(scope="module")
def klass(school: SchoolFactory) -> SchoolClass:
    """This module's class: four students, a mathematics teacher and a homeroom teacher."""
    return school.school_class(students=4, subjects=("TOAN",))


@pytest.fixture(scope="module")
def teacher(system: SystemClient, klass: SchoolClass) -> Iterator[httpx.Client]:
    with portal_as(system, klass.teachers["TOAN"].username) as browser:
        yield browser


@pytest.fixture(scope="module")
def token(system: SystemClient, klass: SchoolClass) -> str:
    return system.token(klass.teachers["TOAN"].username)


def sheet_of(system: SystemClient, token: str, klass: SchoolClass, term: str) -> dict[str, Any]:
    return next(s for s in system.sheets(token) if s["class_name"] == klass.name and s["term"] == term)


@pytest.fixture(scope="module")
def sheet_id(system: SystemClient, school: SchoolFactory, token: str, klass: SchoolClass) -> str:
    """Semester II of the class's mathematics, every student scored (the tests change cells)."""
    sheet = sheet_of(system, token, klass, "HK2")
    school.fill_scores(klass.teachers["TOAN"], str(sheet["id"]))
    return str(sheet["id"])


def test_the_sheet_list_links_each_sheet_to_its_score_entry_page(
    teacher: httpx.Client, sheet_id: str
) -> None:
    page = teacher.get("/sheets").text
    assert f'<a href="/sheets/{sheet_id}/scores">Nhập điểm</a>' in page


def test_teacher_saves_scores_typed_with_a_decimal_comma_and_sees_the_semester_result(
    system: SystemClient, teacher: httpx.Client, token: str, sheet_id: str
) -> None:
    page = teacher.get(f"/sheets/{sheet_id}/scores")
    assert page.status_code == 200
    form = form_fields(page.text, f"/sheets/{sheet_id}/scores")
    form.update(c0_regular_1="8,5", c0_regular_2="9", c0_regular_3="7", c0_regular_4="8")
    form.update(c0_midterm="9", c0_final="10", c0_comment="Tiến bộ rõ")
    saved = teacher.post(f"/sheets/{sheet_id}/scores", data=form)
    assert saved.status_code == 303
    assert saved.headers["location"] == f"/sheets/{sheet_id}/scores?notice=saved"

    after = teacher.get(saved.headers["location"]).text
    assert "Đã lưu sổ điểm." in after
    first = api_scores(system, token, sheet_id)["rows"][0]
    assert first["regular"] == ["8.5", "9", "7", "8"]
    assert first["comment"] == "Tiến bộ rõ"
    # ĐTBmhk = (8.5 + 9 + 7 + 8 + 2·9 + 3·10) / 9 = 8.94… → 8.9
    assert first["result"] == "8.9"
    assert re.search(r'<td class="result">8,9', after)  # shown with a decimal comma (issue 15)
    assert form_fields(after, f"/sheets/{sheet_id}/scores")["c0_regular_1"] == "8,5"


def test_a_refused_cell_shows_its_message_on_the_cell_keeps_what_was_typed_and_saves_nothing(
    system: SystemClient, teacher: httpx.Client, token: str, sheet_id: str
) -> None:
    before = api_scores(system, token, sheet_id)
    form = form_fields(teacher.get(f"/sheets/{sheet_id}/scores").text, f"/sheets/{sheet_id}/scores")
    form.update(c0_final="6,5", c1_midterm="11", c2_regular_2="tám")
    refused = teacher.post(f"/sheets/{sheet_id}/scores", data=form)

    assert refused.status_code == 422
    page = refused.text
    assert "Có ô không hợp lệ, chưa lưu gì" in page
    assert re.search(r'name="c1_midterm" value="11"[^>]*class="bad"', page)
    assert "“11” lớn hơn 10: điểm từ 0 đến 10" in page
    assert re.search(r'name="c2_regular_2" value="tám"[^>]*class="bad"', page)
    assert 'name="c0_final" value="6,5"' in page  # a valid typed value is kept too
    assert 'data-unsaved="1"' in page  # leaving this page would lose typed work: the browser asks
    assert 'data-unsaved="1"' not in teacher.get(f"/sheets/{sheet_id}/scores").text
    after = api_scores(system, token, sheet_id)
    assert after["sheet"]["version"] == before["sheet"]["version"]
    assert after["rows"] == before["rows"]


def test_a_stale_version_shows_the_conflict_keeps_the_typed_values_and_shows_the_saved_ones(
    system: SystemClient, teacher: httpx.Client, token: str, sheet_id: str
) -> None:
    page = teacher.get(f"/sheets/{sheet_id}/scores").text
    form = form_fields(page, f"/sheets/{sheet_id}/scores")
    scores = api_scores(system, token, sheet_id)
    # Someone else (the same teacher in another tab) saves first.
    with system.client("grades", token) as grades:
        other = grades.put(
            f"/sheets/{sheet_id}/scores",
            json={
                "expected_version": scores["sheet"]["version"],
                "rows": [
                    {"student_id": scores["rows"][1]["student_id"], "midterm": "3"},
                    {"student_id": scores["rows"][2]["student_id"], "final": "1"},
                ],
            },
        )
    assert other.status_code == 200, other.text

    form.update(c1_midterm="9,5", c3_final="4")
    conflict = teacher.post(f"/sheets/{sheet_id}/scores", data=form)
    assert conflict.status_code == 409
    assert "Sổ điểm vừa được lưu ở nơi khác nên chưa lưu gì" in conflict.text
    assert 'name="c1_midterm" value="9,5"' in conflict.text
    assert "đang lưu: 3" in conflict.text
    # A cell only the other save changed takes the new value: re-saving must not undo it.
    assert re.search(r'name="c2_final" value="1"', conflict.text)
    assert "đang lưu: 1</span>" not in conflict.text
    assert api_scores(system, token, sheet_id)["rows"][1]["midterm"] == "3"

    # The form now carries the current version: saving again re-applies the typed values.
    again = form_fields(conflict.text, f"/sheets/{sheet_id}/scores")
    assert int(again["version"]) == other.json()["sheet"]["version"]
    assert teacher.post(f"/sheets/{sheet_id}/scores", data=again).status_code == 303
    rows = api_scores(system, token, sheet_id)["rows"]
    assert (rows[1]["midterm"], rows[2]["final"], rows[3]["final"]) == ("9.5", "1", "4")


def test_the_change_log_shows_who_when_old_and_new(
    teacher: httpx.Client, sheet_id: str, klass: SchoolClass
) -> None:
    page = teacher.get(f"/sheets/{sheet_id}/changes")
    assert page.status_code == 200
    assert "Lịch sử sửa điểm" in page.text
    name = klass.teachers["TOAN"].full_name
    assert re.search(
        rf"<td>{name}</td><td>[^<]+</td><td>ĐĐGgk</td>\s*<td>3 → 9,5</td>", page.text
    )  # decimal comma (issue 15)
    assert re.search(r"\d\d/\d\d/\d{4} \d\d:\d\d", page.text)


def test_another_teacher_cannot_open_the_sheet_and_the_principal_only_reads_it(
    system: SystemClient, sheet_id: str, klass: SchoolClass
) -> None:
    assert klass.homeroom is not None  # leads the class but does not teach mathematics
    with portal_as(system, klass.homeroom.username) as colleague:
        page = colleague.get(f"/sheets/{sheet_id}/scores")
        assert page.status_code == 404
        assert "Không tìm thấy sổ điểm" in page.text
        assert colleague.get(f"/sheets/{sheet_id}/scores.xlsx").status_code == 404
        assert colleague.get(f"/sheets/{sheet_id}/changes").status_code == 404
    with portal_as(system, "hieutruong") as principal:
        page = principal.get(f"/sheets/{sheet_id}/scores")
        assert page.status_code == 200
        assert "Bạn chỉ xem được sổ điểm này." in page.text
        assert 'name="c0_midterm"' not in page.text


def test_a_forged_form_changes_nothing(
    system: SystemClient, teacher: httpx.Client, token: str, sheet_id: str
) -> None:
    before = api_scores(system, token, sheet_id)
    form = form_fields(teacher.get(f"/sheets/{sheet_id}/scores").text, f"/sheets/{sheet_id}/scores")
    form.update(csrf="x" * 20, c0_midterm="1")
    assert teacher.post(f"/sheets/{sheet_id}/scores", data=form).status_code == 403
    assert api_scores(system, token, sheet_id)["rows"] == before["rows"]


def test_excel_download_edit_and_upload_round_trip(
    system: SystemClient, teacher: httpx.Client, token: str, sheet_id: str
) -> None:
    download = teacher.get(f"/sheets/{sheet_id}/scores.xlsx")
    assert download.status_code == 200
    assert "attachment" in download.headers["content-disposition"]
    book = openpyxl.load_workbook(io.BytesIO(download.content))
    sheet = book.active
    assert sheet is not None
    assert sheet["E4"].value == "ĐĐGtx 1"
    sheet["I5"] = "7,5"  # first student's ĐĐGgk, typed the Vietnamese way
    sheet["J6"] = 6  # second student's ĐĐGck, as a number
    edited = io.BytesIO()
    book.save(edited)
    csrf = form_fields(teacher.get(f"/sheets/{sheet_id}/scores").text, f"/sheets/{sheet_id}/scores")["csrf"]

    uploaded = teacher.post(
        f"/sheets/{sheet_id}/scores.xlsx",
        data={"csrf": csrf},
        files={"file": ("so-diem.xlsx", edited.getvalue())},
    )
    assert uploaded.status_code == 303
    assert "Đã nhập điểm từ tệp Excel." in teacher.get(uploaded.headers["location"]).text
    rows = api_scores(system, token, sheet_id)["rows"]
    assert (rows[0]["midterm"], rows[1]["final"]) == ("7.5", "6")

    # The same file again: nothing else changed since it was downloaded, so it is accepted
    # (its cells are already stored; test_portal_dead_ends covers a file someone else overtook).
    again = teacher.post(
        f"/sheets/{sheet_id}/scores.xlsx",
        data={"csrf": csrf},
        files={"file": ("so-diem.xlsx", edited.getvalue())},
    )
    assert again.status_code == 303
    assert api_scores(system, token, sheet_id)["rows"] == rows


def test_a_bad_excel_cell_is_reported_with_its_address_and_nothing_is_stored(
    system: SystemClient, teacher: httpx.Client, token: str, sheet_id: str
) -> None:
    before = api_scores(system, token, sheet_id)
    book = openpyxl.load_workbook(io.BytesIO(teacher.get(f"/sheets/{sheet_id}/scores.xlsx").content))
    sheet = book.active
    assert sheet is not None
    sheet["E5"] = "5"
    sheet["F7"] = "12"
    edited = io.BytesIO()
    book.save(edited)
    csrf = form_fields(teacher.get(f"/sheets/{sheet_id}/scores").text, f"/sheets/{sheet_id}/scores")["csrf"]

    refused = teacher.post(
        f"/sheets/{sheet_id}/scores.xlsx",
        data={"csrf": csrf},
        files={"file": ("so-diem.xlsx", edited.getvalue())},
    )
    assert refused.status_code == 422
    third = before["rows"][2]["full_name"]
    assert f"F7 – {third}, ĐĐGtx 2: “12” lớn hơn 10" in refused.text
    assert api_scores(system, token, sheet_id)["rows"] == before["rows"]

    not_excel = teacher.post(
        f"/sheets/{sheet_id}/scores.xlsx", data={"csrf": csrf}, files={"file": ("a.xlsx", b"hello")}
    )
    assert not_excel.status_code == 422
    assert "Tệp Excel: không phải tệp .xlsx." in not_excel.text


def test_submit_lists_what_is_missing_then_a_submitted_sheet_needs_a_reason_for_changes(
    system: SystemClient, teacher: httpx.Client, token: str, sheet_id: str
) -> None:
    scores = api_scores(system, token, sheet_id)
    first = scores["rows"][0]
    with system.client("grades", token) as grades:
        erased = grades.put(
            f"/sheets/{sheet_id}/scores",
            json={
                "expected_version": scores["sheet"]["version"],
                "rows": [{"student_id": first["student_id"], "final": None}],
            },
        )
    assert erased.status_code == 200, erased.text
    page = teacher.get(f"/sheets/{sheet_id}/scores").text
    submit = form_fields(page, f"/sheets/{sheet_id}/submit-scores")
    refused = teacher.post(f"/sheets/{sheet_id}/submit-scores", data=submit)
    assert refused.status_code == 422
    assert "Sổ điểm còn thiếu đánh giá, chưa nộp được" in refused.text
    assert f"<li>{first['full_name']}: ĐĐGck</li>" in refused.text
    assert api_scores(system, token, sheet_id)["sheet"]["state"] == "open"

    form = form_fields(refused.text, f"/sheets/{sheet_id}/scores")
    form["c0_final"] = "8"
    assert teacher.post(f"/sheets/{sheet_id}/scores", data=form).status_code == 303
    page = teacher.get(f"/sheets/{sheet_id}/scores").text
    submitted = teacher.post(
        f"/sheets/{sheet_id}/submit-scores", data=form_fields(page, f"/sheets/{sheet_id}/submit-scores")
    )
    assert submitted.status_code == 303
    page = teacher.get(submitted.headers["location"]).text
    assert "Đã nộp sổ điểm." in page
    assert "Lý do sửa (bắt buộc vì sổ điểm đã nộp)" in page

    form = form_fields(page, f"/sheets/{sheet_id}/scores")
    form.update(c0_final="8,5", reason="")
    no_reason = teacher.post(f"/sheets/{sheet_id}/scores", data=form)
    assert no_reason.status_code == 422
    assert "Lý do sửa: Sổ điểm đã nộp: cần ghi lý do sửa." in no_reason.text
    assert 'name="c0_final" value="8,5"' in no_reason.text
    form["reason"] = "Chấm lại bài kiểm tra cuối kỳ"
    assert teacher.post(f"/sheets/{sheet_id}/scores", data=form).status_code == 303
    log = teacher.get(f"/sheets/{sheet_id}/changes").text
    assert re.search(r"<td>8 → 8,5</td><td>Chấm lại bài kiểm tra cuối kỳ</td>", log)


def test_a_comment_only_subject_gets_dat_chua_dat_choices_and_an_exempt_student_is_read_only() -> None:
    """Thông tư 22: comment-only subjects take Đ / CĐ; an exempt student has no cells to fill."""
    from types import SimpleNamespace

    from hbs_portal.web.common import templates
    from hbs_portal.web.scores import STATUS_CHOICES, PageState, grid_rows

    def row(name: str, status: str, marks: list[str | None]) -> dict[str, Any]:
        return {
            "student_id": f"00000000-0000-0000-0000-00000000000{len(name)}",
            "full_name": name,
            "regular": marks,
            "midterm": None,
            "final": None,
            "comment": "",
            "status": status,
            "result": None,
            "missing": ["midterm", "final"] if status == "assessed" else [],
        }

    scores = {
        "columns": [
            {"key": "regular_1", "label": "ĐĐGtx 1"},
            {"key": "regular_2", "label": "ĐĐGtx 2"},
            {"key": "midterm", "label": "ĐĐGgk"},
            {"key": "final", "label": "ĐĐGck"},
            {"key": "comment", "label": "Nhận xét"},
        ],
        "rows": [row("Lê An", "assessed", ["Đ", None]), row("Trần Bình", "exempt", [None, None])],
    }
    sheet = {
        "id": "s",
        "subject": "Giáo dục thể chất",
        "class_name": "10A1",
        "term_label": "Học kỳ I",
        "state": "open",
        "state_label": "đang nhập điểm",
        "teacher_id": "t",
        "teacher_name": "GV",
        "version": 3,
        "assessment": "comment",
    }
    web = SimpleNamespace(
        user_id="t", roles=["subject_teacher"], csrf_token="c", display_name="GV", pending_step=None
    )
    page = templates.get_template("grades/scores.html").render(
        web=web,
        sheet=sheet,
        columns=scores["columns"],
        rows=grid_rows(scores),
        editable=True,
        comment_only=True,
        status_choices=STATUS_CHOICES,
        state=PageState(),
        correction=None,
        open_cells=None,
        board=False,
        # The layout's reminder banner reads the request (no reminders here).
        request=SimpleNamespace(
            state=SimpleNamespace(banner=[]), url=SimpleNamespace(path="/sheets/s/scores")
        ),
    )
    first = re.search(r'<select name="c0_regular_1".*?</select>', page, re.S)
    assert first is not None
    assert re.findall(r'<option value="([^"]*)"', first.group(0)) == ["", "Đ", "CĐ"]
    assert '<option value="Đ" selected>' in first.group(0)
    exempt = re.search(r'<select name="c1_status".*?</select>', page, re.S)
    assert exempt is not None
    assert '<option value="exempt" selected>Miễn học</option>' in exempt.group(0)
    assert not re.search(r'name="c1_(regular|midterm|final|comment)', page)  # no cells to type in
    assert "<th>Kết quả</th>" in page


def test_teacher_marks_a_student_exempt_and_back_and_not_assessed_needs_a_disability(
    system: SystemClient, teacher: httpx.Client, token: str, klass: SchoolClass
) -> None:
    """Miễn học (e.g. GDTC on a doctor's advice) and "not assessed" (Đ6, disability) per student."""
    sheet = sheet_of(system, token, klass, "HK1")
    action = f"/sheets/{sheet['id']}/scores"
    last = len(api_scores(system, token, sheet["id"])["rows"]) - 1

    form = form_fields(teacher.get(action).text, action)
    assert form[f"c{last}_status"] == "assessed"
    saved = teacher.post(action, data={**form, f"c{last}_status": "exempt"})
    assert saved.status_code == 303, saved.text
    row = api_scores(system, token, sheet["id"])["rows"][last]
    assert (row["status"], row["missing"]) == ("exempt", [])
    page = teacher.get(action).text
    assert form_fields(page, action)[f"c{last}_status"] == "exempt"
    assert f'name="c{last}_final"' not in page  # no cells for an exempt student

    back = teacher.post(action, data={**form_fields(page, action), f"c{last}_status": "assessed"})
    assert back.status_code == 303, back.text
    assert api_scores(system, token, sheet["id"])["rows"][last]["status"] == "assessed"

    before = api_scores(system, token, sheet["id"])
    form = form_fields(teacher.get(action).text, action)
    refused = teacher.post(action, data={**form, f"c{last}_status": "not_assessed"})
    assert refused.status_code == 422
    assert "chỉ dành cho học sinh khuyết tật" in refused.text
    assert api_scores(system, token, sheet["id"]) == before


def test_scores_show_a_decimal_comma_excel_holds_numbers_and_the_history_vietnam_time(
    system: SystemClient, teacher: httpx.Client, token: str, sheet_id: str
) -> None:
    """Issue 15: "8,5" on the page, 8.5 as a number in Excel, dd/mm/yyyy HH:mm in the history."""
    scores = api_scores(system, token, sheet_id)
    first = scores["rows"][0]
    with system.client("grades", token) as grades:
        saved = grades.put(
            f"/sheets/{sheet_id}/scores",
            json={
                "expected_version": scores["sheet"]["version"],
                "rows": [{"student_id": first["student_id"], "midterm": "8.5"}],
                "reason": "Nhập lại điểm giữa kỳ",  # the sheet was submitted by an earlier test
            },
        )
    assert saved.status_code == 200, saved.text
    grid = f"/sheets/{sheet_id}/scores"
    page = teacher.get(grid).text
    assert form_fields(page, grid)["c0_midterm"] == "8,5"
    results = re.findall(r'<td class="result">([^<]*)', page)
    assert any(results)
    assert not [r for r in results if "." in r]

    book = openpyxl.load_workbook(io.BytesIO(teacher.get(f"{grid}.xlsx").content))
    cell = book.active["I5"]  # the first student's ĐĐGgk
    # A number in the General format: the file holds 8.5, a Vietnamese Excel shows "8,5".
    assert (cell.value, cell.data_type, cell.number_format) == (8.5, "n", "General")

    history = teacher.get(f"/sheets/{sheet_id}/changes").text
    assert re.search(r"<td>\d\d/\d\d/\d{4} \d\d:\d\d</td>", history)
    assert not re.search(r"\d{4}-\d\d-\d\dT\d\d:", history)
    assert "8,5" in history
