"""The page dependencies and exception handlers: what a page no longer says itself."""

from __future__ import annotations

import pytest

from .conftest import GRADES, IDENTITY, SIGNING, Portal, access_token, problem

pytestmark = pytest.mark.db


async def test_a_page_without_a_session_sends_the_browser_to_sign_in(portal: Portal) -> None:
    async with portal.browser() as browser:
        answer = await browser.get("/sheets")
    assert (answer.status_code, answer.headers["location"]) == (303, "/login")


async def test_a_page_the_role_does_not_open_is_a_vietnamese_403(portal: Portal) -> None:
    portal.signs_in("gv.toan", ["subject_teacher"])
    async with portal.browser() as browser:
        await portal.login(browser)
        for page in ("/admin/students", "/admin/audit", "/factor-resets"):
            answer = await browser.get(page)
            assert answer.status_code == 403, page
            assert "Bạn không có quyền mở trang này." in answer.text
    assert not portal.services.calls("GET", f"{IDENTITY}/(students|audit|factor-resets).*")


async def test_a_services_refusal_is_the_error_page_with_its_title(portal: Portal) -> None:
    portal.signs_in("gv.toan", ["subject_teacher"])
    portal.services.on("GET", f"{GRADES}/sheets/.*/scores", problem(404, "Không tìm thấy sổ điểm"))
    async with portal.browser() as browser:
        await portal.login(browser)
        answer = await browser.get("/sheets/3f2b1c9e-0000-4000-8000-000000000001/scores")
    assert answer.status_code == 404
    assert "Không tìm thấy sổ điểm" in answer.text
    assert 'href="/sheets"' in answer.text  # the staff error page, with the menu


async def test_a_family_member_gets_the_familys_error_page(portal: Portal) -> None:
    portal.signs_in("ph.0912", ["parent"])
    portal.services.on("GET", f"{GRADES}/family/students", problem(503, "Dịch vụ bận"))
    async with portal.browser() as browser:
        await portal.login(browser, "ph.0912")
        answer = await browser.get("/results")
    assert answer.status_code == 503
    assert "Quay lại kết quả học tập" in answer.text


async def test_a_token_the_service_refuses_ends_the_session(portal: Portal) -> None:
    portal.signs_in("gv.toan", ["subject_teacher"])
    portal.services.on("GET", f"{GRADES}/sheets", problem(401, "Token hết hạn"))
    async with portal.browser() as browser:
        await portal.login(browser)
        answer = await browser.get("/sheets")
    assert (answer.status_code, answer.headers["location"]) == (303, "/login?expired=1")


async def test_an_expiring_token_is_refreshed_once_before_the_page(portal: Portal) -> None:
    portal.signs_in("gv.toan", ["subject_teacher"])
    portal.services.on(
        "POST",
        f"{IDENTITY}/auth/token",
        {"access_token": access_token(lifetime=5), "refresh_token": "r1", "token_type": "bearer"},
    )
    portal.services.on(
        "POST", f"{IDENTITY}/auth/refresh", {"access_token": access_token(), "refresh_token": "r2"}
    )
    portal.services.on("GET", f"{GRADES}/sheets", [])
    portal.services.on("GET", f"{SIGNING}/signing-pin", {"set": True, "locked": False})
    async with portal.browser() as browser:
        await portal.login(browser)
        assert (await browser.get("/sheets")).status_code == 200
        assert (await browser.get("/sheets")).status_code == 200
    assert len(portal.services.calls("POST", f"{IDENTITY}/auth/refresh")) == 1


async def test_a_refresh_identity_refuses_sends_the_browser_to_sign_in(portal: Portal) -> None:
    portal.signs_in("gv.toan", ["subject_teacher"])
    portal.services.on(
        "POST", f"{IDENTITY}/auth/token", {"access_token": access_token(lifetime=5), "refresh_token": "r1"}
    )
    portal.services.on("POST", f"{IDENTITY}/auth/refresh", problem(401, "Refresh token đã dùng"))
    async with portal.browser() as browser:
        await portal.login(browser)
        answer = await browser.get("/sheets")
    assert (answer.status_code, answer.headers["location"]) == (303, "/login?expired=1")


async def test_a_form_without_the_sessions_token_is_refused(portal: Portal) -> None:
    portal.signs_in("gv.toan", ["subject_teacher"])
    async with portal.browser() as browser:
        await portal.login(browser)
        answer = await browser.post("/signing-pin", data={"csrf": "forged", "pin": "1", "pin_again": "1"})
    assert answer.status_code == 403
    assert "Biểu mẫu đã cũ" in answer.text
    assert not portal.services.calls("PUT", f"{SIGNING}/signing-pin")


async def test_a_pending_step_keeps_the_session_on_its_page(portal: Portal) -> None:
    portal.signs_in("gv.moi", ["subject_teacher"])
    portal.services.on(
        "POST",
        f"{IDENTITY}/auth/token",
        {"access_token": access_token(), "refresh_token": "r1", "must_change_password": True},
    )
    async with portal.browser() as browser:
        signed = await portal.login(browser, "gv.moi")
        assert signed.headers["location"] == "/password"
        assert (await browser.get("/sheets")).headers["location"] == "/password"
