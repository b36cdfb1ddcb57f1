"""Fixtures of the tests that drive the whole running system."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from hbs_devtools.drive import SystemClient
from hbs_devtools.stack import Stack
from hbs_devtools.yearend import YearEndDriver

from .factories import FactorySystem, SchoolFactory
from .sealed import SealedClass


@pytest.fixture(scope="session")
def system(stack: Stack) -> SystemClient:
    return FactorySystem(stack)


# Debian's Chromium, headless, without `playwright install`; nothing reaches out to the network.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


PAGES = frozenset(
    {
        "test_portal_admin.py",
        "test_portal_charts.py",
        "test_portal_conduct.py",
        "test_portal_dead_ends.py",
        "test_portal_family.py",
        "test_portal_forwarded.py",
        "test_portal_language.py",
        "test_portal_reports.py",
        "test_portal_resets.py",
        "test_portal_scores.py",
        "test_portal_totp.py",
        "test_portal_province.py",
    }
)
"""Whole-stack modules about the portal's pages (what they show, their language, their links):
the PostgreSQL rerun leaves them out. The database work behind each page is the services' own,
rerun on PostgreSQL by their db tests and by the whole-stack flows (walking skeleton, year records,
oversight, sign-all, two-person reset, records, revocation, exchange, backup)."""


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that drives Chromium is marked `browser`: the PostgreSQL rerun leaves those out, as
    each has an HTTP twin that drives the same pages and services (docs/architecture.md, Tests).
    A test of a page module (`PAGES`) is marked `pages`: left out of the rerun too."""
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents and "browser" in getattr(item, "fixturenames", ()):  # page, phone…
            item.add_marker(pytest.mark.browser)
        if item.path.parent == here and item.path.name in PAGES:
            item.add_marker(pytest.mark.pages)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One Chromium per module: Playwright's sync API keeps an event loop running in this thread
    while it is open, and the asyncio tests of the next module need the thread free."""
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS, headless=True
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh browser context per test (its own cookies), in Vietnamese."""
    context = browser.new_context(locale="vi-VN")
    yield context.new_page()
    context.close()


@pytest.fixture(scope="module")
def school(system: SystemClient) -> SchoolFactory:
    """This module's own classes and people (tests/factories.py), on the shared stack."""
    return SchoolFactory(system)


@pytest.fixture(scope="session")
def sealed(system: SystemClient) -> Iterator[SealedClass]:
    with YearEndDriver(system.stack, workers=2, log=lambda _: None) as driver:
        school = driver.seed(1, students=4, subjects=("TOAN", "NGU_VAN"))
        # test_yearend's checks of the driver's report: a few event probes, one sheet signed alone.
        report = driver.run(school, event_probes=3, single_sheets=1)
        yield SealedClass(driver, school, report, driver.check(school))
