"""The score grid as teachers use it (issue 15), in a real browser (Debian's Chromium, headless):
each cell checked and the row's ĐTBmhk shown as the teacher types, a block pasted from Excel, a
draft that survives a reload, and a page that fits a phone and a tablet with the grid scrolling
inside its own box under a sticky header row and name column."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from playwright.sync_api import FloatRect, Locator, Page, expect

from hbs_devtools.drive import SystemClient
from hbs_shared.display import average_text

from .a11y import assert_accessible
from .factories import SchoolClass, SchoolFactory, password_of

pytestmark = [pytest.mark.db, pytest.mark.broker, pytest.mark.hsm]

SUBJECT = "LICH_SU"
"""52 periods a year: three ĐĐGtx, so ĐTBmhk divides by 8 and can fall exactly on a half."""
PASTE = """(args) => {
    const [selector, text] = args;
    const target = document.querySelector(selector);
    target.focus();
    const data = new DataTransfer();
    data.setData("text/plain", text);
    const event = new ClipboardEvent("paste", {clipboardData: data, bubbles: true, cancelable: true});
    target.dispatchEvent(event);
    return event.defaultPrevented;
}"""


@pytest.fixture
def klass(school: SchoolFactory) -> SchoolClass:
    """A class of its own per test (each one saves scores): three students, one history teacher."""
    return school.school_class(students=3, subjects=(SUBJECT,), homeroom=False)


def sheet_of(system: SystemClient, klass: SchoolClass, subject: str = SUBJECT) -> dict[str, Any]:
    token = system.token(klass.teachers[subject].username)
    found: dict[str, Any] = next(
        s for s in system.sheets(token) if s["class_name"] == klass.name and s["term"] == "HK2"
    )
    return found


def open_grid(
    page: Page, system: SystemClient, klass: SchoolClass, sheet: dict[str, Any], subject: str = SUBJECT
) -> None:
    teacher = klass.teachers[subject].username
    page.goto(system.stack.url("portal") + "/")
    page.get_by_label("Tên đăng nhập").fill(teacher)
    page.get_by_label("Mật khẩu").fill(password_of(teacher))
    page.get_by_role("button", name="Đăng nhập").click()
    page.on("dialog", lambda dialog: dialog.accept())  # leaving with unsaved scores: yes
    page.goto(system.stack.url("portal") + f"/sheets/{sheet['id']}/scores")
    expect(page.locator('[data-r="0"][data-c="0"]')).to_be_visible()


def saved_rows(
    system: SystemClient, klass: SchoolClass, sheet: dict[str, Any], subject: str = SUBJECT
) -> list[dict[str, Any]]:
    token = system.token(klass.teachers[subject].username)
    with system.client("grades", token) as grades:
        rows: list[dict[str, Any]] = grades.get(f"/sheets/{sheet['id']}/scores").json()["rows"]
    return rows


def type_row(page: Page, row: int, values: tuple[str, ...], start: int = 0) -> None:
    """Type into one row from column `start` rightwards, moving with the arrow key (as teachers do)."""
    first = page.locator(f'input[data-r="{row}"][data-c="{start}"]')
    first.click()
    first.select_text()
    for value in values:
        page.keyboard.type(value)
        page.keyboard.press("ArrowRight")


def result_of(page: Page, row: int) -> Locator:
    return page.locator("tbody tr").nth(row).locator("td.result")


def test_each_cell_is_checked_and_the_semester_average_shown_as_typed_equal_to_what_grades_saves(
    page: Page, system: SystemClient, klass: SchoolClass
) -> None:
    sheet = sheet_of(system, klass)
    open_grid(page, system, klass, sheet)
    assert_accessible(page)

    # Row 1: ĐĐGtx 8, 8, 8, ĐĐGgk 7,5 and, last, ĐĐGck: nothing until the formula has all it needs.
    type_row(page, 0, ("8", "8", "8", "7,5"))
    expect(result_of(page, 0)).to_have_text("(thiếu 1)")
    expect(result_of(page, 0).locator("span")).to_have_attribute("title", "Còn thiếu: ĐĐGck")
    page.keyboard.type("7.4")
    # (8 + 8 + 8 + 2·7,5 + 3·7,4) / 8 = 7,65 exactly: half up gives 7,7 (half to even would say 7,6).
    expect(result_of(page, 0)).to_have_text("7,7")
    type_row(page, 2, ("10", "10", "10", "10", "10"))
    expect(result_of(page, 2)).to_have_text("10,0")  # an average shows one decimal always

    # Row 2: a score over 10 is marked as it is typed, with grades' own words, not by colour only.
    cell = page.locator('input[name="c1_regular_1"]')
    type_row(page, 1, ("11",))
    expect(cell).to_have_attribute("aria-invalid", "true")
    reason = page.locator("#why-c1_regular_1")
    expect(reason).to_have_text("“11” lớn hơn 10: điểm từ 0 đến 10")
    expect(reason).to_be_visible()
    expect(cell).to_have_attribute("aria-describedby", "why-c1_regular_1")
    # "8," on the way to "8,5" is not flagged while typing, but it is once the cell is left.
    cell.click()
    cell.select_text()
    page.keyboard.type("8,")
    expect(cell).not_to_have_attribute("aria-invalid", "true")
    page.keyboard.press("ArrowRight")
    expect(reason).to_have_text("“8,” không phải điểm hợp lệ: điểm từ 0 đến 10, tối đa một chữ số thập phân")
    cell.click()
    page.keyboard.type("5")
    expect(cell).not_to_have_attribute("aria-invalid", "true")
    expect(reason).to_have_count(0)
    type_row(page, 1, ("9", "10", "tám", "9"), start=1)
    expect(page.locator("#why-c1_midterm")).to_have_text(
        "“tám” không phải điểm hợp lệ: điểm từ 0 đến 10, tối đa một chữ số thập phân"
    )
    expect(result_of(page, 1)).to_have_text("")  # a bad cell: no average
    midterm = page.locator('input[name="c1_midterm"]')
    midterm.click()
    midterm.select_text()
    page.keyboard.type("9")
    # (8,5 + 9 + 10 + 2·9 + 3·9) / 8 = 72,5 / 8 = 9,0625 → 9,1
    expect(result_of(page, 1)).to_have_text("9,1")
    assert_accessible(page)  # the page with its live marks and averages

    live = [result_of(page, i).inner_text() for i in range(3)]
    page.get_by_role("button", name="Lưu", exact=True).click()
    expect(page.get_by_role("status")).to_have_text("Đã lưu sổ điểm.")
    rows = saved_rows(system, klass, sheet)
    assert [r["result"] for r in rows] == ["7.7", "9.1", "10.0"]
    assert live == [average_text(Decimal(r["result"])) for r in rows]
    assert [result_of(page, i).inner_text() for i in range(3)] == live


def test_a_comment_subject_shows_dat_or_chua_dat_as_chosen_and_an_exempt_student_nothing(
    page: Page, system: SystemClient, school: SchoolFactory
) -> None:
    klass = school.school_class(students=2, subjects=("GDTC",), homeroom=False)
    sheet = sheet_of(system, klass, "GDTC")
    open_grid(page, system, klass, sheet, "GDTC")
    for key in ("regular_1", "regular_2", "regular_3", "midterm"):
        page.locator(f'select[name="c0_{key}"]').select_option("Đ")
        page.locator(f'select[name="c1_{key}"]').select_option("CĐ" if key == "midterm" else "Đ")
    expect(result_of(page, 0)).to_have_text("(thiếu 1)")
    page.locator('select[name="c0_final"]').select_option("Đ")
    page.locator('select[name="c1_final"]').select_option("Đ")
    # Đạt only when every assessment is Đạt (comment_semester_result).
    expect(result_of(page, 0)).to_have_text("Đ")
    expect(result_of(page, 1)).to_have_text("CĐ")
    # Miễn học: no result at all, as grades would say; and back.
    page.locator('select[name="c1_status"]').select_option("exempt")
    expect(result_of(page, 1)).to_have_text("")
    page.locator('select[name="c1_status"]').select_option("assessed")
    expect(result_of(page, 1)).to_have_text("CĐ")
    assert_accessible(page)

    live = [result_of(page, i).inner_text() for i in range(2)]
    page.get_by_role("button", name="Lưu", exact=True).click()
    expect(page.get_by_role("status")).to_have_text("Đã lưu sổ điểm.")
    assert [r["result"] for r in saved_rows(system, klass, sheet, "GDTC")] == live == ["Đ", "CĐ"]


def test_a_block_pasted_from_excel_fills_right_and_down_and_says_what_was_left_out(
    page: Page, system: SystemClient, klass: SchoolClass
) -> None:
    sheet = sheet_of(system, klass)
    open_grid(page, system, klass, sheet)
    # One value is the browser's own paste; only a block (tabs, newlines) is spread over cells.
    assert not page.evaluate(PASTE, ['input[name="c0_regular_1"]', "7"])

    # Copied from Excel (a trailing newline, "8,5" and "8.5" alike), pasted into row 2's ĐĐGtx 2:
    # three rows of five values, on a grid of three rows whose last column there is ĐĐGck + Nhận xét.
    block = "8,5\t9\t7.5\t8\t\t99\n6\tabc\t12\t9\n5\t5\t5\t5\n"
    assert page.evaluate(PASTE, ['input[name="c1_regular_2"]', block])
    expect(page.locator('input[name="c1_regular_2"]')).to_have_value("8,5")
    expect(page.locator('input[name="c1_regular_3"]')).to_have_value("9")
    expect(page.locator('input[name="c1_midterm"]')).to_have_value("7.5")
    expect(page.locator('input[name="c1_final"]')).to_have_value("8")
    expect(page.locator('input[name="c1_comment"]')).to_have_value("")
    expect(page.locator('input[name="c2_regular_2"]')).to_have_value("6")
    expect(page.locator('input[name="c2_final"]')).to_have_value("9")
    # Bad values stay where they were pasted, marked with the reason.
    expect(page.locator('input[name="c2_regular_3"]')).to_have_value("abc")
    expect(page.locator('input[name="c2_regular_3"]')).to_have_attribute("aria-invalid", "true")
    expect(page.locator('input[name="c2_midterm"]')).to_have_value("12")
    expect(page.locator("#why-c2_midterm")).to_have_text("“12” lớn hơn 10: điểm từ 0 đến 10")
    # The sixth value of the first line falls in the result column, the third line below the grid.
    expect(page.locator("#grid-status")).to_have_text(
        "Đã dán 9 ô. 5 ô nằm ngoài bảng điểm (hoặc không sửa được) nên bị bỏ qua. "
        "2 ô chưa hợp lệ, lý do ghi dưới ô; sửa trước khi lưu."
    )
    expect(result_of(page, 1)).to_have_text("(thiếu 1)")  # ĐĐGtx 1 still empty
    type_row(page, 1, ("7",))
    # (7 + 8,5 + 9 + 2·7,5 + 3·8) / 8 = 63,5 / 8 = 7,9375 → 7,9
    expect(result_of(page, 1)).to_have_text("7,9")
    # Pasted again over the bad ones (Windows line ends this time).
    assert page.evaluate(PASTE, ['input[name="c2_regular_1"]', "4\t7\t6,5\t6,5\r\n"])
    expect(page.locator('input[name="c2_regular_3"]')).not_to_have_attribute("aria-invalid", "true")
    expect(page.locator('input[name="c2_midterm"]')).not_to_have_attribute("aria-invalid", "true")
    # (4 + 7 + 6,5 + 2·6,5 + 3·9) / 8 = 57,5 / 8 = 7,1875 → 7,2
    expect(result_of(page, 2)).to_have_text("7,2")
    expect(page.locator("#grid-status")).to_have_text("Đã dán 4 ô.")

    live = [result_of(page, i).inner_text() for i in (1, 2)]
    page.get_by_role("button", name="Lưu", exact=True).click()
    expect(page.get_by_role("status")).to_have_text("Đã lưu sổ điểm.")
    rows = saved_rows(system, klass, sheet)
    assert (rows[1]["regular"], rows[1]["midterm"], rows[1]["final"]) == (["7", "8.5", "9"], "7.5", "8")
    assert live == [average_text(Decimal(rows[i]["result"])) for i in (1, 2)] == ["7,9", "7,2"]


def drafts_in(page: Page) -> dict[str, Any]:
    found: dict[str, Any] = page.evaluate(
        "() => Object.fromEntries(Object.keys(localStorage).map((k) => [k, localStorage.getItem(k)]))"
    )
    return found


def reload(page: Page) -> None:
    """Close and open the page again (open_grid agreed to leave unsaved work)."""
    page.reload()
    expect(page.locator('[data-r="0"][data-c="0"]')).to_be_visible()


def test_unsaved_scores_are_kept_as_a_draft_offered_back_after_a_reload_and_dropped_once_saved(
    page: Page, system: SystemClient, klass: SchoolClass
) -> None:
    sheet = sheet_of(system, klass)
    open_grid(page, system, klass, sheet)
    version = sheet["version"]
    key = f"hbs-grid-draft:{sheet['id']}:{version}"
    banner = page.locator("#grid-draft")
    expect(banner).to_be_hidden()

    type_row(page, 0, ("6,5", "7"))
    page.locator('input[name="c0_comment"]').fill("Nhận xét riêng về em")
    stored = drafts_in(page)
    assert list(stored) == [key]
    draft = json.loads(stored[key])
    assert draft["cells"] == {klass.students[0].id: {"regular_1": "6,5", "regular_2": "7"}}
    assert not any(s.full_name in stored[key] for s in klass.students)  # scores only
    assert "Nhận xét" not in stored[key]

    # Closed and opened again: the saved (empty) sheet, and the draft offered, not applied.
    reload(page)
    expect(page.locator('input[name="c0_regular_1"]')).to_have_value("")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("bản nháp chưa lưu của sổ điểm (2 ô, ghi lúc ")
    assert_accessible(page)
    page.get_by_role("button", name="Bỏ bản nháp").click()
    expect(banner).to_be_hidden()
    expect(page.locator("#grid-status")).to_have_text("Đã bỏ bản nháp.")
    assert drafts_in(page) == {}
    reload(page)
    expect(banner).to_be_hidden()

    # Again, and this time taken back; it is dropped once the sheet is saved.
    type_row(page, 0, ("6,5", "7", "8", "9", "9,5"))
    reload(page)
    expect(banner).to_contain_text("(5 ô, ")
    page.get_by_role("button", name="Khôi phục bản nháp").click()
    expect(banner).to_be_hidden()
    expect(page.locator("#grid-status")).to_have_text(
        "Đã khôi phục 5 ô từ bản nháp (chưa lưu: bấm “Lưu” để ghi)."
    )
    expect(page.locator('input[name="c0_regular_1"]')).to_have_value("6,5")
    expect(page.locator('input[name="c0_final"]')).to_have_value("9,5")
    expect(page.locator('input[name="c0_regular_1"]')).to_be_focused()
    # (6,5 + 7 + 8 + 2·9 + 3·9,5) / 8 = 68 / 8 = 8,5
    expect(result_of(page, 0)).to_have_text("8,5")
    assert list(drafts_in(page)) == [key]
    page.get_by_role("button", name="Lưu", exact=True).click()
    expect(page.get_by_role("status")).to_have_text("Đã lưu sổ điểm.")
    # The saved page is drawn before grid.js runs on it (and drops the draft it now shows).
    page.wait_for_function("() => !Object.keys(localStorage).some((k) => k.startsWith('hbs-grid-draft:'))")
    assert drafts_in(page) == {}
    assert saved_rows(system, klass, sheet)[0]["result"] == "8.5"
    reload(page)
    expect(banner).to_be_hidden()

    # A draft of an older version: the sheet was saved elsewhere meanwhile. It is offered as
    # stale and not applied; taken back on purpose, it goes over the newer value.
    type_row(page, 1, ("4",))
    page.locator('input[name="c1_regular_1"]').blur()
    token = system.token(klass.teachers[SUBJECT].username)
    current = page.locator('input[name="version"]').first.get_attribute("value")
    assert current is not None
    with system.client("grades", token) as grades:
        answer = grades.put(
            f"/sheets/{sheet['id']}/scores",
            json={
                "expected_version": int(current),
                "rows": [{"student_id": klass.students[1].id, "regular": ["6"]}],
            },
        )
        assert answer.status_code == 200, answer.text
    reload(page)
    expect(page.locator('input[name="c1_regular_1"]')).to_have_value("6")
    expect(banner).to_have_class("notice draft stale")
    expect(banner).to_contain_text("của một phiên bản cũ hơn của sổ điểm")
    assert_accessible(page)
    page.get_by_role("button", name="Khôi phục bản nháp").click()
    expect(page.locator('input[name="c1_regular_1"]')).to_have_value("4")
    newer = page.locator('input[name="version"]').first.get_attribute("value")
    assert list(drafts_in(page)) == [f"hbs-grid-draft:{sheet['id']}:{newer}"]

    # Signing out on a shared computer leaves no scores behind.
    page.get_by_role("button", name="Đăng xuất").click()
    expect(page.locator('input[name="username"]')).to_be_visible()
    assert drafts_in(page) == {}


def where(locator: Locator) -> FloatRect:
    found = locator.bounding_box()
    assert found is not None, locator
    return found


def page_width(page: Page) -> tuple[int, int]:
    sizes: list[int] = page.evaluate(
        "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    return sizes[0], sizes[1]


def test_the_grid_fits_a_phone_and_a_tablet_and_scrolls_in_its_own_box_under_a_sticky_header_and_names(
    page: Page, system: SystemClient, school: SchoolFactory
) -> None:
    klass = school.school_class(students=12, subjects=(SUBJECT,), homeroom=False)
    sheet = sheet_of(system, klass)
    page.set_viewport_size({"width": 390, "height": 844})
    open_grid(page, system, klass, sheet)
    assert page_width(page)[0] <= 390, page_width(page)
    box = page.locator(".grid-scroll")
    # The grid is wider and taller than the phone: it scrolls inside its box.
    assert box.evaluate("(b) => b.scrollWidth > b.clientWidth && b.scrollHeight > b.clientHeight")
    for cell in ('input[name="c0_regular_1"]', 'input[name="c0_final"]', 'select[name="c0_status"]'):
        size = where(page.locator(cell))
        assert size["height"] >= 44 - 0.5, (cell, size)  # big enough to tap
        assert size["width"] >= 44, (cell, size)
    assert_accessible(page)

    header = page.locator("thead th").nth(3)
    name = page.locator("tbody tr").nth(0).locator(".name")
    score = page.locator('input[name="c0_regular_3"]')
    top, name_before, score_before = where(box), where(name), where(score)
    box.evaluate("(b) => { b.scrollTop = 200; b.scrollLeft = 160; }")
    # The header row stays at the box's top; the names stay at its left edge (the row number,
    # STT, scrolls under them); the scores move under both.
    assert abs(where(header)["y"] - top["y"]) <= 2, (where(header), top)
    assert name_before["x"] > top["x"] + 20, (name_before, top)
    assert abs(where(name)["x"] - top["x"]) <= 2, (where(name), top)
    assert where(score)["x"] < score_before["x"] - 100, (where(score), score_before)
    assert where(score)["y"] < score_before["y"] - 100, (where(score), score_before)

    # Keys still move between cells inside the scrolling box.
    last = page.locator('input[name="c11_regular_1"]')
    last.click()
    page.keyboard.type("9")
    page.keyboard.press("ArrowUp")
    expect(page.locator('input[name="c10_regular_1"]')).to_be_focused()

    page.set_viewport_size({"width": 768, "height": 1024})
    reload(page)
    assert page_width(page)[0] <= 768, page_width(page)
    assert_accessible(page)
    page.set_viewport_size({"width": 1366, "height": 768})
    reload(page)
    assert page_width(page)[0] <= 1366, page_width(page)
    assert_accessible(page)
