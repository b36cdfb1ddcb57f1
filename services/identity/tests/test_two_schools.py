"""Two schools in one identity (issue 14): nothing of one school reaches the other.

Both demo schools are seeded (school A: thpt-chuyen-thai-binh, school B: thpt-phu-cu) with the
province's `so.gddt`. For every endpoint that takes an object id, school B's people on school A's
object get the answer for an object that does not exist (404; 403 where the endpoint refuses the
role before it looks); every list of school B holds none of A's ids; the province's people are
nobody in a school; sign-ins are audited in the account's school."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from hbs_devtools.demo import (
    DEMO_PARENT,
    DEMO_PASSWORD,
    DEMO_PROVINCE,
    DEMO_SCHOOL,
    SECOND_SCHOOL,
    demo_person,
)
from hbs_identity.demo import DEMO_STUDENT_ID, demo_student_id
from hbs_identity.models import AuditEntry
from hbs_identity.transfer.service import COLUMNS
from hbs_identity.transfer.sheets import read_rows
from hbs_shared.service import ServiceRuntime

pytestmark = [pytest.mark.db, pytest.mark.broker]
Login = Callable[..., Awaitable[dict[str, str]]]

A, B = DEMO_SCHOOL.id, SECOND_SCHOOL.id


async def _json(client: httpx.AsyncClient, headers: dict[str, str], path: str, **params: Any) -> Any:
    response = await client.get(path, headers=headers, params=params)
    assert response.status_code == 200, (path, response.text)
    return response.json()


async def school_a_objects(client: httpx.AsyncClient, login: Login) -> dict[str, str]:
    """One object of each kind in school A, some made now (a change request, a factor reset, a
    registered outside system)."""
    admin = await login("quantri")
    classes = {c["name"]: c["id"] for c in await _json(client, admin, "/classes")}
    teacher = str(demo_person("gv.toan").user_id)
    change = await client.post(
        f"/students/{DEMO_STUDENT_ID}/change-requests",
        headers=await login("gv.van"),
        json={"changes": {"birthplace": "Hà Nội"}, "note": "Theo giấy khai sinh"},
    )
    assert change.status_code == 201, change.text
    reset = await client.post(
        f"/accounts/{teacher}/factor-resets",
        headers=admin,
        json={"factor": "password", "reason": "Quên mật khẩu"},
    )
    assert reset.status_code == 201, reset.text
    registered = await client.post(
        "/oauth/clients", headers=admin, json={"name": "Trường Đại học Thái Bình", "scopes": ["verify"]}
    )
    assert registered.status_code == 201, registered.text
    return {
        "student": str(DEMO_STUDENT_ID),
        "staff": teacher,
        "class": classes["10A1"],
        "year": (await _json(client, admin, "/school-years"))[0]["id"],
        "department": (await _json(client, admin, "/departments"))[0]["id"],
        "assignment": (await _json(client, admin, "/assignments"))[0]["id"],
        "parent": str(DEMO_PARENT.user_id),
        "change_request": change.json()["id"],
        "factor_reset": reset.json()["id"],
        "client": registered.json()["id"],
    }


def requests_on(a: dict[str, str], b_class: str, b_student: str) -> list[tuple[str, str, str, Any]]:
    """(who of school B, method, path, body) for every endpoint taking an id, on school A's objects."""
    s, t, c, y, d = a["student"], a["staff"], a["class"], a["year"], a["department"]
    enrol = {"class_id": b_class, "enrolled_on": "2026-10-01"}
    change = {"changes": {"birthplace": "X"}, "note": "Thử xem"}
    child = {"student_id": b_student, "relationship": "father"}
    return [
        ("quantri.pc", "GET", f"/students/{s}", None),
        ("quantri.pc", "PATCH", f"/students/{s}", {"reason": "Sửa thử", "birthplace": "Hải Dương"}),
        ("quantri.pc", "DELETE", f"/students/{s}", None),
        ("quantri.pc", "GET", f"/students/{s}/versions", None),
        ("quantri.pc", "GET", f"/students/{s}/enrolments", None),
        ("quantri.pc", "POST", f"/students/{s}/enrolments", enrol),
        ("quantri.pc", "POST", f"/students/{s}/leave", {"left_on": "2026-10-01", "reason": "other"}),
        ("quantri.pc", "GET", f"/students/{s}/parents", None),
        ("gv.van.pc", "POST", f"/students/{s}/change-requests", change),
        ("quantri.pc", "GET", f"/staff/{t}", None),
        ("quantri.pc", "PATCH", f"/staff/{t}", {"full_name": "Tên Khác"}),
        ("quantri.pc", "PATCH", f"/staff/{t}", {"roles": ["principal"]}),
        ("quantri.pc", "GET", f"/accounts/{t}", None),
        ("quantri.pc", "POST", f"/accounts/{t}/disable", {"reason": "Thử khoá"}),
        ("quantri.pc", "POST", f"/accounts/{t}/enable", None),
        ("quantri.pc", "POST", f"/accounts/{t}/password", None),
        ("quantri.pc", "POST", f"/accounts/{t}/totp/reset", None),
        ("quantri.pc", "POST", f"/accounts/{t}/sign-in-slip", None),
        ("quantri.pc", "POST", f"/accounts/{t}/factor-resets", {"factor": "totp", "reason": "Mất máy"}),
        ("quantri.pc", "GET", f"/authz/scope?user_id={t}", None),
        ("quantri.pc", "GET", f"/classes/{c}", None),
        ("quantri.pc", "PATCH", f"/classes/{c}", {"name": "10A9"}),
        ("quantri.pc", "DELETE", f"/classes/{c}", None),
        ("quantri.pc", "GET", f"/classes/{c}/students", None),
        ("quantri.pc", "POST", f"/classes/{c}/sign-in-slips", None),
        ("quantri.pc", "PATCH", f"/school-years/{y}", {"semester2_end": "2027-05-30"}),
        ("quantri.pc", "DELETE", f"/school-years/{y}", None),
        ("quantri.pc", "POST", f"/school-years/{y}/current", None),
        ("quantri.pc", "PATCH", f"/departments/{d}", {"name": "Tổ Khác"}),
        ("quantri.pc", "DELETE", f"/departments/{d}", None),
        ("quantri.pc", "DELETE", f"/assignments/{a['assignment']}", None),
        ("quantri.pc", "GET", f"/parents/{a['parent']}", None),
        ("quantri.pc", "PATCH", f"/parents/{a['parent']}", {"full_name": "Tên Khác"}),
        ("quantri.pc", "POST", f"/parents/{a['parent']}/children", child),
        ("quantri.pc", "DELETE", f"/parents/{a['parent']}/children/{s}", None),
        ("quantri.pc", "POST", f"/change-requests/{a['change_request']}/apply", None),
        ("quantri.pc", "POST", f"/change-requests/{a['change_request']}/reject", {"reason": "Không đúng"}),
        ("hieutruong.pc", "POST", f"/factor-resets/{a['factor_reset']}/approve", None),
        ("hieutruong.pc", "POST", f"/factor-resets/{a['factor_reset']}/reject", {"reason": "Không đúng"}),
        ("quantri.pc", "POST", f"/me/security-notices/{a['factor_reset']}/ack", None),
        ("quantri.pc", "POST", f"/oauth/clients/{a['client']}/revoke", None),
    ]  # fmt: skip


