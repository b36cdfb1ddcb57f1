"""Two-factor sign-in through the portal of the running system: set-up, the code step, opting in."""

from __future__ import annotations

import re
import time
import uuid

import httpx
import pyotp
import pytest
from playwright.sync_api import Page, expect

from hbs_devtools.demo import DEMO_PASSWORD
from hbs_devtools.drive import SystemClient, sign_in_portal
from hbs_portal.web.totp import normalise_code, open_ticket, seal_ticket

from .a11y import assert_accessible

pytestmark = [pytest.mark.db, pytest.mark.broker, pytest.mark.hsm]

NEW_PASSWORD = "mat-khau-rieng-2026"


def form_value(page: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]+)"', page)
    assert found is not None, page
    return found.group(1)


def new_staff(system: SystemClient, roles: list[str]) -> tuple[str, str]:
    """A fresh staff account made by the office (quantri), with its initial password."""
    username = f"cb.{uuid.uuid4().hex[:8]}"
    with system.client("identity", system.token("quantri")) as identity:
        made = identity.post("/staff", json={"username": username, "full_name": "Vũ Thị Lan", "roles": roles})
        assert made.status_code == 201, made.text
        issued = identity.post(f"/accounts/{made.json()['id']}/password")
        assert issued.status_code == 200, issued.text
    return username, issued.json()["initial_password"]


def first_sign_in(portal: httpx.Client, username: str, initial: str) -> httpx.Response:
    """Password, then the forced password change; answers the redirect that follows the change."""
    answer = sign_in_portal(portal, username, initial)
    assert answer.headers["location"] == "/password"
    csrf = form_value(portal.get("/password").text, "csrf")
    return portal.post(
        "/password",
        data={
            "csrf": csrf,
            "current_password": initial,
            "new_password": NEW_PASSWORD,
            "new_password_again": NEW_PASSWORD,
        },
    )


def set_up(portal: httpx.Client, page: str) -> tuple[str, httpx.Response]:
    """Starts the set-up from a page holding the form; returns the secret and the set-up page."""
    started = portal.post("/totp/setup", data={"csrf": form_value(page, "csrf")})
    assert started.status_code == 200, started.text
    return form_value(started.text, "secret"), started


def test_required_totp_keeps_the_vice_principal_on_set_up_then_asks_the_code_at_each_sign_in(
    system: SystemClient,
) -> None:
    username, initial = new_staff(system, ["vice_principal"])
    with httpx.Client(base_url=system.stack.url("portal"), timeout=30) as portal:
        changed = first_sign_in(portal, username, initial)
        assert changed.headers["location"] == "/totp/setup"
        # Every page sends the session back to the set-up until it is done.
        assert portal.get("/sheets").headers["location"] == "/totp/setup"
        intro = portal.get("/totp/setup")
        assert "bắt buộc dùng xác thực hai lớp" in intro.text
        secret, shown = set_up(portal, intro.text)
        assert "<svg" in shown.text
        assert "otpauth://totp/" in shown.text
        csrf = form_value(shown.text, "csrf")
        totp = pyotp.TOTP(secret)
        form = {"csrf": csrf, "secret": secret, "otpauth_uri": form_value(shown.text, "otpauth_uri")}

        malformed = portal.post("/totp/confirm", data={**form, "code": "12ab56"})
        assert malformed.status_code == 422
        assert "Mã xác thực: cần đúng 6 chữ số." in malformed.text
        wrong = portal.post("/totp/confirm", data={**form, "code": totp.at(time.time() - 3600)})
        assert wrong.status_code == 422
        assert "Mã xác thực hai lớp không đúng" in wrong.text
        assert secret in wrong.text  # the same secret stays on the page to try again
        forged = portal.post("/totp/confirm", data={**form, "csrf": "x" * 30, "code": totp.now()})
        assert forged.status_code == 403

        confirmed = portal.post("/totp/confirm", data={**form, "code": totp.now()})
        assert confirmed.status_code == 303
        # The board's home page is the progress view (Đ4.1).
        assert confirmed.headers["location"] == "/progress?notice=totp"
        assert portal.get("/progress").status_code == 200
        portal.post("/logout")

        asked = sign_in_portal(portal, username, NEW_PASSWORD)
        assert asked.headers["location"] == "/login/totp"
        assert portal.get("/sheets").headers["location"] == "/login/totp"
        code_page = portal.get("/login/totp")
        assert "Mã xác thực" in code_page.text
        assert NEW_PASSWORD not in code_page.text
        step = {"csrf": form_value(code_page.text, "csrf")}
        refused = portal.post("/login/totp", data={**step, "code": totp.at(time.time() - 3600)})
        assert refused.status_code == 401
        assert "Mã xác thực hai lớp không đúng" in refused.text
        short = portal.post("/login/totp", data={**step, "code": "123"})
        assert short.status_code == 422
        assert "cần đúng 6 chữ số" in short.text
        signed = portal.post("/login/totp", data={**step, "code": totp.now()})
        assert signed.status_code == 303
        assert signed.headers["location"] == "/progress"
        assert portal.get("/progress").status_code == 200
        # The code step's session is gone: the signed-in browser is sent home, not to the code.
        assert portal.get("/login/totp").headers["location"] == "/"


