"""Issue 15 in Chromium: what only a browser shows. A conduct list answers "d" with Đ (Chromium's
own type-ahead does not match Đ), and class slips say what they are doing, then that they are done."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from hbs_devtools.drive import SystemClient

from .factories import OFFICE, SchoolClass, SchoolFactory, password_of

pytestmark = [pytest.mark.db, pytest.mark.broker, pytest.mark.hsm]


@pytest.fixture(scope="module")
def klass(school: SchoolFactory) -> SchoolClass:
    return school.school_class(students=2, subjects=("TOAN",))


def sign_in(page: Page, system: SystemClient, username: str) -> None:
    page.context.clear_cookies()
    page.goto(system.stack.url("portal") + "/login")
    page.get_by_label("Tên đăng nhập").fill(username)
    page.get_by_label("Mật khẩu").fill(password_of(username))
    page.get_by_role("button", name="Đăng nhập").click()


def test_d_picks_dat_and_class_slips_show_progress_then_done(
    page: Page, system: SystemClient, klass: SchoolClass
) -> None:
    assert klass.homeroom is not None
    sign_in(page, system, klass.homeroom.username)
    page.goto(system.stack.url("portal") + f"/classes/{klass.name}/conduct?term=HK1")
    conduct = page.locator('select[name="c0_conduct"]')
    conduct.focus()
    page.keyboard.press("d")
    expect(conduct).to_have_value("Đ")
    page.keyboard.press("c")
    expect(conduct).to_have_value("CĐ")

    sign_in(page, system, OFFICE)
    page.goto(system.stack.url("portal") + "/admin/export")
    page.get_by_label("Lớp").select_option(label=f"{klass.name} ({klass.school_year})")
    page.get_by_role("button", name="Tiếp tục…").click()
    expect(
        page.get_by_role("heading", name=f"Cấp phiếu đăng nhập: học sinh lớp {klass.name}")
    ).to_be_visible()
    button = page.get_by_role("button", name="Cấp mật khẩu mới và tải phiếu (PDF)")
    with page.expect_download() as downloading:
        button.click()
        expect(button).to_be_disabled()  # busy: cannot reset the class twice
    assert downloading.value.suggested_filename == f"Phiếu đăng nhập Học sinh lớp {klass.name}.pdf"
    expect(page.get_by_role("status")).to_contain_text(f"Đã tạo xong phiếu đăng nhập lớp {klass.name}")
