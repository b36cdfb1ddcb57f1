"""Accounts and sign-in (Đ9): who signs in with what, first-sign-in password change, lockout,
rotating refresh tokens, TOTP, disabling, sign-in slips, and the audit of it all."""

from __future__ import annotations

import asyncio
import base64
import re
import subprocess
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pyotp
import pytest

from hbs_devtools.demo import DEMO_PARENT, DEMO_PARENT_PHONE, DEMO_PASSWORD, DEMO_STUDENT_LOGIN, demo_person
from hbs_identity.accounts.security import LockoutPolicy
from hbs_identity.accounts.signin import SignIn
from hbs_identity.models import Account
from hbs_identity.settings import IdentitySettings
from hbs_identity.tokens.keys import TokenIssuer

Login = Callable[..., Awaitable[dict[str, str]]]
Events = Callable[[str], Awaitable[list[dict[str, Any]]]]


def test_the_lock_grows_with_each_failure_up_to_the_maximum() -> None:
    policy = LockoutPolicy(threshold=5, address_threshold=30, base_seconds=30, max_seconds=900)
    assert [policy.lock_seconds(n, 5) for n in (4, 5, 6, 7, 10)] == [0, 30, 60, 120, 900]


def test_demo_people_are_exempt_only_outside_production(tmp_path: Path) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    principal = Account(
        id=demo_person("hieutruong").user_id,
        school_id="thpt-a",
        username="hieutruong",
        full_name="Trần Văn Minh",
        password_hash="x",
        roles=["principal"],
        must_change_password=True,
        totp_enabled=False,
    )
    issuer = TokenIssuer(Ed25519PrivateKey.generate(), 300)
    test = SignIn(IdentitySettings(environment="test", data_dir=tmp_path), issuer)
    assert test.pending(principal) == []
    production = SignIn(
        IdentitySettings(
            environment="production",
            password_hash_cost="standard",  # the suite sets the test cost in its environment
            data_dir=tmp_path,
            jwt_private_key="-----BEGIN PRIVATE KEY-----real",
            database_url="postgresql+asyncpg://hbs@db/identity",
            totp_encryption_key=base64.b64encode(bytes(range(32))).decode(),
        ),
        issuer,
    )
    assert production.pending(principal) == ["password_change", "totp_setup"]
    strict = SignIn(
        IdentitySettings(environment="test", data_dir=tmp_path, demo_accounts_exempt=False), issuer
    )
    assert strict.pending(principal) == ["password_change", "totp_setup"]


def pdf_text(pdf: Path) -> str:
    """The PDF's text as poppler extracts it (Vietnamese must come out right)."""
    done = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True)
    return done.stdout


async def _class_id(client: httpx.AsyncClient, headers: dict[str, str], name: str) -> str:
    classes = (await client.get("/classes", headers=headers)).json()
    return next(c["id"] for c in classes if c["name"] == name)


def _bearer(response: httpx.Response) -> dict[str, str]:
    return {"authorization": f"Bearer {response.json()['access_token']}"}


