"""Issue 9, hole 2, on the whole running system: no single person other than the signer can
cause a signature in the signer's name.

The original attack: one administrator set a teacher's new initial password, signed in as her,
set a signing PIN and signed. Now one admin alone is refused at every step; a reset needs a
request (quantri, the demo admin) and the approval of another board member (hieutruong); the
teacher is told at her next sign-in, her activation from before the reset no longer signs, and
she signs again only once she has set a new PIN herself.

The teacher and her class are this test's own (made through identity's API), so the demo
people other tests sign in as keep their passwords and PINs.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx
import pytest

from hbs_shared.devstack.drive import SystemClient

pytestmark = [pytest.mark.db, pytest.mark.broker, pytest.mark.hsm]
OWN_PASSWORD = "mat-khau-cua-co-2026"
OWN_PIN = "135790"
NEW_PIN = "864209"


def _bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def _wait(what: str, probe: Any, timeout: float = 90) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found:
            return found
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.3)


def _sign_in(system: SystemClient, username: str, password: str) -> dict[str, Any]:
    with system.client("identity") as identity:
        answer = identity.post("/auth/token", json={"username": username, "password": password})
    assert answer.status_code == 200, answer.text
    signed: dict[str, Any] = answer.json()
    return signed


def _change_password(system: SystemClient, token: str, current: str) -> str:
    with system.client("identity", token) as identity:
        changed = identity.post(
            "/auth/password", json={"current_password": current, "new_password": OWN_PASSWORD}
        )
    assert changed.status_code == 200, changed.text
    full: str = changed.json()["access_token"]
    return full


def _teacher_with_a_sheet(system: SystemClient, admin: str) -> tuple[str, str, dict[str, Any]]:
    """A new maths teacher of a new class, signed in with her own password and PIN: (id, login, sheet)."""
    username = f"gv.{uuid.uuid4().hex[:8]}"
    with system.client("identity", admin) as identity:
        school_class = identity.post(
            "/classes",
            json={"name": f"10T-{uuid.uuid4().hex[:6]}", "grade_level": 10, "school_year": "2026-2027"},
        )
        assert school_class.status_code == 201, school_class.text
        made = identity.post(
            "/staff", json={"username": username, "full_name": "Bùi Thị Hạnh", "roles": ["subject_teacher"]}
        )
        assert made.status_code == 201, made.text
        teacher_id = made.json()["id"]
        assigned = identity.post(
            "/assignments",
            json={
                "kind": "subject_teacher",
                "teacher_id": teacher_id,
                "class_id": school_class.json()["id"],
                "subject_code": "TOAN",
            },
        )
        assert assigned.status_code == 201, assigned.text
        # The first password of a brand-new account is handed out by one admin (not a reset).
        initial = identity.post(f"/accounts/{teacher_id}/password")
        assert initial.status_code == 200, initial.text
    first = _sign_in(system, username, initial.json()["initial_password"])
    token = _change_password(system, first["access_token"], initial.json()["initial_password"])
    with system.client("signing", token) as signing:
        assert signing.put("/signing-pin", json={"pin": OWN_PIN}).status_code == 204
    sheet = next(
        s
        for s in _wait("grades' sheets of the new teacher", lambda: system.sheets(token, timeout=5))
        if s["class_name"] == school_class.json()["name"] and s["term"] == "HK1"
    )
    return teacher_id, username, sheet


def _activate(system: SystemClient, token: str, pin: str, sheet_id: str) -> httpx.Response:
    with system.client("signing", token) as signing:
        return signing.post("/activations", json={"pin": pin, "subject_ids": [sheet_id]})


def test_one_admin_alone_cannot_sign_in_a_teachers_name_and_two_people_leave_her_in_charge(
    system: SystemClient,
) -> None:
    admin, principal = system.token("quantri"), system.token("hieutruong")
    teacher_id, username, sheet = _teacher_with_a_sheet(system, admin)
    teacher = _sign_in(system, username, OWN_PASSWORD)
    # Her own activation, made before anything happens: it will not outlive the reset.
    before = _activate(system, teacher["access_token"], OWN_PIN, sheet["id"])
    assert before.status_code == 201, before.text

    # The attack: one admin sets a new password, resets TOTP or the signing PIN — all refused.
    with system.client("identity", admin) as identity:
        for path in ("password", "totp/reset", "sign-in-slip"):
            refused = identity.post(f"/accounts/{teacher_id}/{path}")
            assert (refused.status_code, refused.json()["code"]) == (409, "approval_required"), path
    with system.client("signing", admin) as signing:
        refused = signing.post(f"/signing-pin/{teacher_id}/reset", json={"reason": "Giáo viên quên mã PIN"})
        assert (refused.status_code, refused.json()["code"]) == (409, "approval_required")
    # Nor can the admin approve their own request.
    with system.client("identity", admin) as identity:
        asked = identity.post(
            f"/accounts/{teacher_id}/factor-resets",
            json={"factor": "password", "reason": "Cô giáo quên mật khẩu, đề nghị cấp lại"},
        )
        assert asked.status_code == 201, asked.text
        reset = asked.json()
        assert identity.post(f"/factor-resets/{reset['id']}/approve").status_code == 403

    # A second person, the principal, approves: the new password is handed to him, once.
    with system.client("identity", principal) as identity:
        approved = identity.post(f"/factor-resets/{reset['id']}/approve")
    assert approved.status_code == 200, approved.text
    new_password = approved.json()["initial_password"]
    with system.client("identity") as identity:
        assert (
            identity.post("/auth/refresh", json={"refresh_token": teacher["refresh_token"]}).status_code
            == 401
        )

    # Signing hears of it: her old PIN no longer activates, her old activation no longer signs.
    with system.client("signing", teacher["access_token"]) as signing:
        _wait("signing to learn of the reset", lambda: signing.get("/signing-pin").json()["reset_required"])
    with system.client("grades", teacher["access_token"]) as grades:
        submitted = grades.post(f"/sheets/{sheet['id']}/submit", json={"expected_version": sheet["version"]})
        assert submitted.status_code == 200, submitted.text
        sent = grades.post(
            f"/sheets/{sheet['id']}/sign",
            json={
                "expected_version": submitted.json()["version"],
                "activation_id": before.json()["activation_id"],
            },
        )
        assert sent.status_code == 202, sent.text

        def refused_back() -> dict[str, Any] | None:
            now: dict[str, Any] = grades.get(f"/sheets/{sheet['id']}").json()
            return now if now["state"] == "submitted" and now["last_error"] else None

        back = _wait("the old activation to be refused", refused_back)
    assert "reset" in back["last_error"]

    # She signs in with the password the principal handed over and is told who did what.
    first = _sign_in(system, username, new_password)
    assert first["must_change_password"] is True
    token = _change_password(system, first["access_token"], new_password)
    with system.client("identity", token) as identity:
        notices = identity.get("/me").json()["security_notices"]
        assert [
            (n["reset_id"], n["factor"], n["requested_by_name"], n["approved_by_name"]) for n in notices
        ] == [(reset["id"], "password", "Đỗ Thị Ngọc Ánh", "Trần Văn Minh")]
        assert identity.post(f"/me/security-notices/{reset['id']}/ack").status_code == 204
        assert identity.get("/me").json()["security_notices"] == []
    old_pin = _activate(system, token, OWN_PIN, sheet["id"])
    assert (old_pin.status_code, old_pin.json()["code"]) == (409, "pin_reset_required")

    # Only her own new PIN, set in her own session, signs again.
    with system.client("signing", token) as signing:
        assert signing.put("/signing-pin", json={"pin": NEW_PIN}).status_code == 204
    activation = _activate(system, token, NEW_PIN, sheet["id"])
    assert activation.status_code == 201, activation.text
    with system.client("grades", token) as grades:
        current = grades.get(f"/sheets/{sheet['id']}").json()
        sent = grades.post(
            f"/sheets/{sheet['id']}/sign",
            json={
                "expected_version": current["version"],
                "activation_id": activation.json()["activation_id"],
            },
        )
        assert sent.status_code == 202, sent.text
    signed = system.wait_for_state(token, sheet["id"], "signed")
    assert signed["document_id"]

    with system.client("identity", principal) as identity:
        audit = identity.get("/audit", params={"object_id": teacher_id}).json()
    actions = {(e["action"], e["actor_name"]) for e in audit}
    assert {
        ("factor_reset.requested", "Đỗ Thị Ngọc Ánh"),
        ("factor_reset.approved", "Trần Văn Minh"),
        ("factor_reset.acknowledged", "Bùi Thị Hạnh"),
    } <= actions
