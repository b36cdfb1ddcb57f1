"""The office's national export page (issue 13 §4) with grades faked: the list, a full export or the
changes since the last one, and the files passed through named after what they hold."""

from __future__ import annotations

import json

import httpx
import pytest

from .conftest import GRADES, Portal, problem

pytestmark = pytest.mark.db

EXPORT = {
    "id": "5b0c6f3e-8f2a-4c55-9d61-1a2b3c4d5e6f",
    "kind": "toanbo",
    "since": None,
    "created_at": "2026-12-06T03:00:00+00:00",
    "created_by_name": "Đỗ Thị Ngọc Ánh",
    "students": 1473,
    "withdrawn": 0,
    "sha256": "ab" * 32,
    "xml_url": "/national/exports/5b0c6f3e-8f2a-4c55-9d61-1a2b3c4d5e6f/xml",
    "json_url": "/national/exports/5b0c6f3e-8f2a-4c55-9d61-1a2b3c4d5e6f/json",
}


async def test_the_office_makes_an_export_and_downloads_it_as_xml(portal: Portal) -> None:
    portal.signs_in("quantri", ["office_admin"])
    portal.services.on("GET", f"{GRADES}/national/exports", [EXPORT])
    portal.services.on("POST", f"{GRADES}/national/exports", httpx.Response(201, json=EXPORT))
    portal.services.on(
        "GET",
        f"{GRADES}/national/exports/{EXPORT['id']}/xml",
        httpx.Response(
            200, content=b"<?xml version='1.0'?><dulieuhocba/>", headers={"content-type": "application/xml"}
        ),
    )
    async with portal.browser() as browser:
        await portal.login(browser)
        page = await browser.get("/admin/national")
        csrf = await portal.csrf_of(browser, "/admin/national")
        made = await browser.post("/admin/national", data={"csrf": csrf, "kind": "changes"})
        wrong = await browser.post("/admin/national", data={"csrf": csrf, "kind": "everything"})
        file = await browser.get(f"/admin/national/{EXPORT['id']}/xml")
    assert page.status_code == 200, page.text
    assert "Dữ liệu cho CSDL ngành" in page.text
    assert "06/12/2026 10:00" in page.text  # Vietnam's time
    assert f'href="/admin/national/{EXPORT["id"]}/json"' in page.text
    assert (made.status_code, made.headers["location"]) == (303, "/admin/national")
    [asked] = portal.services.calls("POST", f"{GRADES}/national/exports")
    assert json.loads(asked.content) == {"since": "last"}
    assert wrong.status_code == 422
    assert "hãy chọn xuất toàn bộ hoặc phần thay đổi" in wrong.text
    assert file.status_code == 200
    assert file.content.startswith(b"<?xml")
    assert file.headers["cache-control"] == "no-store"
    assert "Du-lieu-hoc-ba-CSDL-nganh-5b0c6f3e.xml" in file.headers["content-disposition"]


async def test_grades_refusal_is_shown_on_the_page_and_teachers_are_refused(portal: Portal) -> None:
    portal.signs_in("quantri", ["office_admin"])
    portal.services.on("GET", f"{GRADES}/national/exports", [])
    portal.services.on(
        "POST", f"{GRADES}/national/exports", problem(409, "Chưa có lần xuất nào trước đó: hãy xuất toàn bộ")
    )
    async with portal.browser() as browser:
        await portal.login(browser)
        page = await browser.get("/admin/national")
        assert "Chưa có lần xuất nào." in page.text
        assert 'value="changes"' not in page.text  # nothing to compare with yet
        csrf = await portal.csrf_of(browser, "/admin/national")
        refused = await browser.post("/admin/national", data={"csrf": csrf, "kind": "changes"})
    assert refused.status_code == 409
    assert "hãy xuất toàn bộ" in refused.text

    portal.signs_in("gv.toan", ["subject_teacher"])
    async with portal.browser("203.0.113.8") as teacher:
        await portal.login(teacher)
        assert (await teacher.get("/admin/national")).status_code == 403