async def test_school_b_finds_nothing_of_school_a(client: httpx.AsyncClient, login: Login) -> None:
    a = await school_a_objects(client, login)
    b_admin = await login("quantri.pc")
    b_class = next(c["id"] for c in await _json(client, b_admin, "/classes") if c["name"] == "10A1")
    b_student = str(demo_student_id(SECOND_SCHOOL, "10A1", 1))
    tokens = {who: await login(who) for who in ("quantri.pc", "hieutruong.pc", "gv.van.pc")}
    answers = {}
    for who, method, path, body in requests_on(a, b_class, b_student):
        response = await client.request(method, path, headers=tokens[who], json=body)
        answers[(who, method, path, str(body))] = response.status_code
    assert len(answers) == 41
    assert {k: v for k, v in answers.items() if v != 404} == {}, "every one is a 404"

    # Asking identity's authorisation about A's student is "no such object", as for a random id.
    for object_id in (a["student"], str(uuid.uuid4())):
        decided = await client.post(
            "/authz/check", headers=b_admin, json={"action": "student.read", "object_id": object_id}
        )
        assert (decided.json()["allowed"], decided.json()["reason"]) == (False, "no such object")
    # A's teacher or class in a body is unknown to B, as a random id is.
    for teacher, klass in ((a["staff"], b_class), (str(demo_person("gv.toan").user_id), a["class"])):
        assigned = await client.post(
            "/assignments",
            headers=b_admin,
            json={
                "kind": "subject_teacher",
                "teacher_id": teacher,
                "class_id": klass,
                "subject_code": "VAT_LI",
            },
        )
        assert assigned.status_code == 422
    # School A's objects are untouched.
    a_admin = await login("quantri")
    student = await _json(client, a_admin, f"/students/{a['student']}")
    assert (student["version"], student["birthplace"]) == (1, student["birthplace"])
    assert (await _json(client, a_admin, f"/classes/{a['class']}"))["name"] == "10A1"
    assert (await _json(client, a_admin, f"/accounts/{a['staff']}"))["disabled"] is False
    assert [r["state"] for r in await _json(client, a_admin, "/change-requests")] == ["pending"]
    assert len(await _json(client, a_admin, "/oauth/clients")) == 1


