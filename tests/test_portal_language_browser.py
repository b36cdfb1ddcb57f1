"""Issue 15, English as a choice, in a real browser: the switch in the header, the choice kept
across pages and sign-ins, Vietnamese the default even for an English browser, and the pages in
English accessible (axe-core), with `<html lang>` saying which language they are in."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from hbs_devtools.stack import Stack

from .a11y import assert_accessible
from .factories import SchoolFactory, password_of

pytestmark = [pytest.mark.db, pytest.mark.broker, pytest.mark.hsm]


@pytest.fixture
def english_browser_page(browser: Browser) -> Iterator[Page]:
    """A browser set to English (Accept-Language: en-US), on a phone's screen."""
    context = browser.new_context(locale="en-US", viewport={"width": 390, "height": 844})
    yield context.new_page()
    context.close()


def sign_in_english(page: Page, username: str) -> None:
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password_of(username))
    page.get_by_role("button", name="Sign in").click()


def test_a_teacher_switches_to_english_and_every_page_follows_until_she_switches_back(
    page: Page, stack: Stack
) -> None:
    page.goto(stack.url("portal") + "/")
    expect(page.locator("html")).to_have_attribute("lang", "vi")
    expect(page.get_by_role("heading", name="Đăng nhập")).to_be_visible()
    page.get_by_role("button", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    sign_in_english(page, "gv.toan")
    expect(page.get_by_role("heading", name="Score sheets")).to_be_visible()
    menu = page.get_by_role("navigation", name="Main menu")
    expect(menu.get_by_role("link", name="Score sheets")).to_have_attribute("aria-current", "page")
    menu.get_by_role("link", name="Signing PIN").click()
    expect(page.get_by_role("heading", name="Signing PIN")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    assert_accessible(page)
    menu.get_by_role("link", name="Sign-in security").click()
    expect(page.get_by_role("heading", name="Sign-in security")).to_be_visible()
    # Back to Vietnamese, on the same page.
    page.get_by_role("button", name="Tiếng Việt").click()
    expect(page).to_have_url(re.compile(r"/security$"))
    expect(page.get_by_role("heading", name="Bảo mật đăng nhập")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "vi")
    page.get_by_role("link", name="Sổ điểm", exact=True).click()
    expect(page.get_by_role("heading", name="Sổ điểm")).to_be_visible()


@pytest.mark.parametrize(
    ("username", "link", "heading"),
    [
        ("gv.van", "Class records", "Class records"),  # homeroom teacher
        ("quantri", "Import data", "Import data"),  # office
        ("phuhuynh.demo", None, "Academic results"),  # parent, whose first page is the results
    ],
)
def test_homeroom_office_and_parent_read_their_pages_in_english_and_keep_the_choice(
    english_browser_page: Page, stack: Stack, username: str, link: str | None, heading: str
) -> None:
    page = english_browser_page
    page.goto(stack.url("portal") + "/")
    # An English browser still gets Vietnamese first: the school's language until the person chooses.
    expect(page.get_by_role("heading", name="Đăng nhập")).to_be_visible()
    page.get_by_role("button", name="English").click()
    sign_in_english(page, username)
    if link is not None:
        page.get_by_role("navigation", name="Main menu").get_by_role("link", name=link).click()
    expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    assert "Đăng xuất" not in page.content()
    assert_accessible(page)
    # The choice outlives the session: signed out, the sign-in page is still in English.
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.get_by_role("button", name="Tiếng Việt")).to_be_visible()


def test_the_score_grid_speaks_english_as_the_teacher_types_with_the_schools_decimal_comma(
    page: Page, stack: Stack, school: SchoolFactory
) -> None:
    """The grid's live messages come from the page (grid.js holds no text), so they follow the choice."""
    klass = school.school_class(students=1, subjects=("TOAN",), homeroom=False)
    teacher = klass.teachers["TOAN"].username
    sheet = next(
        s for s in school.system.sheets(school.system.token(teacher)) if s["class_name"] == klass.name
    )
    page.goto(stack.url("portal") + "/")
    page.get_by_role("button", name="English").click()
    sign_in_english(page, teacher)
    page.goto(stack.url("portal") + f"/sheets/{sheet['id']}/scores")
    expect(page.get_by_role("heading", name=re.compile(r"^Score sheet Toán – class "))).to_be_visible()
    first = page.locator('input[data-r="0"][data-c="0"]')
    first.click()
    page.keyboard.type("11")
    expect(page.locator("#why-c0_regular_1")).to_have_text("“11” is more than 10: scores from 0 to 10")
    first.select_text()
    page.keyboard.type("8,5")  # the decimal comma, in English too
    expect(first).not_to_have_attribute("aria-invalid", "true")
    result = page.locator("tbody tr").first.locator("td.result")
    expect(result).to_have_text(re.compile(r"^\s*\(\d+ missing\)$"))
    assert_accessible(page)
