"""Hole 2, the portal's pages: a signer's factor reset is a request (office), approved or rejected
by another board member (Phê duyệt đặt lại), told to the owner after sign-in."""

from __future__ import annotations

import json

import httpx
import pytest

from .conftest import IDENTITY, SIGNING, Portal, problem

pytestmark = pytest.mark.db

TEACHER = "22222222-2222-2222-2222-222222222222"
RESET = "33333333-3333-3333-3333-333333333333"
TEACHER_ACCOUNT = {
    "id": TEACHER,
    "username": "gv.toan",
    "full_name": "Trần Thị Toán",
    "roles": ["subject_teacher"],
    "kind": "staff",
    "disabled": False,
    "must_change_password": False,
    "totp_enabled": True,
}
PENDING = {
    "id": RESET,
    "user_id": TEACHER,
    "user_name": "Trần Thị Toán",
    "factor": "password",
    "reason": "Quên mật khẩu",
    "state": "pending",
    "requested_by": "44444444-4444-4444-4444-444444444444",
    "requested_by_name": "Văn phòng",
    "requested_at": "2026-12-01T02:00:00+00:00",
    "decided_by": None,
    "decided_by_name": None,
    "decided_at": None,
    "decision_reason": None,
    "initial_password": None,
}


async def test_the_office_asks_for_a_signers_password_reset_with_a_reason(portal: Portal) -> None:
    portal.signs_in("vanphong", ["office_admin"])
    portal.services.on("GET", f"{IDENTITY}/accounts/{TEACHER}", TEACHER_ACCOUNT)
    portal.services.on(
        "POST", f"{IDENTITY}/accounts/{TEACHER}/factor-resets", httpx.Response(201, json=PENDING)
    )
    portal.services.on(
        "POST",
        f"{IDENTITY}/accounts/{TEACHER}/password",
        problem(409, "Cần phê duyệt", code="approval_required"),
    )
    async with portal.browser() as browser:
        await portal.login(browser, "vanphong")
        page = await browser.get(f"/admin/accounts/{TEACHER}")
        assert "cần Hiệu trưởng hoặc Phó hiệu trưởng" in page.text
        assert 'name="reason"' in page.text
        csrf = await portal.csrf_of(browser, f"/admin/accounts/{TEACHER}")
        no_reason = await browser.post(
            f"/admin/accounts/{TEACHER}/password", data={"csrf": csrf, "confirm": "yes"}
        )
        assert no_reason.status_code == 422
        assert "Lý do đặt lại" in no_reason.text
        asked = await browser.post(
            f"/admin/accounts/{TEACHER}/password",
            data={"csrf": csrf, "confirm": "yes", "reason": "Quên mật khẩu"},
        )
        assert asked.headers["location"] == f"/admin/accounts/{TEACHER}?done=requested"
        shown = await browser.get(asked.headers["location"])
        assert "chờ Hiệu trưởng hoặc Phó hiệu trưởng" in shown.text
    (request,) = portal.services.calls("POST", f"{IDENTITY}/accounts/{TEACHER}/factor-resets")
    assert json.loads(request.content) == {"factor": "password", "reason": "Quên mật khẩu"}


async def test_a_new_signers_first_password_is_issued_at_once(portal: Portal) -> None:
    """Not a reset: identity issues a never-used account's first password to one admin."""
    portal.signs_in("vanphong", ["office_admin"])
    portal.services.on("GET", f"{IDENTITY}/accounts/{TEACHER}", TEACHER_ACCOUNT)
    issued = {"login": "gv.toan", "initial_password": "Hbs-Dau-1357"}
    portal.services.on("POST", f"{IDENTITY}/accounts/{TEACHER}/password", issued)
    async with portal.browser() as browser:
        await portal.login(browser, "vanphong")
        csrf = await portal.csrf_of(browser, f"/admin/accounts/{TEACHER}")
        slip = await browser.post(
            f"/admin/accounts/{TEACHER}/password", data={"csrf": csrf, "confirm": "yes"}
        )
    assert slip.status_code == 200
    assert "Hbs-Dau-1357" in slip.text
    assert not portal.services.calls("POST", f"{IDENTITY}/accounts/{TEACHER}/factor-resets")


async def test_a_signers_pin_reset_from_the_account_page_is_a_request(portal: Portal) -> None:
    portal.signs_in("vanphong", ["office_admin"])
    portal.services.on("GET", f"{IDENTITY}/accounts/{TEACHER}", TEACHER_ACCOUNT)
    portal.services.on(
        "POST", f"{IDENTITY}/accounts/{TEACHER}/factor-resets", httpx.Response(201, json=PENDING)
    )
    async with portal.browser() as browser:
        await portal.login(browser, "vanphong")
        csrf = await portal.csrf_of(browser, f"/admin/accounts/{TEACHER}")
        asked = await browser.post(
            f"/admin/accounts/{TEACHER}/pin", data={"csrf": csrf, "confirm": "yes", "reason": "Quên mã PIN"}
        )
    assert asked.headers["location"] == f"/admin/accounts/{TEACHER}?done=requested"
    (request,) = portal.services.calls("POST", f"{IDENTITY}/accounts/{TEACHER}/factor-resets")
    assert json.loads(request.content) == {"factor": "signing_pin", "reason": "Quên mã PIN"}