@pytest.mark.db
@pytest.mark.broker
async def test_slips_give_students_and_parents_a_first_password_they_must_change(
    client: httpx.AsyncClient, login: Login, tmp_path: Path
) -> None:
    admin = await login("quantri")
    class_id = await _class_id(client, admin, "10A2")
    slips = await client.post(f"/classes/{class_id}/sign-in-slips", headers=admin, params={"who": "students"})
    assert slips.status_code == 200
    assert slips.headers["content-type"] == "application/pdf"
    pdf = tmp_path / "slips.pdf"
    pdf.write_bytes(slips.content)
    text = await asyncio.to_thread(pdf_text, pdf)
    assert text.count("PHIẾU THÔNG TIN ĐĂNG NHẬP HỌC BẠ SỐ") == 10
    assert "Học sinh lớp 10A2" in text
    # Read one slip back: its login (the mã định danh) and password sign in.
    lines = [line.split(":", 1)[1].strip() for line in text.splitlines() if ":" in line]
    national_id = next(v for v in lines if v.isdigit() and len(v) == 10)
    password = lines[lines.index(national_id) + 1]

    first = await client.post("/auth/token", json={"username": national_id, "password": password})
    assert first.status_code == 200
    assert first.json()["must_change_password"] is True
    assert first.json()["refresh_token"] is None
    restricted = _bearer(first)
    assert (await client.get("/students", headers=restricted)).status_code == 401  # shared check

    short = await client.post(
        "/auth/password", headers=restricted, json={"current_password": password, "new_password": "ngan"}
    )
    assert (short.status_code, short.json()["field"]) == (422, "new_password")
    changed = await client.post(
        "/auth/password",
        headers=restricted,
        json={"current_password": password, "new_password": "hoc-ba-cua-em-2026"},
    )
    assert changed.status_code == 200
    assert changed.json()["must_change_password"] is False
    assert changed.json()["refresh_token"]
    own = (await client.get("/students", headers=_bearer(changed))).json()
    assert [s["national_id"] for s in own["items"]] == [national_id]
    old = await client.post("/auth/token", json={"username": national_id, "password": password})
    assert old.status_code == 401

    # Parents: the slip's login is the phone number.
    parents = await client.post(
        f"/classes/{class_id}/sign-in-slips", headers=admin, params={"who": "parents"}
    )
    pdf.write_bytes(parents.content)
    text = await asyncio.to_thread(pdf_text, pdf)
    assert "Phụ huynh của" in text
    lines = [line.split(":", 1)[1].strip() for line in text.splitlines() if ":" in line]
    phone = next(v for v in lines if v.startswith("0") and len(v) == 10 and v.isdigit())
    parent_password = lines[lines.index(phone) + 1]
    parent = await client.post("/auth/token", json={"username": phone, "password": parent_password})
    assert parent.status_code == 200
    assert parent.json()["must_change_password"] is True


@pytest.mark.db
@pytest.mark.broker
async def test_repeated_failures_lock_the_name_then_the_address(
    client: httpx.AsyncClient, login: Login
) -> None:
    for _ in range(5):
        wrong = await client.post("/auth/token", json={"username": "gv.van", "password": "sai-mat-khau"})
        assert wrong.status_code == 401
    locked = await client.post("/auth/token", json={"username": "gv.van", "password": DEMO_PASSWORD})
    assert locked.status_code == 429
    assert 0 < locked.json()["retry_after"] <= 31
    # Another name from the same address still signs in…
    await login("gv.toan")
    # …until the address itself has failed too often (30 by default).
    for n in range(25):
        await client.post("/auth/token", json={"username": f"khong-co-{n}", "password": "x"})
    assert (
        await client.post("/auth/token", json={"username": "hieutruong", "password": DEMO_PASSWORD})
    ).status_code == 429
    # Operators see the refusals by status (the HbsSignInFailures alert, the dashboard).
    metrics = (await client.get("/metrics")).text
    refused = {
        status: float(count)
        for status, count in re.findall(
            r'^hbs_identity_sign_in_failures_total\{status="(\d+)"\} (\S+)$', metrics, re.M
        )
    }
    assert refused["401"] >= 5
    assert refused["429"] >= 2

    admin_headers = {"authorization": "Bearer x"}
    del (
        admin_headers
    )  # the admin is locked out too (same address): read the audit through the other client below


@pytest.mark.db
@pytest.mark.broker
async def test_every_sign_in_and_failure_is_audited(client: httpx.AsyncClient, login: Login) -> None:
    await client.post("/auth/token", json={"username": "gv.toan", "password": "nope"})
    await login("gv.toan")
    admin = await login("quantri")
    entries = (await client.get("/audit", headers=admin, params={"limit": 50})).json()
    actions = [(e["action"], e["detail"].get("login"), e["detail"].get("reason")) for e in entries]
    assert ("sign_in.failed", "gv.toan", "password") in actions
    assert ("sign_in.succeeded", "gv.toan", None) in actions
    assert all(e["source"] == "127.0.0.1" for e in entries if e["action"].startswith("sign_in"))
    teacher = await login("gv.toan")
    assert (await client.get("/audit", headers=teacher)).status_code == 403


