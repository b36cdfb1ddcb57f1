"""The year record pages in a real browser (Debian's Chromium, headless): the homeroom teacher
finds the class from the menu, reviews one record and writes the remarks; a stale form says so."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from hbs_devtools.drive import SystemClient

from .a11y import assert_accessible
from .factories import SchoolClass, SchoolFactory, password_of

pytestmark = [pytest.mark.db, pytest.mark.broker]


@pytest.fixture(scope="module")
def klass(school: SchoolFactory) -> SchoolClass:
    """Three students, a mathematics teacher and a homeroom teacher."""
    return school.school_class(students=3, subjects=("TOAN",))


def test_homeroom_teacher_writes_remarks_on_a_record_from_the_menu(
    page: Page, system: SystemClient, klass: SchoolClass
) -> None:
    assert klass.homeroom is not None
    page.goto(system.stack.url("portal") + "/")
    page.get_by_label("Tên đăng nhập").fill(klass.homeroom.username)
    page.get_by_label("Mật khẩu").fill(password_of(klass.homeroom.username))
    page.get_by_role("button", name="Đăng nhập").click()
    page.get_by_role("link", name="Học bạ lớp").click()
    expect(page.get_by_role("heading", name="Học bạ lớp", exact=True)).to_be_visible()
    expect(
        page.get_by_role("heading", name=f"Lớp {klass.name} · năm học {klass.school_year}")
    ).to_be_visible()
    assert_accessible(page)
    page.get_by_role("row").nth(2).get_by_role("link", name="Xem").click()
    expect(
        page.get_by_role("heading", name=f"Học bạ năm học {klass.school_year} · lớp {klass.name}")
    ).to_be_visible()

    remarks = page.get_by_label("Nhận xét của giáo viên chủ nhiệm")
    remarks.fill("Ngoan, có tinh thần giúp đỡ bạn bè.")
    page.get_by_role("button", name="Lưu nhận xét").click()
    expect(page.get_by_role("status")).to_have_text("Đã lưu nhận xét.")
    assert_accessible(page)
    expect(page.get_by_label("Nhận xét của giáo viên chủ nhiệm")).to_have_value(
        "Ngoan, có tinh thần giúp đỡ bạn bè."
    )

    # A form older than the record (as in a second tab opened before) is refused, in Vietnamese.
    page.get_by_label("Nhận xét của giáo viên chủ nhiệm").fill("Bản cũ")
    page.evaluate("document.querySelector('input[name=version]').value = '1'")
    page.get_by_role("button", name="Lưu nhận xét").click()
    expect(page.get_by_text("Học bạ vừa được thay đổi ở nơi khác, hãy tải lại")).to_be_visible()
    assert_accessible(page)
