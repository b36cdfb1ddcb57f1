"""The two-person rule (issue 9, hole 2): no single person other than the signer resets a signer's
password, TOTP or signing PIN. A reset is requested by the office or the board and approved by a
board member who is neither the requester nor the owner; the owner is told at the next sign-in;
every step is audited and the approval is published for signing."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from hbs_devtools.demo import DEMO_PASSWORD, demo_person

Login = Callable[..., Awaitable[dict[str, str]]]
Events = Callable[..., Awaitable[list[dict[str, Any]]]]
pytestmark = [pytest.mark.db, pytest.mark.broker]
OWN_PASSWORD = "mat-khau-rieng-2026"
APPROVAL_TITLE = "Tài khoản ký số: việc đặt lại cần một thành viên Ban giám hiệu khác phê duyệt"


def _bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


async def _new_teacher(client: httpx.AsyncClient, admin: dict[str, str]) -> dict[str, Any]:
    """A new subject teacher handed the first password, who changed it (a full sign-in)."""
    username = f"gv.{uuid.uuid4().hex[:8]}"
    made = await client.post(
        "/staff",
        headers=admin,
        json={"username": username, "full_name": "Đặng Thị Mai", "roles": ["subject_teacher"]},
    )
    assert made.status_code == 201, made.text
    # The very first password of a new account is not a reset: one admin hands it out.
    first = await client.post(f"/accounts/{made.json()['id']}/password", headers=admin)
    assert first.status_code == 200, first.text
    initial = first.json()["initial_password"]
    restricted = (await client.post("/auth/token", json={"username": username, "password": initial})).json()
    changed = await client.post(
        "/auth/password",
        headers=_bearer(restricted["access_token"]),
        json={"current_password": initial, "new_password": OWN_PASSWORD},
    )
    assert changed.status_code == 200, changed.text
    return {"id": made.json()["id"], "username": username, **changed.json()}


async def _request(
    client: httpx.AsyncClient, who: dict[str, str], user_id: str, factor: str
) -> httpx.Response:
    return await client.post(
        f"/accounts/{user_id}/factor-resets",
        headers=who,
        json={"factor": factor, "reason": "Giáo viên báo mất điện thoại"},
    )


async def test_one_admin_alone_no_longer_resets_a_signer(client: httpx.AsyncClient, login: Login) -> None:
    admin = await login("quantri")
    teacher = await _new_teacher(client, admin)
    for path in ("password", "totp/reset", "sign-in-slip"):
        refused = await client.post(f"/accounts/{teacher['id']}/{path}", headers=admin)
        assert refused.status_code == 409, (path, refused.text)
        assert (refused.json()["code"], refused.json()["title"]) == ("approval_required", APPROVAL_TITLE)
    # The teacher's password still works: nothing was changed.
    signed = await client.post(
        "/auth/token", json={"username": teacher["username"], "password": OWN_PASSWORD}
    )
    assert signed.status_code == 200
    # Taking the signing role away does not reopen the single-admin path.
    demoted = await client.patch(f"/staff/{teacher['id']}", headers=admin, json={"roles": ["office_admin"]})
    assert demoted.status_code == 200, demoted.text
    assert (await client.post(f"/accounts/{teacher['id']}/password", headers=admin)).status_code == 409
    # Families and office-only staff keep the single-admin reset.
    office = await client.post(
        "/staff",
        headers=admin,
        json={"username": f"vp.{uuid.uuid4().hex[:6]}", "full_name": "Lê Văn Hậu", "roles": ["office_admin"]},
    )
    for _ in range(2):
        assert (
            await client.post(f"/accounts/{office.json()['id']}/password", headers=admin)
        ).status_code == 200
    classes = (await client.get("/classes", headers=admin)).json()
    roster = (await client.get(f"/classes/{classes[0]['id']}/students", headers=admin)).json()
    assert (await client.post(f"/accounts/{roster[-1]['id']}/password", headers=admin)).status_code == 200


async def test_requester_approver_and_owner_are_three_people(
    client: httpx.AsyncClient, login: Login, outbox_events: Events
) -> None:
    admin, principal, vice = await login("quantri"), await login("hieutruong"), await login("phohieutruong")
    van = await login("gv.van")
    teacher = await _new_teacher(client, admin)

    # Who may request: office, system admin and the board; never for their own account.
    assert (await _request(client, van, teacher["id"], "password")).status_code == 403
    own = await _request(client, admin, str(demo_person("quantri").user_id), "password")
    assert own.status_code == 403
    assert "chính mình" in own.json()["title"]
    short = await client.post(
        f"/accounts/{teacher['id']}/factor-resets", headers=admin, json={"factor": "password", "reason": "x"}
    )
    assert (short.status_code, short.json()["field"]) == (422, "reason")
    nul = await client.post(
        f"/accounts/{teacher['id']}/factor-resets",
        headers=admin,
        json={"factor": "password", "reason": "quên\u0000mật khẩu"},
    )
    assert (nul.status_code, nul.json()["field"]) == (422, "reason")
    unknown = await client.post(
        f"/accounts/{teacher['id']}/factor-resets",
        headers=admin,
        json={"factor": "face", "reason": "quên mất"},
    )
    assert unknown.status_code == 422

    asked = await _request(client, admin, teacher["id"], "password")
    assert asked.status_code == 201, asked.text
    reset = asked.json()
    assert (reset["state"], reset["user_name"], reset["requested_by_name"]) == (
        "pending",
        "Đặng Thị Mai",
        "Đỗ Thị Ngọc Ánh",
    )
    assert reset["initial_password"] is None
    again = await _request(client, principal, teacher["id"], "password")
    assert (again.status_code, again.json()["code"]) == (409, "reset_pending")
    pending = await client.get("/factor-resets", headers=vice)
    assert [r["id"] for r in pending.json()] == [reset["id"]]
    assert (await client.get("/factor-resets", headers=van)).status_code == 403
    assert (await client.get("/factor-resets", headers=admin, params={"state": "any"})).status_code == 422

    # Who may approve: a board member, not the requester, not the owner.
    not_board = await client.post(f"/factor-resets/{reset['id']}/approve", headers=admin)
    assert not_board.status_code == 403
    assert "Ban giám hiệu" in not_board.json()["title"]
    assert (await client.post(f"/factor-resets/{reset['id']}/approve", headers=van)).status_code == 403
    by_principal = (await _request(client, principal, teacher["id"], "totp")).json()
    self_approved = await client.post(f"/factor-resets/{by_principal['id']}/approve", headers=principal)
    assert self_approved.status_code == 403
    assert "Người yêu cầu" in self_approved.json()["title"]
    principal_pin = (
        await _request(client, admin, str(demo_person("hieutruong").user_id), "signing_pin")
    ).json()
    owner = await client.post(f"/factor-resets/{principal_pin['id']}/approve", headers=principal)
    assert owner.status_code == 403
    assert "chính mình" in owner.json()["title"]
    assert (
        await client.post(f"/factor-resets/{principal_pin['id']}/approve", headers=vice)
    ).status_code == 200

    # Approved by a second board member: applied at once, the new password to the approver only.
    old_refresh = teacher["refresh_token"]
    approved = await client.post(f"/factor-resets/{reset['id']}/approve", headers=principal)
    assert approved.status_code == 200, approved.text
    body = approved.json()
    assert (body["state"], body["decided_by_name"]) == ("approved", "Trần Văn Minh")
    new_password = body["initial_password"]
    assert len(new_password or "") >= 10
    twice = await client.post(f"/factor-resets/{reset['id']}/approve", headers=vice)
    assert (twice.status_code, twice.json()["code"]) == (409, "not_pending")
    assert (await client.post("/auth/refresh", json={"refresh_token": old_refresh})).status_code == 401
    old = await client.post("/auth/token", json={"username": teacher["username"], "password": OWN_PASSWORD})
    assert old.status_code == 401
    listed = (await client.get("/factor-resets", headers=admin, params={"state": "approved"})).json()
    assert all(r["initial_password"] is None for r in listed)
    assert reset["id"] in [r["id"] for r in listed]

    events = [e for e in await outbox_events("identity.account.factor_reset") if e["reset_id"] == reset["id"]]
    assert events == [
        {
            "user_id": teacher["id"],
            "factor": "password",
            "reset_id": reset["id"],
            "requested_by": str(demo_person("quantri").user_id),
            "approved_by": str(demo_person("hieutruong").user_id),
            "approved_at": events[0]["approved_at"],
        }
    ]

    # The owner is told at the next sign-in, even before changing the new password.
    first = (
        await client.post("/auth/token", json={"username": teacher["username"], "password": new_password})
    ).json()
    assert first["must_change_password"] is True
    me = (await client.get("/me", headers=_bearer(first["access_token"]))).json()
    assert me["security_notices"] == [
        {
            "reset_id": reset["id"],
            "factor": "password",
            "requested_by_name": "Đỗ Thị Ngọc Ánh",
            "approved_by_name": "Trần Văn Minh",
            "approved_at": me["security_notices"][0]["approved_at"],
        }
    ]
    assert (await client.post(f"/me/security-notices/{reset['id']}/ack", headers=vice)).status_code == 404
    # The restricted token only finishes the password change; the owner acknowledges after it.
    ack = f"/me/security-notices/{reset['id']}/ack"
    assert (await client.post(ack, headers=_bearer(first["access_token"]))).status_code == 401
    changed = await client.post(
        "/auth/password",
        headers=_bearer(first["access_token"]),
        json={"current_password": new_password, "new_password": "mat-khau-moi-cua-co"},
    )
    full = _bearer(changed.json()["access_token"])
    assert (await client.get("/me", headers=full)).json()["security_notices"] == me["security_notices"]
    assert (await client.post(ack, headers=full)).status_code == 204
    assert (await client.get("/me", headers=full)).json()["security_notices"] == []

    # Reject: the requester or a board member, with a reason; not the teacher next door.
    reject = {"reason": "Đã tìm lại được điện thoại"}
    assert (
        await client.post(f"/factor-resets/{by_principal['id']}/reject", headers=van, json=reject)
    ).status_code == 403
    rejected = await client.post(f"/factor-resets/{by_principal['id']}/reject", headers=vice, json=reject)
    assert rejected.status_code == 200
    assert (rejected.json()["state"], rejected.json()["decision_reason"]) == ("rejected", reject["reason"])
    by_admin = (await _request(client, admin, teacher["id"], "totp")).json()
    withdrawn = await client.post(f"/factor-resets/{by_admin['id']}/reject", headers=admin, json=reject)
    assert withdrawn.json()["state"] == "rejected"
    # A rejected reset is never a notice, and was never published.
    assert {e["reset_id"] for e in await outbox_events("identity.account.factor_reset")} == {
        reset["id"],
        principal_pin["id"],
    }

    audit = (await client.get("/audit", headers=principal, params={"object_id": teacher["id"]})).json()
    actions = [(e["action"], e["actor_name"]) for e in audit]
    assert ("factor_reset.requested", "Đỗ Thị Ngọc Ánh") in actions
    assert ("factor_reset.approved", "Trần Văn Minh") in actions
    assert ("factor_reset.rejected", "Lê Thị Thu Hà") in actions
    assert ("factor_reset.acknowledged", "Đặng Thị Mai") in actions
    # Each is a link of identity's hash chain, naming the account by its owner's name (issue 11).
    assert {e["object_name"] for e in audit} == {"Đặng Thị Mai"}
    assert all(len(e["hash"]) == 64 for e in audit)
    chain = (await client.get("/audit/verify", headers=vice)).json()
    assert (chain["service"], chain["intact"], chain["broken"]) == ("identity", True, None)
    assert chain["last_seq"] >= max(e["seq"] for e in audit)
    assert (await client.get("/audit/verify", headers=van)).status_code == 403


async def test_an_approved_totp_reset_asks_the_board_member_to_set_it_up_again(
    client: httpx.AsyncClient, login: Login
) -> None:
    admin, principal = await login("quantri"), await login("hieutruong")
    vice_id = str(demo_person("phohieutruong").user_id)
    asked = (await _request(client, admin, vice_id, "totp")).json()
    assert (await client.post(f"/factor-resets/{asked['id']}/approve", headers=principal)).status_code == 200
    account = (await client.get(f"/accounts/{vice_id}", headers=admin)).json()
    assert account["totp_enabled"] is False
    # The demo vice-principal is exempt from the set-up; the notice is shown all the same.
    signed = await client.post("/auth/token", json={"username": "phohieutruong", "password": DEMO_PASSWORD})
    notices = (await client.get("/me", headers=_bearer(signed.json()["access_token"]))).json()[
        "security_notices"
    ]
    assert [(n["reset_id"], n["factor"]) for n in notices] == [(asked["id"], "totp")]