@pytest.mark.db
@pytest.mark.broker
async def test_refresh_tokens_rotate_and_a_reused_one_ends_the_family(client: httpx.AsyncClient) -> None:
    signed = (
        await client.post("/auth/token", json={"username": "gv.toan", "password": DEMO_PASSWORD})
    ).json()
    first = signed["refresh_token"]
    rotated = await client.post("/auth/refresh", json={"refresh_token": first})
    assert rotated.status_code == 200
    second = rotated.json()["refresh_token"]
    assert second != first
    assert (await client.get("/me", headers=_bearer(rotated))).json()["username"] == "gv.toan"

    replay = await client.post("/auth/refresh", json={"refresh_token": first})
    assert replay.status_code == 401
    assert (await client.post("/auth/refresh", json={"refresh_token": second})).status_code == 401

    again = (await client.post("/auth/token", json={"username": "gv.toan", "password": DEMO_PASSWORD})).json()
    assert (
        await client.post("/auth/logout", json={"refresh_token": again["refresh_token"]})
    ).status_code == 204
    assert (
        await client.post("/auth/refresh", json={"refresh_token": again["refresh_token"]})
    ).status_code == 401


@pytest.mark.db
@pytest.mark.broker
async def test_disabling_an_account(client: httpx.AsyncClient, login: Login, outbox_events: Events) -> None:
    admin = await login("quantri")
    signed = (await client.post("/auth/token", json={"username": "gv.van", "password": DEMO_PASSWORD})).json()
    van = {"authorization": f"Bearer {signed['access_token']}"}
    assert (await client.get("/students", headers=van)).status_code == 200
    user_id = str(demo_person("gv.van").user_id)

    disabled = await client.post(
        f"/accounts/{user_id}/disable", headers=admin, json={"reason": "nghỉ công tác"}
    )
    assert disabled.status_code == 200
    assert disabled.json()["disabled"] is True
    assert [e["user_id"] for e in await outbox_events("identity.account.disabled")] == [user_id]

    # Identity refuses at once; other services stop within one access-token lifetime (no refresh).
    assert (await client.get("/students", headers=van)).status_code == 401
    check = await client.post("/authz/check", headers=van, json={"action": "class.lead"})
    assert check.status_code == 401
    assert (
        await client.post("/auth/refresh", json={"refresh_token": signed["refresh_token"]})
    ).status_code == 401
    refused = await client.post("/auth/token", json={"username": "gv.van", "password": DEMO_PASSWORD})
    assert (refused.status_code, refused.json()["title"]) == (401, "Sai tên đăng nhập hoặc mật khẩu")

    assert (await client.post(f"/accounts/{user_id}/enable", headers=admin)).status_code == 200
    await login("gv.van")
    own = await client.post(
        f"/accounts/{demo_person('quantri').user_id}/disable", headers=admin, json={"reason": "thử"}
    )
    assert own.status_code == 409