def test_a_teacher_opts_in_from_the_security_page_and_the_office_can_reset_it(
    system: SystemClient,
) -> None:
    username, initial = new_staff(system, ["subject_teacher"])
    with httpx.Client(base_url=system.stack.url("portal"), timeout=30) as portal:
        changed = first_sign_in(portal, username, initial)
        assert changed.headers["location"] == "/sheets?notice=password"
        security = portal.get("/security")
        assert security.status_code == 200
        assert "Bảo mật đăng nhập" in security.text
        assert "chưa bật" in security.text
        secret, shown = set_up(portal, security.text)
        confirmed = portal.post(
            "/totp/confirm",
            data={
                "csrf": form_value(shown.text, "csrf"),
                "secret": secret,
                "otpauth_uri": form_value(shown.text, "otpauth_uri"),
                "code": pyotp.TOTP(secret).now(),
            },
        )
        assert confirmed.headers["location"] == "/security?notice=totp"
        after = portal.get("/security?notice=totp")
        assert "Đã bật xác thực hai lớp." in after.text
        assert "đang bật" in after.text
        # The session still works after the token family changed.
        assert portal.get("/sheets").status_code == 200
        portal.post("/logout")
        assert sign_in_portal(portal, username, NEW_PASSWORD).headers["location"] == "/login/totp"

    with system.client("identity", system.token("quantri")) as identity:
        staff = identity.get("/staff").json()
        account_id = next(s["id"] for s in staff if s["username"] == username)
    # The office asks for the reset from the account page (phone lost), after ticking the
    # confirmation; a teacher signs, so a board member approves it (two-person rule).
    reason = f"Mất điện thoại {uuid.uuid4().hex[:6]}"
    with httpx.Client(base_url=system.stack.url("portal"), timeout=30) as office:
        sign_in_portal(office, "quantri", DEMO_PASSWORD)
        account_page = office.get(f"/admin/accounts/{account_id}")
        assert 'id="account-totp">Đang bật<' in account_page.text
        reset = {"csrf": form_value(account_page.text, "csrf"), "reason": reason}
        unconfirmed = office.post(f"/admin/accounts/{account_id}/totp", data=reset)
        assert unconfirmed.status_code == 422
        done = office.post(f"/admin/accounts/{account_id}/totp", data={**reset, "confirm": "yes"})
        assert done.headers["location"] == f"/admin/accounts/{account_id}?done=requested"
    with httpx.Client(base_url=system.stack.url("portal"), timeout=30) as board:
        sign_in_portal(board, "hieutruong", DEMO_PASSWORD)
        pending = board.get("/factor-resets").text
        reset_id = re.findall(
            r'action="/factor-resets/([0-9a-f-]+)/approve"', pending[pending.index(reason) :]
        )[0]
        approved = board.post(
            f"/factor-resets/{reset_id}/approve", data={"csrf": form_value(pending, "csrf"), "confirm": "yes"}
        )
        assert approved.headers["location"] == "/factor-resets?done=approved"
    with httpx.Client(base_url=system.stack.url("portal"), timeout=30) as office:
        sign_in_portal(office, "quantri", DEMO_PASSWORD)
        assert 'id="account-totp">Chưa bật<' in office.get(f"/admin/accounts/{account_id}").text
    with httpx.Client(base_url=system.stack.url("portal"), timeout=30) as portal:
        again = sign_in_portal(portal, username, NEW_PASSWORD)
        assert again.headers["location"] == "/security-notices"  # told of the reset first


