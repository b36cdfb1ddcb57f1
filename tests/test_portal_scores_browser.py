"""The score entry grid in a real browser (Debian's Chromium, headless): a teacher types scores
with the keyboard only, saves, and sees the computed semester average (Thông tư 22, ĐTBmhk)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Dialog, Page, expect

from hbs_devtools.drive import SystemClient

from .a11y import assert_accessible
from .factories import SchoolClass, SchoolFactory, password_of

pytestmark = [pytest.mark.db, pytest.mark.broker, pytest.mark.hsm]


@pytest.fixture(scope="module")
def klass(school: SchoolFactory) -> SchoolClass:
    """Two students and a mathematics teacher: an empty semester II sheet to type into."""
    return school.school_class(students=2, subjects=("TOAN",), homeroom=False)


def test_teacher_types_scores_with_the_keyboard_saves_and_sees_the_semester_average(
    page: Page, system: SystemClient, klass: SchoolClass
) -> None:
    teacher = klass.teachers["TOAN"].username
    token = system.token(teacher)
    sheet = next(s for s in system.sheets(token) if s["class_name"] == klass.name and s["term"] == "HK2")
    page.goto(system.stack.url("portal") + "/")
    page.get_by_label("Tên đăng nhập").fill(teacher)
    page.get_by_label("Mật khẩu").fill(password_of(teacher))
    page.get_by_role("button", name="Đăng nhập").click()
    page.locator(f'tr[data-sheet="{sheet["id"]}"]').get_by_role("link", name="Nhập điểm").click()
    expect(page.get_by_role("heading", name=f"Sổ điểm Toán – lớp {klass.name} – Học kỳ II")).to_be_visible()
    assert_accessible(page)

    first = page.locator('input[name="c0_regular_1"]')
    first.click()
    first.select_text()
    # Across the first row with the right arrow (each cell's text is selected on arrival).
    for typed in ("8,5", "9", "7", "8", "9", "10"):
        page.keyboard.type(typed)
        page.keyboard.press("ArrowRight")
    expect(page.locator('input[name="c0_comment"]')).to_be_focused()
    # Enter goes down a row, like a spreadsheet; ArrowUp comes back.
    page.keyboard.press("Enter")
    expect(page.locator('input[name="c1_comment"]')).to_be_focused()
    page.keyboard.press("ArrowUp")
    expect(page.locator('input[name="c0_comment"]')).to_be_focused()
    page.keyboard.type("Chăm chỉ")

    # Leaving with unsaved changes asks first.
    dialogs: list[str] = []

    def dismiss(dialog: Dialog) -> None:
        dialogs.append(dialog.type)
        dialog.dismiss()

    page.on("dialog", dismiss)
    page.get_by_role("link", name="Danh sách sổ điểm").click()
    expect(page.locator('input[name="c0_comment"]')).to_have_value("Chăm chỉ")
    assert dialogs == ["beforeunload"]

    page.get_by_role("button", name="Lưu", exact=True).click()
    expect(page.get_by_role("status")).to_have_text("Đã lưu sổ điểm.")
    row = page.locator("tbody tr").first
    # ĐTBmhk = (8.5 + 9 + 7 + 8 + 2·9 + 3·10) / 9 = 8.94… → 8.9
    expect(row.locator("td.result")).to_have_text("8,9")  # decimal comma (issue 15)
    expect(page.locator('input[name="c0_regular_1"]')).to_have_value("8,5")
    assert_accessible(page)
    with system.client("grades", token) as grades:
        saved = grades.get(f"/sheets/{sheet['id']}/scores").json()["rows"][0]
    assert (saved["regular"], saved["midterm"], saved["final"]) == (["8.5", "9", "7", "8"], "9", "10")

    # Issue 15: a link cut short when copied is a Vietnamese page with the way back, not JSON.
    page.goto(system.stack.url("portal") + f"/sheets/{sheet['id'][:8]}/scores")
    expect(page.get_by_role("heading", name="Đường dẫn không hợp lệ")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("link", name="Về trang chính của bạn").click()
    expect(page.locator(f'tr[data-sheet="{sheet["id"]}"]')).to_be_visible()
    assert_accessible(page)


def test_the_first_score_cell_is_three_tab_presses_after_the_skip_link(
    page: Page, system: SystemClient, klass: SchoolClass
) -> None:
    """Issue 15: 11 Tab presses reached the first score cell; the skip link comes first now."""
    teacher = klass.teachers["TOAN"].username
    sheet = next(s for s in system.sheets(system.token(teacher)) if s["class_name"] == klass.name)
    page.goto(system.stack.url("portal") + "/")
    page.get_by_label("Tên đăng nhập").fill(teacher)
    page.get_by_label("Mật khẩu").fill(password_of(teacher))
    page.get_by_role("button", name="Đăng nhập").click()
    page.goto(system.stack.url("portal") + f"/sheets/{sheet['id']}/scores")
    expect(page.locator('input[data-r="0"][data-c="0"]')).to_be_visible()
    # The menu marks where the teacher is (a page under "Sổ điểm").
    expect(
        page.get_by_role("navigation", name="Menu chính").get_by_role("link", name="Sổ điểm")
    ).to_have_attribute("aria-current", "true")

    page.keyboard.press("Tab")
    expect(page.locator(":focus")).to_have_text("Bỏ qua đến nội dung chính")
    page.keyboard.press("Enter")
    presses = 0
    while presses < 10 and not page.evaluate(
        'document.activeElement.matches(\'input[data-r="0"][data-c="0"]\')'
    ):
        page.keyboard.press("Tab")
        presses += 1
    assert presses <= 3, f"{presses} Tab presses after the skip link to the first score cell"
