"""Schools as data (issue 14): the province's first administrator from the command line, a new
school with its first administrator (POST /schools), the schools' counts (GET /schools), and
province roles kept apart from school accounts."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pyotp
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from hbs_identity.models import AuditEntry
from hbs_identity.people.accounts import check_roles
from hbs_identity.province.__main__ import main as province_command
from hbs_identity.settings import IdentitySettings
from hbs_shared.problems import Problem
from hbs_shared.schools import PROVINCE_SCOPE
from hbs_shared.service import ServiceRuntime

Login = Callable[..., Awaitable[dict[str, str]]]
Events = Callable[..., Awaitable[list[dict[str, Any]]]]

NEW_SCHOOL: dict[str, Any] = {
    "id": "thpt-kim-dong",
    "name": "Trường THPT Kim Động",
    "authority": "Sở GD&ĐT Hưng Yên",
    "province": "Hưng Yên",
    "admin": {"full_name": "Vũ Văn Quản", "username": "quantri.kd"},
}


def _bearer(response: httpx.Response) -> dict[str, str]:
    return {"authorization": f"Bearer {response.json()['access_token']}"}


async def first_sign_in(client: httpx.AsyncClient, username: str, password: str) -> dict[str, str]:
    """A one-time password's first sign-in to the end: a new password, then TOTP set up."""
    first = await client.post("/auth/token", json={"username": username, "password": password})
    assert first.status_code == 200, first.text
    assert (first.json()["must_change_password"], first.json()["totp_setup_required"]) == (True, True)
    changed = await client.post(
        "/auth/password",
        headers=_bearer(first),
        json={"current_password": password, "new_password": "mat-khau-moi-2026"},
    )
    assert changed.status_code == 200, changed.text
    restricted = _bearer(changed)
    secret = (await client.post("/auth/totp/setup", headers=restricted)).json()["secret"]
    confirmed = await client.post(
        "/auth/totp/confirm", headers=restricted, json={"code": pyotp.TOTP(secret).now()}
    )
    assert confirmed.status_code == 200, confirmed.text
    return _bearer(confirmed)


async def province_admin(
    app: FastAPI, client: httpx.AsyncClient, capsys: pytest.CaptureFixture[str]
) -> dict[str, str]:
    """The province's first administrator, made the production way: the command line."""
    settings = app.state.runtime.settings
    assert isinstance(settings, IdentitySettings)
    argv = ["create-admin", "--username", "so.quantri", "--full-name", "Hoàng Văn Sở"]
    assert await asyncio.to_thread(province_command, argv, settings) == 0
    password = capsys.readouterr().out.split("one-time password ")[1].split()[0]
    return await first_sign_in(client, "so.quantri", password)


def test_province_roles_and_school_roles_never_mix() -> None:
    check_roles(PROVINCE_SCOPE, ["province_admin", "province_officer"])
    check_roles("thpt-kim-dong", ["system_admin", "office_admin"])
    for school_id, roles in (
        (PROVINCE_SCOPE, ["system_admin"]),
        (PROVINCE_SCOPE, ["province_admin", "principal"]),
        (PROVINCE_SCOPE, []),
        ("thpt-kim-dong", ["province_officer"]),
        ("thpt-kim-dong", ["office_admin", "province_admin"]),
    ):
        with pytest.raises(Problem) as refused:
            check_roles(school_id, roles)
        assert (refused.value.status, refused.value.field) == (422, "roles")


