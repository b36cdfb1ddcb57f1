"""Renaming and deleting the school's structure and students entered by mistake: each refused
with a 409 naming what still refers to it, each audited and published through the outbox."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from hbs_identity.models import AuditEntry
from hbs_shared.service import ServiceRuntime

pytestmark = [pytest.mark.db, pytest.mark.broker]
Login = Callable[..., Awaitable[dict[str, str]]]
Events = Callable[[str], Awaitable[list[dict[str, Any]]]]
YEAR = "2026-2027"
STUDENT: dict[str, Any] = {
    "national_id": "0349999101",
    "full_name": "Vũ Nhập Nhầm",
    "date_of_birth": "2011-05-01",
    "birthplace": "Thái Bình",
    "gender": "male",
}


async def _class_id(client: httpx.AsyncClient, headers: dict[str, str], name: str) -> str:
    classes = (await client.get("/classes", headers=headers)).json()
    return str(next(c["id"] for c in classes if c["name"] == name))


async def _audited(app: FastAPI, action: str) -> list[AuditEntry]:
    runtime: ServiceRuntime = app.state.runtime
    async with runtime.db.transaction() as session:
        rows = await session.execute(select(AuditEntry).where(AuditEntry.action == action))
        return list(rows.scalars())


async def test_a_class_is_renamed_and_grades_is_told(
    app: FastAPI, client: httpx.AsyncClient, login: Login, outbox_events: Events
) -> None:
    admin = await login("quantri")
    ten_a1 = await _class_id(client, admin, "10A1")
    renamed = await client.patch(f"/classes/{ten_a1}", headers=admin, json={"name": "10A01"})
    assert renamed.status_code == 200, renamed.text
    assert (renamed.json()["name"], renamed.json()["students"]) == ("10A01", 10)
    assert "10A01" in {c["name"] for c in (await client.get("/classes", headers=admin)).json()}
    [event] = await outbox_events("identity.class.renamed")
    assert event == {
        "class_id": ten_a1,
        "school_id": event["school_id"],
        "school_year": YEAR,
        "old_name": "10A1",
        "new_name": "10A01",
    }
    [audit] = await _audited(app, "class.renamed")
    assert (audit.object_id, audit.detail["old_name"], audit.detail["name"]) == (ten_a1, "10A1", "10A01")

    for body, status, field in (
        ({"name": "10A2"}, 409, "name"),  # another class's name this year
        ({"name": "11A1"}, 422, "name"),  # a grade-10 class named as grade 11
        ({"name": ""}, 422, "name"),
        ({"name": "10A3", "grade_level": 11}, 422, "grade_level"),
    ):
        refused = await client.patch(f"/classes/{ten_a1}", headers=admin, json=body)
        assert (refused.status_code, refused.json()["field"]) == (status, field), body
    teacher = await login("gv.toan")
    assert (
        await client.patch(f"/classes/{ten_a1}", headers=teacher, json={"name": "10X"})
    ).status_code == 403
    missing = "00000000-0000-0000-0000-000000000009"
    assert (await client.patch(f"/classes/{missing}", headers=admin, json={"name": "10X"})).status_code == 404
    assert len(await outbox_events("identity.class.renamed")) == 1


async def test_a_class_is_deleted_only_when_nothing_refers_to_it(
    client: httpx.AsyncClient, login: Login, outbox_events: Events
) -> None:
    admin = await login("quantri")
    in_use = await client.delete(f"/classes/{await _class_id(client, admin, '10A2')}", headers=admin)
    assert in_use.status_code == 409
    assert in_use.headers["content-type"].startswith("application/problem+json")
    assert in_use.json()["title"] == "Không xoá được lớp: vẫn còn dữ liệu tham chiếu"
    assert "ghi danh học sinh" in in_use.json()["detail"]
    assert in_use.json()["referenced_by"]["enrolments"] == 10

    made = await client.post(
        "/classes", headers=admin, json={"name": "10A9", "grade_level": 10, "school_year": YEAR}
    )
    class_id = made.json()["id"]
    assigned = await client.post(
        "/assignments",
        headers=admin,
        json={
            "teacher_id": await _staff_id(client, admin, "gv.van"),
            "class_id": class_id,
            "kind": "homeroom_teacher",
        },
    )
    assert assigned.status_code == 201, assigned.text
    refused = await client.delete(f"/classes/{class_id}", headers=admin)
    assert (refused.status_code, refused.json()["referenced_by"]) == (409, {"assignments": 1})

    empty = (
        await client.post(
            "/classes", headers=admin, json={"name": "10A8", "grade_level": 10, "school_year": YEAR}
        )
    ).json()
    teacher = await login("gv.toan")
    assert (await client.delete(f"/classes/{empty['id']}", headers=teacher)).status_code == 403
    assert (await client.delete(f"/classes/{empty['id']}", headers=admin)).status_code == 204
    assert (await client.get(f"/classes/{empty['id']}", headers=admin)).status_code == 404
    assert (await client.delete(f"/classes/{empty['id']}", headers=admin)).status_code == 404
    [event] = await outbox_events("identity.class.deleted")
    assert (event["class_id"], event["name"], event["school_year"]) == (empty["id"], "10A8", YEAR)


async def _staff_id(client: httpx.AsyncClient, headers: dict[str, str], username: str) -> str:
    staff = (await client.get("/staff", headers=headers)).json()
    return str(next(s["id"] for s in staff if s["username"] == username))


async def test_a_school_year_changes_its_dates_and_its_label_only_while_it_has_no_class(
    client: httpx.AsyncClient, login: Login, outbox_events: Events
) -> None:
    admin = await login("quantri")
    year = {
        "name": "2027-2028",
        "semester1_start": "2027-09-05",
        "semester1_end": "2028-01-15",
        "semester2_start": "2028-01-17",
        "semester2_end": "2028-05-31",
    }
    created = (await client.post("/school-years", headers=admin, json=year)).json()
    year_id = created["id"]

    moved = await client.patch(
        f"/school-years/{year_id}", headers=admin, json={"semester2_end": "2028-05-25"}
    )
    assert (moved.status_code, moved.json()["semester2_end"]) == (200, "2028-05-25")
    disordered = await client.patch(
        f"/school-years/{year_id}", headers=admin, json={"semester1_end": "2028-02-01"}
    )
    assert disordered.status_code == 422
    assert "in order" in disordered.json()["detail"]
    relabelled = await client.patch(
        f"/school-years/{year_id}",
        headers=admin,
        json={
            "name": "2028-2029",
            "semester1_start": "2028-09-05",
            "semester1_end": "2029-01-15",
            "semester2_start": "2029-01-17",
            "semester2_end": "2029-05-31",
        },
    )
    assert (relabelled.status_code, relabelled.json()["name"]) == (200, "2028-2029")
    clash = await client.patch(
        f"/school-years/{year_id}",
        headers=admin,
        json={
            "name": "2026-2027",
            "semester1_start": "2026-09-05",
            "semester1_end": "2027-01-15",
            "semester2_start": "2027-01-17",
            "semester2_end": "2027-05-31",
        },
    )
    assert (clash.status_code, clash.json()["field"]) == (409, "name")
    changes = await outbox_events("identity.school_year.changed")
    assert [(e["old_name"], e["name"]) for e in changes] == [
        ("2027-2028", "2027-2028"),
        ("2027-2028", "2028-2029"),
    ]

    made = await client.post(
        "/classes", headers=admin, json={"name": "10A1", "grade_level": 10, "school_year": "2028-2029"}
    )
    assert made.status_code == 201
    fixed = await client.patch(
        f"/school-years/{year_id}",
        headers=admin,
        json={
            "name": "2029-2030",
            "semester1_start": "2029-09-05",
            "semester1_end": "2030-01-15",
            "semester2_start": "2030-01-17",
            "semester2_end": "2030-05-31",
        },
    )
    assert (fixed.status_code, fixed.json()["field"]) == (409, "name")
    assert "1 lớp" in fixed.json()["detail"]
    in_use = await client.delete(f"/school-years/{year_id}", headers=admin)
    assert (in_use.status_code, in_use.json()["referenced_by"]) == (409, {"classes": 1})
    assert (await client.delete(f"/classes/{made.json()['id']}", headers=admin)).status_code == 204
    assert (await client.delete(f"/school-years/{year_id}", headers=admin)).status_code == 204
    [deleted] = await outbox_events("identity.school_year.deleted")
    assert (deleted["school_year_id"], deleted["name"]) == (year_id, "2028-2029")

    current = next(y for y in (await client.get("/school-years", headers=admin)).json() if y["current"])
    assert (await client.delete(f"/school-years/{current['id']}", headers=admin)).status_code == 409


async def test_a_department_is_renamed_and_deleted_only_when_empty(
    client: httpx.AsyncClient, login: Login, outbox_events: Events
) -> None:
    admin = await login("quantri")
    department = (await client.post("/departments", headers=admin, json={"name": "Tổ Ngoại ngữ 2"})).json()
    other = (await client.post("/departments", headers=admin, json={"name": "Tổ Nghệ thuật mới"})).json()
    renamed = await client.patch(
        f"/departments/{department['id']}", headers=admin, json={"name": "Tổ Tiếng Pháp"}
    )
    assert (renamed.status_code, renamed.json()["name"]) == (200, "Tổ Tiếng Pháp")
    clash = await client.patch(
        f"/departments/{department['id']}", headers=admin, json={"name": "Tổ Nghệ thuật mới"}
    )
    assert (clash.status_code, clash.json()["field"]) == (409, "name")
    [event] = await outbox_events("identity.department.renamed")
    assert (event["old_name"], event["new_name"]) == ("Tổ Ngoại ngữ 2", "Tổ Tiếng Pháp")

    staff = await client.post(
        "/staff",
        headers=admin,
        json={
            "username": "gv.phap",
            "full_name": "Lê Thị Pháp",
            "roles": ["subject_teacher"],
            "department_id": department["id"],
        },
    )
    assert staff.status_code == 201
    in_use = await client.delete(f"/departments/{department['id']}", headers=admin)
    assert (in_use.status_code, in_use.json()["referenced_by"]) == (409, {"staff": 1})
    assert "1 cán bộ" in in_use.json()["detail"]
    assert (await client.delete(f"/departments/{other['id']}", headers=admin)).status_code == 204
    [deleted] = await outbox_events("identity.department.deleted")
    assert (deleted["department_id"], deleted["name"]) == (other["id"], "Tổ Nghệ thuật mới")


async def test_only_a_student_entered_by_mistake_is_deleted(
    app: FastAPI, client: httpx.AsyncClient, login: Login, outbox_events: Events
) -> None:
    admin = await login("quantri")
    ten_a1 = await _class_id(client, admin, "10A1")
    ten_a2 = await _class_id(client, admin, "10A2")
    mistake = (
        await client.post(
            "/students", headers=admin, json={**STUDENT, "class_id": ten_a1, "enrolled_on": "2026-09-05"}
        )
    ).json()
    teacher = await login("gv.toan")
    assert (await client.delete(f"/students/{mistake['id']}", headers=teacher)).status_code == 403
    assert (await client.delete(f"/students/{mistake['id']}", headers=admin)).status_code == 204
    assert (await client.get(f"/students/{mistake['id']}", headers=admin)).status_code == 404
    assert (await client.delete(f"/students/{mistake['id']}", headers=admin)).status_code == 404
    [event] = await outbox_events("identity.student.deleted")
    assert event == {"student_id": mistake["id"], "class_id": ten_a1, "school_year": YEAR}
    [audit] = await _audited(app, "student.deleted")
    assert audit.object_id == mistake["id"]
    # The same mã định danh can be entered again, correctly this time.
    again = await client.post(
        "/students", headers=admin, json={**STUDENT, "class_id": ten_a1, "enrolled_on": "2026-09-05"}
    )
    assert again.status_code == 201

    moved = await client.post(
        f"/students/{again.json()['id']}/enrolments",
        headers=admin,
        json={"class_id": ten_a2, "enrolled_on": "2026-10-01"},
    )
    assert moved.status_code == 201
    history = await client.delete(f"/students/{again.json()['id']}", headers=admin)
    assert (history.status_code, history.json()["field"]) == (409, "id")
    assert "leave" in history.json()["detail"]

    with_parent = (
        await client.post("/students", headers=admin, json={**STUDENT, "national_id": "0349999102"})
    ).json()
    parent = await client.post(
        "/parents",
        headers=admin,
        json={
            "full_name": "Vũ Văn Cha",
            "phone": "0944444444",
            "children": [{"student_id": with_parent["id"], "relationship": "father"}],
        },
    )
    assert parent.status_code == 201
    linked = await client.delete(f"/students/{with_parent['id']}", headers=admin)
    assert (linked.status_code, linked.json()["referenced_by"]) == (409, {"parents": 1})
    assert len(await outbox_events("identity.student.deleted")) == 1