async def test_school_b_lists_none_of_school_a(client: httpx.AsyncClient, login: Login) -> None:
    a = await school_a_objects(client, login)
    a_admin = await login("quantri")
    a_ids = set(a.values())
    a_ids |= {s["id"] for s in (await _json(client, a_admin, "/students", limit=500))["items"]}
    a_ids |= {s["id"] for s in await _json(client, a_admin, "/staff")}
    a_ids |= {p["id"] for p in await _json(client, a_admin, "/parents", limit=500)}
    a_ids |= {c["id"] for c in await _json(client, a_admin, "/classes")}
    a_ids |= {x["id"] for x in await _json(client, a_admin, "/assignments", include_ended=True)}
    a_national_ids = {
        s["national_id"] for s in (await _json(client, a_admin, "/students", limit=500))["items"]
    }
    assert len(a_ids) > 70

    for who in ("quantri.pc", "hieutruong.pc", "gv.van.pc", "gv.toan.pc"):
        b = await login(who)
        seen: set[str] = set()
        for path, params in (
            ("/students", {"limit": 500}),
            ("/students", {"class_id": a["class"]}),
            ("/staff", {}),
            ("/classes", {}),
            ("/school-years", {}),
            ("/departments", {}),
            ("/assignments", {"include_ended": True}),
            ("/assignments", {"class_id": a["class"]}),
            ("/assignments", {"teacher_id": a["staff"]}),
            ("/parents", {"limit": 500}),
            ("/change-requests", {"state": "all"}),
            ("/factor-resets", {"state": "pending"}),
            ("/oauth/clients", {}),
            ("/audit", {"limit": 1000}),
        ):
            response = await client.get(path, headers=b, params=params)
            if response.status_code == 403:
                continue  # this person may not list it at all
            assert response.status_code == 200, (who, path, response.text)
            seen |= _ids(response.json())
        searched = await client.post("/students/search", headers=b, json={"q": "nguyen", "limit": 500})
        seen |= _ids(searched.json())
        assert seen, who
        assert not seen & a_ids, (who, seen & a_ids)
        assert not seen & a_national_ids, who
        assert not _ids(await _json(client, b, "/authz/scope")) & a_ids, who

    # The office's exports hold only its own school's rows.
    b_admin = await login("quantri.pc")
    for kind in ("students", "parents", "staff", "assignments"):
        exported = await client.get(f"/exports/{kind}", headers=b_admin)
        assert exported.status_code == 200, kind
        rows = read_rows(exported.content, COLUMNS[kind])
        assert rows, kind
        values = {str(v) for row in rows for v in row.values.values()}
        assert not values & a_national_ids, kind
        assert "gv.toan" not in values, kind
        assert "quantri" not in values, kind


