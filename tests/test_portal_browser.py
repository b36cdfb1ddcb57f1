"""The portal in a real browser (Debian's Chromium, headless): a teacher signs a sheet."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from hbs_devtools.drive import SIGNING_PIN
from hbs_devtools.stack import Stack

from .a11y import assert_accessible, contrast_ratio
from .factories import SchoolClass, SchoolFactory, password_of

pytestmark = [pytest.mark.db, pytest.mark.broker, pytest.mark.hsm]


@pytest.fixture(scope="module")
def klass(school: SchoolFactory) -> SchoolClass:
    """Two students and a new mathematics teacher (no PIN yet), both semesters scored."""
    made = school.school_class(students=2, subjects=("TOAN",), homeroom=False)
    teacher = made.teachers["TOAN"]
    for sheet in school.system.sheets(school.system.token(teacher.username)):
        school.fill_scores(teacher, sheet["id"])
    return made


def sign_in(page: Page, stack: Stack, username: str, password: str | None = None) -> None:
    page.goto(stack.url("portal") + "/")
    page.get_by_label("Tên đăng nhập").fill(username)
    page.get_by_label("Mật khẩu").fill(password or password_of(username))
    page.get_by_role("button", name="Đăng nhập").click()


def test_wrong_password_shows_the_reason_in_vietnamese(page: Page, stack: Stack) -> None:
    sign_in(page, stack, "gv.toan", "mat-khau-sai")
    expect(page.get_by_role("alert")).to_have_text("Sai tên đăng nhập hoặc mật khẩu")
    expect(page.get_by_label("Tên đăng nhập")).to_have_value("gv.toan")
    assert_accessible(page)


def test_teacher_sets_a_pin_signs_a_sheet_and_the_page_updates_itself(
    page: Page, stack: Stack, klass: SchoolClass
) -> None:
    sign_in(page, stack, klass.teachers["TOAN"].username)
    expect(page.get_by_role("heading", name="Sổ điểm")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("link", name="Mã PIN ký số", exact=True).click()
    if page.get_by_label("Mã PIN hiện tại").count():
        page.get_by_label("Mã PIN hiện tại").fill(SIGNING_PIN)
    page.get_by_label("Mã PIN mới", exact=True).fill(SIGNING_PIN)
    page.get_by_label("Nhập lại mã PIN mới").fill(SIGNING_PIN)
    page.get_by_role("button", name=re.compile("Đặt mã PIN|Đổi mã PIN")).click()
    expect(page.get_by_role("status")).to_have_text("Đã lưu mã PIN ký số.")
    assert_accessible(page)

    page.get_by_role("link", name="Sổ điểm", exact=True).click()
    row = (
        page.locator("tr", has_text=klass.name)
        .filter(has=page.get_by_role("button", name="Nộp và ký số"))
        .first
    )
    sheet_id = row.get_attribute("data-sheet")
    row.get_by_label("Mã PIN ký số").fill(SIGNING_PIN)
    row.get_by_role("button", name="Nộp và ký số").click()
    expect(page.get_by_text("Đã gửi yêu cầu ký")).to_be_visible()
    # The page refreshes itself while a signature is pending, until the sheet is signed.
    signed_row = page.locator(f'tr[data-sheet="{sheet_id}"]')
    link = signed_row.get_by_role("link", name="Tải bản đã ký (PDF)")
    expect(link).to_be_visible(timeout=60_000)
    expect(signed_row.locator(".state")).to_have_text("đã ký")
    with page.expect_download() as download:
        link.click(modifiers=["Alt"])
    assert download.value.suggested_filename.endswith(".pdf")


def test_sign_out_is_readable_in_the_header(page: Page, stack: Stack, klass: SchoolClass) -> None:
    """Issue 15: "Đăng xuất" was white on #efefef (1.15:1); WCAG AA asks 4.5:1 for its text."""
    sign_in(page, stack, klass.teachers["TOAN"].username)
    expect(page.get_by_role("button", name="Đăng xuất")).to_be_visible()
    assert contrast_ratio(page, "header form[action='/logout'] button") >= 4.5