async def test_a_refusal_that_asks_for_approval_becomes_a_request(portal: Portal) -> None:
    """Roles changed since the page was drawn: identity says approval_required; the portal asks."""
    portal.signs_in("quantri", ["system_admin"])
    portal.services.on("GET", f"{IDENTITY}/accounts/{TEACHER}", {**TEACHER_ACCOUNT, "roles": []})
    portal.services.on("GET", f"{SIGNING}/certificates", [])
    portal.services.on("GET", f"{IDENTITY}/staff", [])
    portal.services.on(
        "POST",
        f"{SIGNING}/signing-pin/{TEACHER}/reset",
        problem(409, "Cần phê duyệt", code="approval_required"),
    )
    portal.services.on(
        "POST", f"{IDENTITY}/accounts/{TEACHER}/factor-resets", httpx.Response(201, json=PENDING)
    )
    async with portal.browser() as browser:
        await portal.login(browser, "quantri")
        csrf = await portal.csrf_of(browser, "/admin/signing")
        asked = await browser.post(
            "/admin/signing/pin-reset", data={"csrf": csrf, "user_id": TEACHER, "reason": "Quên mã PIN"}
        )
    assert asked.status_code == 200
    assert "chờ Hiệu trưởng" in asked.text
    (request,) = portal.services.calls("POST", f"{IDENTITY}/accounts/{TEACHER}/factor-resets")
    assert json.loads(request.content)["factor"] == "signing_pin"


async def test_a_board_member_approves_and_sees_the_password_slip_once(portal: Portal) -> None:
    portal.signs_in("hieutruong", ["principal"])
    portal.services.on("GET", f"{IDENTITY}/factor-resets", [PENDING])
    approved = {**PENDING, "state": "approved", "initial_password": "Hbs-Moi-2468"}
    portal.services.on("POST", f"{IDENTITY}/factor-resets/{RESET}/approve", approved)
    async with portal.browser() as browser:
        await portal.login(browser, "hieutruong")
        page = await browser.get("/factor-resets")
        assert "Trần Thị Toán" in page.text
        assert "Quên mật khẩu" in page.text
        assert 'href="/factor-resets"' in page.text  # in the board's menu
        csrf = await portal.csrf_of(browser, "/factor-resets")
        slip = await browser.post(f"/factor-resets/{RESET}/approve", data={"csrf": csrf, "confirm": "yes"})
    assert slip.status_code == 200
    assert "Hbs-Moi-2468" in slip.text
    assert "chỉ hiện một lần" in slip.text
    assert slip.headers["cache-control"] == "no-store"


async def test_a_board_member_rejects_with_a_reason(portal: Portal) -> None:
    portal.signs_in("hieupho", ["vice_principal"])
    portal.services.on("GET", f"{IDENTITY}/factor-resets", [PENDING])
    portal.services.on("POST", f"{IDENTITY}/factor-resets/{RESET}/reject", {**PENDING, "state": "rejected"})
    portal.services.on(
        "POST",
        f"{IDENTITY}/factor-resets/{RESET}/approve",
        problem(403, "Người gửi yêu cầu không được tự phê duyệt"),
    )
    async with portal.browser() as browser:
        await portal.login(browser, "hieupho")
        csrf = await portal.csrf_of(browser, "/factor-resets")
        own = await browser.post(f"/factor-resets/{RESET}/approve", data={"csrf": csrf, "confirm": "yes"})
        assert own.status_code == 403
        assert "không được tự phê duyệt" in own.text
        rejected = await browser.post(
            f"/factor-resets/{RESET}/reject", data={"csrf": csrf, "reason": "Chưa rõ"}
        )
        assert rejected.headers["location"] == "/factor-resets?done=rejected"
    (request,) = portal.services.calls("POST", f"{IDENTITY}/factor-resets/{RESET}/reject")
    assert json.loads(request.content) == {"reason": "Chưa rõ"}


async def test_the_owner_sees_the_notice_after_sign_in_and_acknowledges_it(portal: Portal) -> None:
    notice = {
        "reset_id": RESET,
        "factor": "signing_pin",
        "requested_by_name": "Văn phòng",
        "approved_by_name": "Hiệu trưởng",
        "approved_at": "2026-12-01T03:00:00+00:00",
    }
    acked: list[str] = []

    def me(_request: httpx.Request) -> httpx.Response:
        shown = [] if acked else [notice]
        return httpx.Response(
            200,
            json={
                "user_id": TEACHER,
                "username": "gv.toan",
                "name": "Trần Thị Toán",
                "roles": ["subject_teacher"],
                "security_notices": shown,
            },
        )

    def ack(request: httpx.Request) -> httpx.Response:
        acked.append(request.url.path)
        return httpx.Response(204)

    portal.signs_in("gv.toan", ["subject_teacher"])
    portal.services.on("GET", f"{IDENTITY}/me", me)
    portal.services.on("POST", f"{IDENTITY}/me/security-notices/{RESET}/ack", ack)
    async with portal.browser() as browser:
        signed = await portal.login(browser)
        assert signed.headers["location"] == "/security-notices"
        page = await browser.get("/security-notices")
        assert "Mã PIN ký số của bạn đã được đặt lại" in page.text
        assert "Đã hiểu" in page.text
        assert "10:00" in page.text  # 03:00 UTC on the school's clock
        csrf = await portal.csrf_of(browser, "/security-notices")
        done = await browser.post(f"/security-notices/{RESET}/ack", data={"csrf": csrf})
        assert (await browser.get(done.headers["location"])).headers["location"] == "/sheets"
    assert acked == [f"/me/security-notices/{RESET}/ack"]


async def test_the_pin_page_explains_a_required_reset(portal: Portal) -> None:
    portal.signs_in("gv.toan", ["subject_teacher"])
    portal.services.on(
        "GET", f"{SIGNING}/signing-pin", {"set": True, "locked": False, "reset_required": True}
    )
    async with portal.browser() as browser:
        await portal.login(browser)
        page = await browser.get("/signing-pin")
    assert "Bạn chưa thể ký cho đến khi tự đặt mã PIN mới" in page.text
    assert 'name="current_pin"' not in page.text