def _ids(body: Any) -> set[str]:
    """Every id-like value anywhere in an answer."""
    found: set[str] = set()
    if isinstance(body, dict):
        for key, value in body.items():
            if isinstance(value, str) and (key == "id" or key.endswith("_id")):
                found.add(value)
            found |= _ids(value)
    elif isinstance(body, list):
        for item in body:
            found |= _ids(item)
    return found


async def test_the_province_is_nobody_in_a_school(client: httpx.AsyncClient, login: Login) -> None:
    a = await school_a_objects(client, login)
    province = await login(DEMO_PROVINCE.username)
    b_student = str(demo_student_id(SECOND_SCHOOL, "10A1", 1))
    refused = {}
    for _, method, path, body in requests_on(a, a["class"], b_student):
        response = await client.request(method, path, headers=province, json=body)
        refused[(method, path)] = response.status_code
    assert set(refused.values()) <= {403, 404}, refused
    for path in (
        "/staff",
        "/classes",
        "/departments",
        "/assignments",
        "/parents",
        "/audit",
        "/oauth/clients",
    ):
        assert (await client.get(path, headers=province)).status_code == 403, path
    for path in ("/students", "/school-years", "/change-requests", "/factor-resets"):
        response = await client.get(path, headers=province)
        assert response.status_code in {200, 403}, path
        if response.status_code == 200:
            assert not _ids(response.json()), path
    assert (await client.get("/school", headers=province)).status_code == 404
    assert (await client.put("/school", headers=province, json={"name": "Sở"})).status_code == 403
    schools = await client.get("/schools", headers=province)
    assert schools.status_code == 200
    assert {s["id"] for s in schools.json()} == {A, B}
    for who in ("quantri", "quantri.pc", "hieutruong.pc", "gv.toan"):
        assert (await client.get("/schools", headers=await login(who))).status_code == 403, who


async def test_sign_ins_are_audited_in_the_account_school(
    app: FastAPI, client: httpx.AsyncClient, login: Login
) -> None:
    signed = await client.post("/auth/token", json={"username": "quantri.pc", "password": DEMO_PASSWORD})
    assert signed.status_code == 200
    wrong = await client.post("/auth/token", json={"username": "gv.toan.pc", "password": "sai-mat-khau"})
    assert wrong.status_code == 401
    nobody = await client.post("/auth/token", json={"username": "khong.co.ai", "password": "sai-mat-khau"})
    assert nobody.status_code == 401
    refreshed = await client.post("/auth/refresh", json={"refresh_token": signed.json()["refresh_token"]})
    assert refreshed.status_code == 200
    out = await client.post("/auth/logout", json={"refresh_token": refreshed.json()["refresh_token"]})
    assert out.status_code == 204

    runtime: ServiceRuntime = app.state.runtime
    async with runtime.db.transaction() as session:
        rows = (
            await session.execute(
                select(AuditEntry.school_id, AuditEntry.action, AuditEntry.object_id).where(
                    AuditEntry.action.in_(
                        ("sign_in.succeeded", "sign_in.failed", "refresh.rotated", "sign_out")
                    )
                )
            )
        ).all()
    b_admin = str(SECOND_SCHOOL.person("quantri").user_id)
    b_teacher = str(SECOND_SCHOOL.person("gv.toan").user_id)
    assert (B, "sign_in.succeeded", b_admin) in rows
    assert (B, "sign_in.failed", b_teacher) in rows
    assert (A, "sign_in.failed", "khong.co.ai") in rows or any(
        r[:2] == (A, "sign_in.failed") and r[2] is None for r in rows
    )
    assert (B, "refresh.rotated", b_admin) in rows
    assert (B, "sign_out", b_admin) in rows
    assert not [r for r in rows if r[0] == A and r[2] in {b_admin, b_teacher}]

    # Each school's office reads its own sign-ins only.
    b_trail = await _json(client, await login("quantri.pc"), "/audit", action="sign_in.succeeded")
    a_trail = await _json(client, await login("quantri"), "/audit", action="sign_in.succeeded")
    assert b_admin in {e["object_id"] for e in b_trail}
    assert b_admin not in {e["object_id"] for e in a_trail}
    assert str(demo_person("quantri").user_id) not in {e["object_id"] for e in b_trail}
