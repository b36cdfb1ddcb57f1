"""Hole 8 of the security issue: security headers on every answer, no inline script or style for
the Content-Security-Policy to allow, the sign-in form's CSRF token, Secure cookies in production."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError

import hbs_portal
from hbs_portal.settings import PortalSettings

from .conftest import GRADES, IDENTITY, SIGNING, Portal

pytestmark = pytest.mark.db

TEMPLATES = Path(hbs_portal.__file__).parent / "templates"


def _assert_protected(headers: httpx.Headers) -> None:
    policy = headers.get("content-security-policy", "")
    assert "frame-ancestors 'none'" in policy
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert "default-src 'none'" in policy
    assert headers.get("x-frame-options") == "DENY"
    assert headers.get("x-content-type-options") == "nosniff"
    assert headers.get("referrer-policy") in {"same-origin", "no-referrer", "strict-origin"}


async def test_every_answer_carries_the_security_headers(portal: Portal) -> None:
    async with portal.browser() as browser:
        for answer in (
            await browser.get("/login"),  # the page an attacker would frame
            await browser.get("/verify"),  # public
            await browser.get("/sheets"),  # a redirect to sign in
            await browser.get("/no-such-page"),  # an error
            await browser.get("/static/grid.js"),  # a file
        ):
            _assert_protected(answer.headers)


def test_no_template_has_inline_script_or_style() -> None:
    """The policy allows scripts and styles only from /static: an inline one would be blocked."""
    inline = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>|<style\b|\sstyle=\"|\son[a-z]+=\"", re.I)
    offenders = [
        f"{path.relative_to(TEMPLATES)}: {found.group(0)}"
        for path in TEMPLATES.rglob("*.html")
        for found in inline.finditer(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []


async def test_the_score_grid_script_is_served_from_static(portal: Portal) -> None:
    async with portal.browser() as browser:
        script = await browser.get("/static/grid.js")
    assert script.status_code == 200
    assert "beforeunload" in script.text


async def test_sign_in_without_the_form_token_is_refused_before_identity_is_asked(portal: Portal) -> None:
    portal.signs_in("gv.toan", ["subject_teacher"])
    async with portal.browser() as browser:
        forged = await browser.post("/login", data={"username": "gv.toan", "password": "mat-khau"})
        assert forged.status_code == 403
        assert "Biểu mẫu đã cũ" in forged.text
        assert "hbs_session" not in forged.cookies
        # Another browser's token (a cookie this browser does not hold) is refused too.
        async with portal.browser() as other:
            theirs = await portal.csrf_of(other, "/login")
        browser.cookies.clear()
        assert (
            await browser.post("/login", data={"csrf": theirs, "username": "gv.toan", "password": "x"})
        ).status_code == 403
    assert portal.services.calls("POST", f"{IDENTITY}/auth/token") == []


async def test_sign_in_with_the_form_token_opens_a_session(portal: Portal) -> None:
    portal.signs_in("gv.toan", ["subject_teacher"])
    async with portal.browser() as browser:
        signed = await portal.login(browser)
        assert signed.status_code == 303
        assert signed.headers["location"] == "/sheets"
        assert "hbs_session" in signed.cookies
    cookie = (await portal.browser().get("/login")).headers["set-cookie"]
    assert "hbs_login_csrf=" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie


def test_production_refuses_a_session_cookie_without_secure() -> None:
    database = "postgresql+asyncpg://hbs@db/portal"
    with pytest.raises(ValidationError, match="SECURE_COOKIES"):
        PortalSettings(environment="production", database_url=database, secure_cookies=False)
    assert PortalSettings(environment="production", database_url=database, secure_cookies=True).secure_cookies


def test_source_address_must_be_an_address() -> None:
    assert PortalSettings(source_address="127.0.0.2").source_address == "127.0.0.2"
    assert PortalSettings(source_address="").source_address == ""
    with pytest.raises(ValidationError):
        PortalSettings(source_address="portal.example")


async def test_a_signed_pdf_cannot_be_framed_and_keeps_the_browsers_viewer(portal: Portal) -> None:
    sheet = "3f2b1c9e-0000-4000-8000-000000000002"
    portal.signs_in("gv.toan", ["subject_teacher"])
    portal.services.on("GET", f"{GRADES}/sheets/{sheet}", {"id": sheet, "document_id": "d1"})
    portal.services.on("GET", f"{SIGNING}/documents/d1/pdf", httpx.Response(200, content=b"%PDF-1.7 test"))
    async with portal.browser() as browser:
        await portal.login(browser)
        pdf = await browser.get(f"/sheets/{sheet}/document")
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.headers["x-frame-options"] == "DENY"
    assert pdf.headers["content-security-policy"] == "frame-ancestors 'none'"
    assert pdf.headers["x-content-type-options"] == "nosniff"
