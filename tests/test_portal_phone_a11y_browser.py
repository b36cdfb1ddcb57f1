"""Issue 15, accessible on a phone: each role's main pages in Chromium at 390 × 844 (the phone the
pages were tried on) pass axe-core with no serious or critical violation, as they do at desktop
width (tests/a11y.py). The demo logins of the small demo school walk their own pages."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import quote, urlsplit

import pytest
from playwright.sync_api import Browser, Page

from hbs_devtools.demo import DEMO_PARENT
from hbs_devtools.stack import Stack

from .a11y import BLOCKING, describe, violations
from .factories import password_of

pytestmark = [pytest.mark.db, pytest.mark.broker, pytest.mark.hsm]

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def phone(browser: Browser) -> Iterator[Page]:
    """A phone-sized, touch browser context (its own cookies), in Vietnamese."""
    context = browser.new_context(locale="vi-VN", viewport=PHONE, is_mobile=True, has_touch=True)
    yield context.new_page()
    context.close()


def sign_in(page: Page, stack: Stack, username: str) -> None:
    page.goto(stack.url("portal") + "/login")
    page.get_by_label("Tên đăng nhập").fill(username)
    page.get_by_label("Mật khẩu").fill(password_of(username))
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url(lambda url: "/login" not in url)


def blocking_at(page: Page, url: str) -> str:
    """axe's serious and critical violations on the page at `url`, as text ("" when none)."""
    answer = page.goto(url)
    assert answer is not None
    assert answer.status == 200, f"{url}: {answer.status}"
    page.wait_for_load_state("networkidle")
    assert page.viewport_size == PHONE
    found = [v for v in violations(page) if v["impact"] in BLOCKING]
    return f"{urlsplit(url).path}:\n{describe(found)}" if found else ""


def assert_pages_accessible(page: Page, urls: list[str]) -> None:
    failures = [text for url in urls if (text := blocking_at(page, url))]
    assert not failures, "axe-core at 390 × 844:\n" + "\n".join(failures)


def test_a_subject_teachers_sheets_list_on_a_phone(phone: Page, stack: Stack) -> None:
    sign_in(phone, stack, "gv.toan")
    assert_pages_accessible(phone, [stack.url("portal") + "/sheets"])


def test_the_score_grid_on_a_phone(phone: Page, stack: Stack) -> None:
    sign_in(phone, stack, "gv.toan")
    phone.goto(stack.url("portal") + "/sheets")
    grid = phone.get_by_role("link", name="Nhập điểm").first.get_attribute("href")
    assert grid is not None
    assert_pages_accessible(phone, [stack.url("portal") + grid])


def test_the_homeroom_teachers_pages_on_a_phone(phone: Page, stack: Stack) -> None:
    sign_in(phone, stack, "gv.van")
    portal = stack.url("portal")
    assert_pages_accessible(
        phone,
        [
            portal + "/classes",
            portal + "/classes/10A1/conduct",
            portal + "/classes/10A1/results",
            portal + "/records/homeroom",
        ],
    )


def test_the_boards_progress_and_statistics_on_a_phone(phone: Page, stack: Stack) -> None:
    sign_in(phone, stack, "phohieutruong")
    portal = stack.url("portal")
    assert_pages_accessible(
        phone,
        [
            portal + "/progress",
            portal + "/statistics?subject=TOAN&period=HK1",
            portal + "/statistics/ratings",
        ],
    )


def test_the_offices_students_list_on_a_phone(phone: Page, stack: Stack) -> None:
    sign_in(phone, stack, "quantri")
    assert_pages_accessible(phone, [stack.url("portal") + "/admin/students"])


def test_a_parents_children_and_results_on_a_phone(phone: Page, stack: Stack) -> None:
    sign_in(phone, stack, DEMO_PARENT.username)
    portal = stack.url("portal")
    phone.goto(portal + "/results")
    child = phone.get_by_role("link", name="Xem kết quả").first.get_attribute("href")
    assert child is not None
    assert_pages_accessible(phone, [portal + "/results", portal + child])


def test_public_verification_on_a_phone(phone: Page, stack: Stack) -> None:
    assert_pages_accessible(phone, [stack.url("portal") + "/verify"])


def test_a_class_name_with_spaces_reaches_its_page(phone: Page, stack: Stack) -> None:
    """The board's class result sheet of "11 Toán chuyên" (its ratings chart) on a phone."""
    sign_in(phone, stack, "hieutruong")
    path = "/classes/" + quote("11 Toán chuyên", safe="") + "/results"
    assert_pages_accessible(phone, [stack.url("portal") + path])
