"""Sở GD&ĐT in a real browser (issue 14): so.gddt signs in, reads both demo schools' progress,
adds a third school and sees its administrator's one-time password; the pages pass axe-core at
desktop and phone width."""

from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import Browser, Page, ViewportSize, expect

from hbs_devtools.demo import DEMO_PASSWORD, DEMO_PROVINCE, DEMO_SCHOOLS
from hbs_devtools.stack import Stack

from .a11y import assert_accessible

pytestmark = [pytest.mark.db, pytest.mark.broker, pytest.mark.hsm]

PHONE: ViewportSize = {"width": 390, "height": 844}


def sign_in(page: Page, stack: Stack) -> None:
    page.goto(stack.url("portal") + "/login")
    page.get_by_label("Tên đăng nhập").fill(DEMO_PROVINCE.username)
    page.get_by_label("Mật khẩu").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()


def test_the_province_reads_both_schools_then_adds_a_third_and_sees_its_password_once(
    page: Page, stack: Stack
) -> None:
    sign_in(page, stack)
    expect(page).to_have_url(stack.url("portal") + "/province")
    expect(page.get_by_role("heading", name="Tiến độ các trường")).to_be_visible()
    table = page.get_by_role("region", name="Bảng tiến độ các trường")
    for school in DEMO_SCHOOLS:
        expect(table.get_by_role("rowheader", name=school.name)).to_be_visible()
    expect(table.locator("tfoot tr.total")).to_contain_text("Tổng cộng")
    expect(page.get_by_role("navigation", name="Menu chính").get_by_role("link")).to_have_text(
        ["Tiến độ các trường", "Các trường", "Đổi mật khẩu"]
    )
    assert_accessible(page)

    suffix = uuid.uuid4().hex[:6]
    page.get_by_role("link", name="Các trường", exact=True).click()
    expect(page.get_by_role("heading", name="Thêm trường")).to_be_visible()
    assert_accessible(page)
    page.get_by_label("Mã trường").fill(f"thpt-trinh-{suffix}")
    page.get_by_label("Tên trường").fill(f"Trường THPT Thử Trình duyệt {suffix}")
    page.get_by_label("Cơ quan chủ quản").fill("Sở GD&ĐT Hưng Yên")
    page.get_by_label("Tỉnh, thành phố").fill("Hưng Yên")
    page.get_by_label("Họ và tên người quản trị").fill("Đặng Thị Minh Thư")
    page.get_by_label("Tên đăng nhập người quản trị").fill(f"quantri.{suffix}")
    page.get_by_role("button", name="Thêm trường").click()

    expect(page.get_by_role("heading", name=f"Đã thêm Trường THPT Thử Trình duyệt {suffix}")).to_be_visible()
    expect(page.locator("#admin-username")).to_have_text(f"quantri.{suffix}")
    password = page.locator("#admin-password").inner_text().strip()
    assert len(password) >= 8
    expect(page.get_by_role("status")).to_contain_text("Mật khẩu này chỉ hiện một lần")
    assert password not in page.url
    assert_accessible(page)

    page.get_by_role("link", name="Về danh sách các trường").click()
    expect(page.locator(f'tr[data-school="thpt-trinh-{suffix}"]')).to_be_visible()
    assert password not in page.content()


def test_the_province_pages_on_a_phone(browser: Browser, stack: Stack) -> None:
    context = browser.new_context(locale="vi-VN", viewport=PHONE, is_mobile=True, has_touch=True)
    try:
        phone = context.new_page()
        sign_in(phone, stack)
        expect(phone.get_by_role("heading", name="Tiến độ các trường")).to_be_visible()
        assert_accessible(phone)
        # The table scrolls inside its own region; the page itself does not scroll sideways.
        assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        phone.goto(stack.url("portal") + "/province/schools")
        expect(phone.get_by_role("heading", name="Thêm trường")).to_be_visible()
        assert_accessible(phone)
        assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    finally:
        context.close()
