"""Issue 15, English as a choice, against the running system: every page of every role's menu (and
the pages one step further) renders in both languages, `<html lang>` says which, and no message
that is wrapped for translation falls back to Vietnamese in English."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from html.parser import HTMLParser

import httpx
import pytest

from hbs_devtools.drive import SystemClient, sign_in_portal
from hbs_portal.catalogue import read
from hbs_portal.i18n import COOKIE

from .factories import password_of

pytestmark = [pytest.mark.db, pytest.mark.broker, pytest.mark.hsm]

# One demo person per role: subject teacher, homeroom teacher, vice-principal, principal, office, parent.
PEOPLE = ("gv.toan", "gv.van", "phohieutruong", "hieutruong", "quantri", "phuhuynh.demo")
# Links followed past the menu (two clicks deep, one page of each kind); downloads are not pages.
NOT_A_PAGE = re.compile(
    r"\.(pdf|xlsx|csv)$|/document$|/template$|^/admin/export/|^/admin/national/|^/static/|^/verify"
)
# The charts' pages (wrapped last): the walk must reach them, for whom they are in the menu or a click away.
CHARTS = {
    "hieutruong": {"/progress", "/reminders", "/statistics", "/statistics/ratings", "/classes/*/results"},
    "gv.van": {"/classes/*/results"},
}
# A record's front page as the record prints it (the personal-data check compares it with the birth
# certificate): data, Vietnamese in both languages.
AS_PRINTED = {"Nam", "Nữ"}
PLACEHOLDER = re.compile(r"%\(\w+\)s|\{\w*\}|\\\d")


class Texts(HTMLParser):
    """A page's text as a reader meets it: whole text nodes and the labels of its controls."""

    def __init__(self) -> None:
        super().__init__()
        self.found: set[str] = set()
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._skip += tag in ("script", "style")
        for name, value in attrs:
            if name in ("aria-label", "title", "placeholder", "alt", "data-confirm") and value:
                self.found.add(" ".join(value.split()))

    def handle_endtag(self, tag: str) -> None:
        self._skip -= tag in ("script", "style")

    def handle_data(self, data: str) -> None:
        text = " ".join(data.split())
        if text and not self._skip:
            self.found.add(text)


def texts(page: str) -> set[str]:
    parser = Texts()
    parser.feed(page)
    return parser.found


@pytest.fixture(scope="module")
def wrapped() -> set[str]:
    """The catalogue's messages that read the same wherever they appear (no placeholder)."""
    return {str(m.id) for m in read("en") if m.id and not PLACEHOLDER.search(str(m.id))}


@contextmanager
def portal(system: SystemClient, username: str, language: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=system.stack.url("portal"), timeout=60, cookies={COOKIE: language}) as browser:
        signed = sign_in_portal(browser, username, password_of(username))
        assert signed.status_code == 303, signed.text
        yield browser


def pages_of(home: str) -> list[str]:
    """The menu's pages, then one page of each kind they link to."""
    menu = re.search(r'<nav aria-label="[^"]+"><ul class="menu">(.*?)</ul></nav>', home, re.S)
    assert menu is not None, home
    return re.findall(r'href="(/[^"]*)"', menu.group(1))


def kind(path: str) -> str:
    """Pages of one kind differ only by an id or a class name."""
    return re.sub(r"[0-9a-f-]{36}|(?<=/classes/)[^/]+", "*", path)


def crawl(browser: httpx.Client, menu: list[str], depth: int = 2) -> list[str]:
    """The menu's pages, then one page of each kind they link to, and so on `depth` times."""
    seen = {kind(path): path for path in menu}
    layer = list(menu)
    for _ in range(depth):
        found = []
        for path in layer:
            for link in re.findall(r'href="(/[^"?#]*)', browser.get(path).text):
                if not NOT_A_PAGE.search(link) and kind(link) not in seen:
                    seen[kind(link)] = link
                    found.append(link)
        layer = found
    return list(seen.values())


@pytest.mark.parametrize("username", PEOPLE)
def test_every_page_of_each_role_renders_in_both_languages_without_falling_back(
    system: SystemClient, username: str, wrapped: set[str]
) -> None:
    with portal(system, username, "vi") as vi, portal(system, username, "en") as en:
        home_vi = vi.get("/", follow_redirects=True)
        assert home_vi.status_code == 200, home_vi.text
        paths = crawl(vi, pages_of(home_vi.text))
        fallbacks: dict[str, set[str]] = {}
        for path in paths:
            in_vi, in_en = vi.get(path), en.get(path)
            assert (in_vi.status_code, in_en.status_code) == (200, 200), path
            assert '<html lang="vi">' in in_vi.text, path
            assert '<html lang="en">' in in_en.text, path
            shown_vi, shown_en = texts(in_vi.text), texts(in_en.text)
            printed = AS_PRINTED if path.startswith("/review/personal-data/") else set()
            left = (shown_vi & shown_en & wrapped) - printed
            if left:
                fallbacks[path] = left
        print(f"\n{username}: {len(paths)} pages in both languages: {' '.join(paths)}")
        assert len(paths) >= 3, paths
        assert CHARTS.get(username, set()) <= {kind(path) for path in paths}, paths
        assert not fallbacks, f"{username}: Vietnamese left on English pages: {fallbacks}"
