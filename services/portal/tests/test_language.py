"""Issue 15, English as a choice: the catalogue covers every wrapped message, the switch is a
cookie, Vietnamese stays the default (Accept-Language is not consulted), and error pages follow
the choice too."""

from __future__ import annotations

import re

import httpx
import pytest

from hbs_portal.catalogue import extract, missing, read
from hbs_portal.i18n import COOKIE, translations

from .conftest import SIGNING, Portal

pytestmark = pytest.mark.db

HTML = {"accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
# %(name)s of Jinja's gettext, {name} of str.format, \1 of a regex template: a translation keeps them all.
PLACEHOLDER = re.compile(r"%\(\w+\)s|\{\w*\}|\\\d|%%")


def test_every_wrapped_message_has_an_english_entry_and_no_entry_is_left_over() -> None:
    catalogue = read("en")
    gaps = missing(catalogue)
    assert not gaps, f"wrapped for translation but not in the English catalogue (run `make messages`): {gaps}"
    wrapped = {m.id for m in extract() if m.id}
    stale = sorted(str(m.id) for m in catalogue if m.id and m.id not in wrapped)
    assert not stale, f"catalogue entries no template or module uses any more: {stale}"


def test_every_translation_keeps_the_placeholders_of_its_message() -> None:
    wrong = []
    for message in read("en"):
        if not message.id:
            continue
        source, target = str(message.id), str(message.string)
        if sorted(PLACEHOLDER.findall(source)) != sorted(PLACEHOLDER.findall(target)):
            wrong.append((source, target))
    assert not wrong, wrong


def test_the_catalogue_compiles_from_the_po_file_and_vietnamese_is_the_source() -> None:
    assert translations("en").gettext("Đăng nhập") == "Sign in"
    assert translations("vi").gettext("Đăng nhập") == "Đăng nhập"


async def test_vietnamese_is_the_default_even_for_an_english_browser(portal: Portal) -> None:
    async with portal.browser() as browser:
        page = await browser.get("/login", headers={**HTML, "accept-language": "en-US,en;q=0.9"})
    assert '<html lang="vi">' in page.text
    assert "Tên đăng nhập" in page.text
    assert 'lang="en">English</button>' in page.text  # the switch offers the other language


async def test_the_switch_sets_a_cookie_and_every_page_follows_it(portal: Portal) -> None:
    portal.signs_in("gv.toan", ["subject_teacher"])
    portal.services.on("GET", f"{SIGNING}/signing-pin", {"set": True, "locked": False})
    async with portal.browser() as browser:
        switched = await browser.post(
            "/language", data={"lang": "en"}, headers={"referer": "http://portal.test/login?expired=1"}
        )
        assert (switched.status_code, switched.headers["location"]) == (303, "/login?expired=1")
        assert f"{COOKIE}=en" in switched.headers["set-cookie"]
        assert "httponly" in switched.headers["set-cookie"].lower()
        login = await browser.get("/login?expired=1", headers=HTML)
        assert '<html lang="en">' in login.text
        assert "Your session has expired, please sign in again." in login.text  # a Python message
        assert "Username" in login.text
        assert "Tên đăng nhập" not in login.text
        assert 'lang="vi">Tiếng Việt</button>' in login.text
        await portal.login(browser)
        pin = await browser.get("/signing-pin", headers=HTML)
        assert '<html lang="en">' in pin.text
        assert ">Score sheets</a>" in pin.text  # the menu
        assert "<h1>Signing PIN</h1>" in pin.text
        back = await browser.post(
            "/language", data={"lang": "vi"}, headers={"referer": "http://portal.test/signing-pin"}
        )
        assert back.headers["location"] == "/signing-pin"
        assert f"{COOKIE}=vi" in back.headers["set-cookie"]
        again = await browser.get("/signing-pin", headers=HTML)
        assert '<html lang="vi">' in again.text
        assert "<h1>Mã PIN ký số</h1>" in again.text


async def test_the_switch_goes_back_only_to_this_sites_pages_and_knows_its_languages(portal: Portal) -> None:
    async with portal.browser() as browser:
        for away in ("https://elsewhere.example/x", "http://portal.test//elsewhere.example/", "", "nonsense"):
            answer = await browser.post("/language", data={"lang": "en"}, headers={"referer": away})
            assert answer.headers["location"] == "/", away
        unknown = await browser.post("/language", data={"lang": "fr"})
        assert f"{COOKIE}=vi" in unknown.headers["set-cookie"]
        browser.cookies.set(COOKIE, "xx")
        page = await browser.get("/login", headers=HTML)
        assert '<html lang="vi">' in page.text


async def test_error_pages_follow_the_choice(portal: Portal) -> None:
    portal.signs_in("gv.toan", ["subject_teacher"])
    async with portal.browser() as browser:
        browser.cookies.set(COOKIE, "en")
        missing_page = await browser.get("/khong-co-trang-nay", headers=HTML)
        assert missing_page.status_code == 404
        assert '<html lang="en">' in missing_page.text
        assert "Page not found" in missing_page.text
        assert "Error code 404." in missing_page.text
        await portal.login(browser)
        refused = await browser.get("/admin/students", headers=HTML)
        assert refused.status_code == 403
        assert "You may not open this page." in refused.text
        assert "Back to your home page" in refused.text
    # A fault is answered outside the middleware stack: the page still reads the cookie.
    portal.services.on("GET", f"{SIGNING}/verify/ABC123", httpx.Response(200, json=["not", "a", "report"]))
    transport = httpx.ASGITransport(app=portal.app, raise_app_exceptions=False)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://portal.test", cookies={COOKIE: "en"}
    ) as browser:
        fault = await browser.get("/verify/ABC123", headers=HTML)
    assert fault.status_code == 500
    assert '<html lang="en">' in fault.text
    assert "System error" in fault.text


def test_no_handler_shadows_the_translation_function_with_a_throwaway_variable() -> None:
    """`a, _, b = x.partition(...)` in a function that also calls `_()` makes `_` local to it:
    the page failed with UnboundLocalError (500) when the correction form was sent."""
    import ast
    from pathlib import Path

    import hbs_portal

    def stores_underscore(node: ast.AST) -> bool:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.comprehension)):
                continue  # their own scope (a comprehension's target included)
            if isinstance(child, ast.Name) and child.id == "_" and isinstance(child.ctx, ast.Store):
                return True
            if stores_underscore(child):
                return True
        return False

    def calls_underscore(node: ast.AST) -> bool:
        return any(
            isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "_"
            for n in ast.walk(node)
        )

    found = []
    for path in Path(hbs_portal.__file__).parent.rglob("*.py"):
        for function in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            is_function = isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef))
            if is_function and stores_underscore(function) and calls_underscore(function):
                found.append(f"{path.name}:{function.lineno} {function.name}")
    assert found == []