@pytest.mark.db
@pytest.mark.broker
async def test_the_command_line_refuses_a_bad_or_taken_username(
    app: FastAPI, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = app.state.runtime.settings
    bad = ["create-admin", "--username", "có dấu", "--full-name", "Hoàng Văn Sở"]
    assert await asyncio.to_thread(province_command, bad, settings) == 2
    taken = ["create-admin", "--username", "quantri", "--full-name", "Hoàng Văn Sở"]
    assert await asyncio.to_thread(province_command, taken, settings) == 1
    assert "username" in capsys.readouterr().err


@pytest.mark.db
@pytest.mark.broker
async def test_the_province_creates_a_school_and_its_first_administrator(
    app: FastAPI,
    client: httpx.AsyncClient,
    login: Login,
    outbox_events: Events,
    capsys: pytest.CaptureFixture[str],
) -> None:
    province = await province_admin(app, client, capsys)
    me = (await client.get("/me", headers=province)).json()
    assert (me["school_id"], me["roles"]) == (PROVINCE_SCOPE, ["province_admin"])

    created = await client.post("/schools", headers=province, json=NEW_SCHOOL)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["school"] == {k: NEW_SCHOOL[k] for k in ("id", "name", "authority", "province")}
    assert body["admin"]["username"] == "quantri.kd"
    facts = [e for e in await outbox_events("identity.school.changed", "thpt-kim-dong")]
    assert len(facts) == 1
    assert (facts[0]["name"], facts[0]["current_year"]) == ("Trường THPT Kim Động", None)

    # The new school's administrator: one-time password, then their own school only.
    school_admin = await first_sign_in(client, "quantri.kd", body["admin"]["password"])
    me = (await client.get("/me", headers=school_admin)).json()
    assert (me["school_id"], me["roles"]) == ("thpt-kim-dong", ["office_admin", "system_admin"])
    assert (await client.get("/school", headers=school_admin)).json()["name"] == "Trường THPT Kim Động"
    assert (await client.get("/school-years", headers=school_admin)).json() == []
    year = await client.post(
        "/school-years",
        headers=school_admin,
        json={
            "name": "2026-2027",
            "semester1_start": "2026-09-05",
            "semester1_end": "2027-01-16",
            "semester2_start": "2027-01-18",
            "semester2_end": "2027-05-31",
            "current": True,
        },
    )
    assert year.status_code == 201, year.text
    made = await client.post(
        "/classes", headers=school_admin, json={"name": "10A1", "grade_level": 10, "school_year": "2026-2027"}
    )
    assert made.status_code == 201, made.text

    # Refusals name the field; nothing is half-created.
    for change, status, field in (
        ({}, 409, "id"),
        ({"id": "thpt-van-lam"}, 409, "admin.username"),
        ({"id": "Thpt Van Lam"}, 422, "id"),
        ({"id": PROVINCE_SCOPE}, 422, "id"),
        ({"id": "thpt-van-lam", "name": ""}, 422, "name"),
        ({"id": "thpt-van-lam", "admin": {"full_name": "A", "username": "có dấu"}}, 422, "admin.username"),
    ):
        refused = await client.post("/schools", headers=province, json={**NEW_SCHOOL, **change})
        assert (refused.status_code, refused.json().get("field")) == (status, field), change

    schools = {s["id"]: s for s in (await client.get("/schools", headers=province)).json()}
    assert set(schools) == {"thpt-chuyen-thai-binh", "thpt-phu-cu", "thpt-kim-dong"}
    assert {k: schools["thpt-kim-dong"][k] for k in ("classes", "students", "staff")} == {
        "classes": 1,
        "students": 0,
        "staff": 1,
    }
    first = schools["thpt-chuyen-thai-binh"]
    assert (first["classes"], first["students"]) == (3, 30)
    assert first["staff"] >= 5

    # Only the province's administrator creates; the province's people list; schools do neither.
    for who in ("quantri", "hieutruong"):
        school_token = await login(who)
        assert (await client.get("/schools", headers=school_token)).status_code == 403
        again = {**NEW_SCHOOL, "id": "thpt-van-lam", "admin": {"full_name": "A", "username": "a.vl"}}
        assert (await client.post("/schools", headers=school_token, json=again)).status_code == 403
    assert (await client.get("/schools", headers=school_admin)).status_code == 403

    # Audited: in the new school's trail (by the province's administrator) and the province's.
    runtime: ServiceRuntime = app.state.runtime
    async with runtime.db.transaction() as session:
        rows = (
            await session.execute(
                select(AuditEntry.school_id, AuditEntry.action, AuditEntry.actor_name).where(
                    AuditEntry.action.in_(("school.created", "staff.created", "province_account.created"))
                )
            )
        ).all()
    assert ("thpt-kim-dong", "school.created", "Hoàng Văn Sở") in rows
    assert ("thpt-kim-dong", "staff.created", "Hoàng Văn Sở") in rows
    assert (PROVINCE_SCOPE, "school.created", "Hoàng Văn Sở") in rows
    assert any(r[:2] == (PROVINCE_SCOPE, "province_account.created") for r in rows)


@pytest.mark.db
@pytest.mark.broker
async def test_a_province_officer_lists_but_does_not_create(
    app: FastAPI, client: httpx.AsyncClient, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = app.state.runtime.settings
    argv = ["create-admin", "--officer", "--username", "so.chuyenvien", "--full-name", "Lê Thị Chuyên"]
    assert await asyncio.to_thread(province_command, argv, settings) == 0
    password = capsys.readouterr().out.split("one-time password ")[1].split()[0]
    first = await client.post("/auth/token", json={"username": "so.chuyenvien", "password": password})
    # An officer has no TOTP duty by default: only the password change.
    assert (first.json()["must_change_password"], first.json()["totp_setup_required"]) == (True, False)
    changed = await client.post(
        "/auth/password",
        headers=_bearer(first),
        json={"current_password": password, "new_password": "mat-khau-moi-2026"},
    )
    officer = _bearer(changed)
    listed = await client.get("/schools", headers=officer)
    assert listed.status_code == 200
    assert {s["id"] for s in listed.json()} == {"thpt-chuyen-thai-binh", "thpt-phu-cu"}
    assert (await client.post("/schools", headers=officer, json=NEW_SCHOOL)).status_code == 403
    # The province's people are nobody in a school: refused, or they find nothing.
    for path in ("/staff", "/departments", "/classes", "/audit", "/parents"):
        assert (await client.get(path, headers=officer)).status_code == 403, path
    assert (await client.get("/students", headers=officer)).json() == {"total": 0, "items": []}
    assert (await client.get("/school", headers=officer)).status_code == 404


@pytest.mark.db
@pytest.mark.broker
async def test_province_roles_are_refused_to_school_staff(client: httpx.AsyncClient, login: Login) -> None:
    admin = await login("quantri")
    new = {"username": "gv.moi", "full_name": "Đặng Văn Mới", "roles": ["subject_teacher", "province_admin"]}
    refused = await client.post("/staff", headers=admin, json=new)
    assert (refused.status_code, refused.json()["field"]) == (422, "roles")
    created = await client.post("/staff", headers=admin, json={**new, "roles": ["subject_teacher"]})
    assert created.status_code == 201
    changed = await client.patch(
        f"/staff/{created.json()['id']}", headers=admin, json={"roles": ["province_officer"]}
    )
    assert (changed.status_code, changed.json()["field"]) == (422, "roles")
    staff_csv = (
        "Tên đăng nhập;Họ và tên;Vai trò\ngv.so;Ai Đó;Quản trị Sở GD&ĐT\ngv.so2;Ai Khác;province_admin\n"
    )
    checked = (await client.post("/imports/staff", headers=admin, content=staff_csv.encode())).json()
    assert [(e["row"], e["field"]) for e in checked["errors"]] == [(2, "roles"), (3, "roles")]
