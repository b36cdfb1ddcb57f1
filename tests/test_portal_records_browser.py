"""The year record pages in a real browser (Debian's Chromium, headless): the homeroom teacher
finds the class from the menu, reviews one record and writes the remarks; a stale form says so."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from hbs_devtools.demo import DEMO_PASSWORD
from hbs_devtools.drive import SystemClient

pytestmark = [pytest.mark.db, pytest.mark.broker]


def test_homeroom_teacher_writes_remarks_on_a_record_from_the_menu(page: Page, system: SystemClient) -> None:
    system.sheets(system.token("gv.van"))  # grades has built the demo class
    page.goto(system.stack.url("portal") + "/")
    page.get_by_label("Tên đăng nhập").fill("gv.van")
    page.get_by_label("Mật khẩu").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    page.get_by_role("link", name="Học bạ lớp").click()
    expect(page.get_by_role("heading", name="Học bạ lớp", exact=True)).to_be_visible()
    expect(page.get_by_role("heading", name="Lớp 10A1 · năm học 2026-2027")).to_be_visible()
    page.get_by_role("row").nth(2).get_by_role("link", name="Xem").click()
    expect(page.get_by_role("heading", name="Học bạ năm học 2026-2027 · lớp 10A1")).to_be_visible()

    remarks = page.get_by_label("Nhận xét của giáo viên chủ nhiệm")
    remarks.fill("Ngoan, có tinh thần giúp đỡ bạn bè.")
    page.get_by_role("button", name="Lưu nhận xét").click()
    expect(page.get_by_role("status")).to_have_text("Đã lưu nhận xét.")
    expect(page.get_by_label("Nhận xét của giáo viên chủ nhiệm")).to_have_value(
        "Ngoan, có tinh thần giúp đỡ bạn bè."
    )

    # A form older than the record (as in a second tab opened before) is refused, in Vietnamese.
    page.get_by_label("Nhận xét của giáo viên chủ nhiệm").fill("Bản cũ")
    page.evaluate("document.querySelector('input[name=version]').value = '1'")
    page.get_by_role("button", name="Lưu nhận xét").click()
    expect(page.get_by_text("Học bạ vừa được thay đổi ở nơi khác, hãy tải lại")).to_be_visible()