@pytest.mark.db
@pytest.mark.broker
async def test_a_new_vice_principal_must_set_up_totp(client: httpx.AsyncClient, login: Login) -> None:
    admin = await login("quantri")
    created = await client.post(
        "/staff",
        headers=admin,
        json={"username": "pht.moi", "full_name": "Hoàng Thị Lan", "roles": ["vice_principal"]},
    )
    account_id = created.json()["id"]
    issued = (await client.post(f"/accounts/{account_id}/password", headers=admin)).json()
    first = await client.post(
        "/auth/token", json={"username": "pht.moi", "password": issued["initial_password"]}
    )
    assert (first.json()["must_change_password"], first.json()["totp_setup_required"]) == (True, True)
    changed = await client.post(
        "/auth/password",
        headers=_bearer(first),
        json={"current_password": issued["initial_password"], "new_password": "mat-khau-moi-2026"},
    )
    assert (changed.json()["must_change_password"], changed.json()["totp_setup_required"]) == (False, True)
    assert changed.json()["refresh_token"] is None
    restricted = _bearer(changed)
    assert (await client.get("/students", headers=restricted)).status_code == 401  # shared check

    setup = (await client.post("/auth/totp/setup", headers=restricted)).json()
    assert setup["otpauth_uri"].startswith("otpauth://totp/")
    wrong = await client.post("/auth/totp/confirm", headers=restricted, json={"code": "000000"})
    assert (wrong.status_code, wrong.json()["field"]) == (422, "code")
    code = pyotp.TOTP(setup["secret"]).now()
    confirmed = await client.post("/auth/totp/confirm", headers=restricted, json={"code": code})
    assert confirmed.status_code == 200
    assert confirmed.json()["refresh_token"]
    assert (await client.get("/students", headers=_bearer(confirmed))).status_code == 200

    no_code = await client.post("/auth/token", json={"username": "pht.moi", "password": "mat-khau-moi-2026"})
    assert (no_code.status_code, no_code.json()["field"]) == (401, "totp")
    with_code = await client.post(
        "/auth/token",
        json={
            "username": "pht.moi",
            "password": "mat-khau-moi-2026",
            "totp": pyotp.TOTP(setup["secret"]).now(),
        },
    )
    assert with_code.status_code == 200
    assert with_code.json()["totp_setup_required"] is False
    assert uuid.UUID(account_id)


@pytest.mark.db
@pytest.mark.broker
async def test_the_lockout_counts_per_account_whatever_spelling_found_it(client: httpx.AsyncClient) -> None:
    """Issue 9, hole 3: five wrong passwords under the phone 0987… lock the account, so the right
    password under 84987…, +84 987…, or the parent's username is refused too."""
    for _ in range(5):
        wrong = await client.post(
            "/auth/token", json={"username": DEMO_PARENT_PHONE, "password": "sai-mat-khau"}
        )
        assert wrong.status_code == 401
    for spelling in ("84" + DEMO_PARENT_PHONE[1:], "+84 " + DEMO_PARENT_PHONE[1:], DEMO_PARENT.username):
        locked = await client.post("/auth/token", json={"username": spelling, "password": DEMO_PASSWORD})
        assert locked.status_code == 429, (spelling, locked.text)
    # An unknown name is still counted under that name; another account is not locked.
    assert (
        await client.post("/auth/token", json={"username": "gv.toan", "password": DEMO_PASSWORD})
    ).status_code == 200


@pytest.mark.db
@pytest.mark.broker
async def test_only_the_readme_demo_logins_skip_the_first_sign_in_change(
    client: httpx.AsyncClient, login: Login
) -> None:
    """Issue 9, hole 11: every seeded account but the README's demo logins must change the demo
    password at first sign-in (a restricted token, no refresh token)."""
    for demo in ("gv.toan", "gv.van", "hieutruong", "phohieutruong", "quantri", DEMO_PARENT.username):
        full = await client.post("/auth/token", json={"username": demo, "password": DEMO_PASSWORD})
        assert (full.status_code, full.json()["must_change_password"]) == (200, False), demo
        assert full.json()["refresh_token"], demo
    student = await client.post(
        "/auth/token", json={"username": DEMO_STUDENT_LOGIN, "password": DEMO_PASSWORD}
    )
    assert student.json()["must_change_password"] is False
    admin = await login("quantri")
    class_id = await _class_id(client, admin, "10A2")
    roster = (await client.get(f"/classes/{class_id}/students", headers=admin)).json()
    other = next(s for s in roster if s["national_id"] != DEMO_STUDENT_LOGIN)
    parents = (await client.get(f"/students/{other['id']}/parents", headers=admin)).json()
    parent = next(p for p in parents if p["username"] != DEMO_PARENT.username)
    for seeded in (other["national_id"], parent["username"], parent["phone"]):
        first = await client.post("/auth/token", json={"username": seeded, "password": DEMO_PASSWORD})
        assert first.status_code == 200, first.text
        assert (first.json()["must_change_password"], first.json()["refresh_token"]) == (True, None), seeded
        # A restricted token is refused by the shared token check itself (issue 9, hole 1).
        assert (await client.get("/students", headers=_bearer(first))).status_code == 401
