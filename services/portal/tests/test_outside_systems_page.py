"""Issue 13 §6, the office's page of outside systems (Hệ thống bên ngoài): register one with its
scopes (the secret shown once, not kept by the portal), list, revoke; not for teachers."""

from __future__ import annotations

import json

import httpx
import pytest

from .conftest import IDENTITY, Portal

pytestmark = pytest.mark.db

CLIENT = "5d7e8f90-1a2b-4c3d-8e9f-0a1b2c3d4e5f"
LISTED = {
    "id": CLIENT,
    "client_id": "hbsc_4b1f0e9a7c2d5e8f3a6b",
    "name": "Trường Đại học Sư phạm",
    "scopes": ["verify"],
    "created_at": "2026-12-06T08:00:00Z",
    "revoked_at": None,
    "active": True,
}


async def test_the_office_registers_an_outside_system_and_sees_its_secret_once(portal: Portal) -> None:
    portal.signs_in("vanphong", ["office_admin"])
    listing = [LISTED]
    portal.services.on("GET", f"{IDENTITY}/oauth/clients", lambda _r: httpx.Response(200, json=listing))
    portal.services.on(
        "POST",
        f"{IDENTITY}/oauth/clients",
        httpx.Response(201, json={**LISTED, "client_secret": "s3cr3t-once"}),
    )
    portal.services.on(
        "POST",
        f"{IDENTITY}/oauth/clients/{CLIENT}/revoke",
        httpx.Response(200, json={**LISTED, "active": False, "revoked_at": "2026-12-06T09:00:00Z"}),
    )
    async with portal.browser() as browser:
        await portal.login(browser, "vanphong")
        page = await browser.get("/admin/outside-systems")
        assert page.status_code == 200
        assert "Trường Đại học Sư phạm" in page.text
        assert "hbsc_4b1f0e9a7c2d5e8f3a6b" in page.text
        assert 'href="/admin/outside-systems"' in page.text  # in the office's menu
        csrf = await portal.csrf_of(browser, "/admin/outside-systems")
        none = await browser.post("/admin/outside-systems", data={"csrf": csrf, "name": "Sở GD&ĐT"})
        assert none.status_code == 422
        assert "hãy chọn ít nhất một quyền" in none.text
        made = await browser.post(
            "/admin/outside-systems",
            data={
                "csrf": csrf,
                "name": " Sở GD&ĐT ",
                "scopes": ["verify", "national.export", "grades.write"],
            },
        )
        assert made.status_code == 200
        assert "s3cr3t-once" in made.text
        assert made.headers["cache-control"] == "no-store"
        assert "s3cr3t-once" not in (await browser.get("/admin/outside-systems")).text
        revoked = await browser.post(f"/admin/outside-systems/{CLIENT}/revoke", data={"csrf": csrf})
        assert revoked.status_code == 200
        assert "Đã thu hồi" in revoked.text
        forged = await browser.post(f"/admin/outside-systems/{CLIENT}/revoke", data={"csrf": "x" * 20})
        assert forged.status_code == 403
    (registered,) = portal.services.calls("POST", f"{IDENTITY}/oauth/clients")
    assert json.loads(registered.content) == {"name": "Sở GD&ĐT", "scopes": ["verify", "national.export"]}
    assert len(portal.services.calls("POST", f"{IDENTITY}/oauth/clients/{CLIENT}/revoke")) == 1


async def test_a_teacher_does_not_open_the_page(portal: Portal) -> None:
    portal.signs_in("gv.toan", ["subject_teacher"])
    async with portal.browser() as browser:
        await portal.login(browser, "gv.toan")
        refused = await browser.get("/admin/outside-systems")
        assert refused.status_code == 403
        assert 'href="/admin/outside-systems"' not in (await browser.get("/sheets")).text
    assert not portal.services.calls("GET", f"{IDENTITY}/oauth/clients")