def test_the_demo_principal_is_exempt_and_signs_in_with_the_password_alone(system: SystemClient) -> None:
    with httpx.Client(base_url=system.stack.url("portal"), timeout=30) as portal:
        signed = sign_in_portal(portal, "hieutruong", DEMO_PASSWORD)
        assert signed.headers["location"] == "/progress"  # the board's home: Tiến độ


def test_in_the_browser_a_vice_principal_sets_up_totp_and_signs_in_with_the_code(
    page: Page, system: SystemClient
) -> None:
    username, initial = new_staff(system, ["vice_principal"])
    page.goto(system.stack.url("portal") + "/")
    page.get_by_label("Tên đăng nhập").fill(username)
    page.get_by_label("Mật khẩu").fill(initial)
    page.get_by_role("button", name="Đăng nhập").click()
    assert_accessible(page)
    page.get_by_label("Mật khẩu hiện tại").fill(initial)
    page.get_by_label("Mật khẩu mới", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Nhập lại mật khẩu mới").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Đổi mật khẩu").click()

    expect(page.get_by_role("heading", name="Bật xác thực hai lớp")).to_be_visible()
    page.get_by_role("button", name="Tạo khoá bí mật").click()
    expect(page.locator(".qr svg")).to_be_visible()
    assert_accessible(page)
    totp = pyotp.TOTP(page.locator("#totp-secret").inner_text())
    page.get_by_label("Mã xác thực").fill("000")
    page.get_by_role("button", name="Xác nhận và bật").click()
    expect(page.get_by_role("alert")).to_have_text("Mã xác thực: cần đúng 6 chữ số.")
    assert_accessible(page)
    page.get_by_label("Mã xác thực").fill(totp.now())
    page.get_by_role("button", name="Xác nhận và bật").click()
    expect(page.get_by_role("heading", name=re.compile("^Tiến độ"))).to_be_visible()

    page.get_by_role("button", name="Đăng xuất").click()
    page.get_by_label("Tên đăng nhập").fill(username)
    page.get_by_label("Mật khẩu").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    page.get_by_label("Mã xác thực").fill(totp.at(time.time() - 3600))
    page.get_by_role("button", name="Xác nhận").click()
    expect(page.get_by_role("alert")).to_have_text("Mã xác thực hai lớp không đúng")
    assert_accessible(page)
    page.get_by_label("Mã xác thực").fill(totp.now())
    page.get_by_role("button", name="Xác nhận").click()
    expect(page.get_by_role("heading", name=re.compile("^Tiến độ"))).to_be_visible()


def test_a_sealed_sign_in_opens_only_with_its_own_cookie_and_unaltered() -> None:
    sealed = seal_ticket("cookie-id-1", "hieutruong", "mật khẩu")
    assert "mật khẩu" not in sealed
    assert open_ticket("cookie-id-1", sealed) == ("hieutruong", "mật khẩu")
    assert open_ticket("cookie-id-2", sealed) is None
    flipped = sealed[:-6] + ("A" if sealed[-6] != "A" else "B") + sealed[-5:]
    assert open_ticket("cookie-id-1", flipped) is None
    assert open_ticket("cookie-id-1", "not base64!") is None


def test_a_code_is_six_digits_spaces_allowed() -> None:
    assert normalise_code(" 123 456 ") == "123456"
    assert normalise_code("12345") is None
    assert normalise_code("12345a") is None
    assert normalise_code("１２３４５６") is None  # full-width digits are not what the app shows
