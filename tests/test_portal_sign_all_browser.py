"""Ký tất cả sổ điểm đã sẵn sàng in a real browser (Debian's Chromium, headless): the teacher sees
the ready sheet and the incomplete one with its reason, a wrong PIN brings the page back with the
message, the right one leads to the progress page, which updates itself until the sheet is signed."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from hbs_devtools.drive import SIGNING_PIN, SystemClient

from .a11y import assert_accessible
from .factories import SchoolClass, SchoolFactory, password_of

pytestmark = [pytest.mark.db, pytest.mark.broker, pytest.mark.hsm]


@pytest.fixture(scope="module")
def klass(school: SchoolFactory) -> SchoolClass:
    """Two students and a mathematics teacher whose semester I sheet is complete (II is empty)."""
    return school.school_class(students=2, subjects=("TOAN",), homeroom=False)


def test_teacher_signs_every_ready_sheet_with_one_pin_after_a_wrong_one(
    page: Page, system: SystemClient, school: SchoolFactory, klass: SchoolClass
) -> None:
    teacher = klass.teachers["TOAN"]
    token = system.token(teacher.username)
    system.ensure_pin(token)
    sheets = {s["term"]: s for s in system.sheets(token) if s["class_name"] == klass.name}
    school.fill_scores(teacher, sheets["HK1"]["id"])

    page.goto(system.stack.url("portal") + "/")
    page.get_by_label("Tên đăng nhập").fill(teacher.username)
    page.get_by_label("Mật khẩu").fill(password_of(teacher.username))
    page.get_by_role("button", name="Đăng nhập").click()
    page.get_by_role("link", name="Ký tất cả sổ điểm đã sẵn sàng").click()
    expect(page.get_by_role("heading", name="Ký tất cả sổ điểm đã sẵn sàng")).to_be_visible()
    ready = page.locator(f'#ready tr[data-sheet="{sheets["HK1"]["id"]}"]')
    expect(ready).to_contain_text(klass.name)
    expect(ready).to_contain_text("Học kỳ I")
    waiting = page.locator(f'#not-ready tr[data-sheet="{sheets["HK2"]["id"]}"]')
    expect(waiting).to_contain_text("còn 2 học sinh thiếu điểm")
    expect(waiting.get_by_role("link", name="Nhập điểm")).to_be_visible()
    assert_accessible(page)

    page.get_by_label("Mã PIN ký số").fill("135799")
    page.get_by_role("button", name="Xác nhận ký 1 sổ điểm").click()
    expect(page.get_by_role("alert")).to_contain_text("Mã PIN ký số không đúng")
    expect(page.get_by_role("button", name="Xác nhận ký 1 sổ điểm")).to_be_visible()
    assert_accessible(page)

    page.get_by_label("Mã PIN ký số").fill(SIGNING_PIN)
    page.get_by_role("button", name="Xác nhận ký 1 sổ điểm").click()
    expect(page.get_by_role("heading", name="Tiến độ ký sổ điểm")).to_be_visible()
    # The page reloads itself every 2 s while signing: wait for the last state, no fixed sleep.
    expect(page.locator("#batch-status")).to_have_text("Đã ký xong 1 sổ điểm.", timeout=90_000)
    expect(page.get_by_role("link", name="Tải bản đã ký (PDF)")).to_be_visible()
    assert_accessible(page)
