"""Hole 2 of the security issue through the portal of the running system: resetting a signer's
password or signing PIN takes two people (the office asks, another board member approves), and
the owner is told at the next sign-in and must set a new PIN in their own session before signing."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest

from hbs_devtools.demo import DEMO_PASSWORD
from hbs_devtools.drive import SIGNING_PIN, SystemClient, sign_in_portal

from .factories import wait_until

pytestmark = [pytest.mark.db, pytest.mark.broker, pytest.mark.hsm]

NEW_PASSWORD = "mat-khau-rieng-2026"
OFFICE_NAME = "Đỗ Thị Ngọc Ánh"  # quantri
PRINCIPAL_NAME = "Trần Văn Minh"  # hieutruong


def form_value(page: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]+)"', page)
    assert found is not None, page
    return found.group(1)


def portal_of(system: SystemClient) -> httpx.Client:
    return httpx.Client(base_url=system.stack.url("portal"), timeout=60)


@contextmanager
def signed_in(system: SystemClient, username: str, password: str = DEMO_PASSWORD) -> Iterator[httpx.Client]:
    with portal_of(system) as portal:
        assert sign_in_portal(portal, username, password).status_code == 303
        yield portal


def new_teacher(system: SystemClient) -> tuple[str, str, str]:
    """A fresh subject teacher (a signer) who has signed in once and chosen a password."""
    username = f"gv.{uuid.uuid4().hex[:8]}"
    with system.client("identity", system.token("quantri")) as identity:
        made = identity.post(
            "/staff", json={"username": username, "full_name": "Vũ Thị Lan", "roles": ["subject_teacher"]}
        )
        assert made.status_code == 201, made.text
        account_id = made.json()["id"]
        # A new account's first password is no reset: one admin issues it.
        issued = identity.post(f"/accounts/{account_id}/password")
        assert issued.status_code == 200, issued.text
    with portal_of(system) as owner:
        change_password(owner, username, issued.json()["initial_password"])
    return username, account_id, NEW_PASSWORD


def change_password(portal: httpx.Client, username: str, initial: str) -> httpx.Response:
    answer = sign_in_portal(portal, username, initial)
    assert answer.headers["location"] == "/password", answer.text
    return portal.post(
        "/password",
        data={
            "csrf": form_value(portal.get("/password").text, "csrf"),
            "current_password": initial,
            "new_password": NEW_PASSWORD,
            "new_password_again": NEW_PASSWORD,
        },
    )


def request_reset(office: httpx.Client, account_id: str, action: str, reason: str) -> None:
    page = office.get(f"/admin/accounts/{account_id}").text
    assert "cần Hiệu trưởng hoặc Phó hiệu trưởng" in page
    asked = office.post(
        f"/admin/accounts/{account_id}/{action}",
        data={"csrf": form_value(page, "csrf"), "confirm": "yes", "reason": reason},
    )
    assert asked.headers["location"] == f"/admin/accounts/{account_id}?done=requested", asked.text
    assert "chờ Hiệu trưởng hoặc Phó hiệu trưởng" in office.get(asked.headers["location"]).text


def pending_reset(board: httpx.Client, reason: str) -> tuple[str, str]:
    page = board.get("/factor-resets").text
    section = page[: page.index(reason)]
    found = re.findall(r'action="/factor-resets/([0-9a-f-]+)/approve"', page[len(section) :])
    assert found, page
    return found[0], form_value(page, "csrf")


def test_a_signers_password_reset_takes_two_people_and_the_owner_is_told(system: SystemClient) -> None:
    username, account_id, password = new_teacher(system)
    reason = f"Quên mật khẩu {uuid.uuid4().hex[:6]}"
    with signed_in(system, "quantri") as office:
        request_reset(office, account_id, "password", reason)
        # The office alone cannot approve its own request: the page is the board's.
        assert office.get("/factor-resets").status_code == 403
    # Nothing is reset yet: the teacher's own password still works.
    with portal_of(system) as owner:
        assert sign_in_portal(owner, username, password).status_code == 303

    with signed_in(system, "hieutruong") as board:
        reset_id, csrf = pending_reset(board, reason)
        slip = board.post(f"/factor-resets/{reset_id}/approve", data={"csrf": csrf, "confirm": "yes"})
        assert slip.status_code == 200, slip.text
        initial = re.search(r'id="slip-password">([^<]+)<', slip.text)
        assert initial is not None, slip.text
        assert reason not in board.get("/factor-resets").text  # no longer pending

    with portal_of(system) as owner:
        assert sign_in_portal(owner, username, password).status_code != 303  # the old one is gone
        changed = change_password(owner, username, initial.group(1))
        assert changed.headers["location"] == "/security-notices"
        notices = owner.get("/security-notices").text
        assert "Mật khẩu của bạn đã được đặt lại" in notices
        assert OFFICE_NAME in notices
        assert PRINCIPAL_NAME in notices
        acked = owner.post(f"/security-notices/{reset_id}/ack", data={"csrf": form_value(notices, "csrf")})
        assert owner.get(acked.headers["location"]).headers["location"] == "/sheets"


def test_a_signers_pin_reset_is_rejected_or_approved_by_the_board_and_blocks_signing(
    system: SystemClient,
) -> None:
    username, account_id, password = new_teacher(system)
    with signed_in(system, username, password) as owner:
        page = owner.get("/signing-pin").text
        set_pin = owner.post(
            "/signing-pin",
            data={"csrf": form_value(page, "csrf"), "pin": SIGNING_PIN, "pin_again": SIGNING_PIN},
        )
        assert "Đã lưu mã PIN ký số." in set_pin.text

    first = f"Quên mã PIN {uuid.uuid4().hex[:6]}"
    with signed_in(system, "quantri") as office:
        request_reset(office, account_id, "pin", first)
    with signed_in(system, "phohieutruong") as vice:
        reset_id, csrf = pending_reset(vice, first)
        rejected = vice.post(
            f"/factor-resets/{reset_id}/reject", data={"csrf": csrf, "reason": "Chưa gặp người"}
        )
        assert rejected.headers["location"] == "/factor-resets?done=rejected"
    with signed_in(system, username, password) as owner:
        assert "Bạn chưa thể ký" not in owner.get("/signing-pin").text  # a rejected reset changes nothing

    second = f"Quên mã PIN {uuid.uuid4().hex[:6]}"
    with signed_in(system, "quantri") as office:
        request_reset(office, account_id, "pin", second)
    with signed_in(system, "hieutruong") as board:
        reset_id, csrf = pending_reset(board, second)
        approved = board.post(f"/factor-resets/{reset_id}/approve", data={"csrf": csrf, "confirm": "yes"})
        assert approved.headers["location"] == "/factor-resets?done=approved"

    with portal_of(system) as owner:
        assert sign_in_portal(owner, username, password).headers["location"] == "/security-notices"
        assert "Mã PIN ký số của bạn đã được đặt lại" in owner.get("/security-notices").text

        # Signing learns of the reset from identity's event, a moment after the approval.
        def held() -> str | None:
            text = owner.get("/signing-pin").text
            return text if "Bạn chưa thể ký cho đến khi tự đặt mã PIN mới" in text else None

        page = wait_until("signing to hold the PIN reset", held, timeout=30)
        assert 'name="current_pin"' not in page
        new_pin = "135790"
        again = owner.post(
            "/signing-pin", data={"csrf": form_value(page, "csrf"), "pin": new_pin, "pin_again": new_pin}
        )
        assert "Đã lưu mã PIN ký số." in again.text
        assert "Bạn chưa thể ký" not in again.text
