"""People and structure through HTTP: validation naming the field, NFC and search, versioned
personal data, enrolment history, assignments, and the events each writes to the outbox."""

from __future__ import annotations

import unicodedata
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from hbs_identity.text import ETHNIC_GROUPS, ethnic_group, search_key

pytestmark = [pytest.mark.db, pytest.mark.broker]
Login = Callable[..., Awaitable[dict[str, str]]]
Events = Callable[..., Awaitable[list[dict[str, Any]]]]

STUDENT: dict[str, Any] = {
    "national_id": "0349999001",
    "full_name": "Nguyễn Văn An",
    "date_of_birth": "2011-03-14",
    "birthplace": "Thái Bình",
    "gender": "male",
    "ethnicity": "Kinh",
    "address": "Số 5 đường Lê Lợi, TP. Thái Bình",
    "father_name": "Nguyễn Văn Bình",
}


def test_the_official_list_has_54_groups_and_accepts_common_spellings() -> None:
    assert len(set(ETHNIC_GROUPS)) == 54
    assert ethnic_group("khmer") == "Khơ-me"
    assert ethnic_group("Mông") == "Hmông"
    assert ethnic_group("01") == "Kinh"
    assert ethnic_group("tay") == "Tày"
    assert ethnic_group("Klingon") is None
    assert search_key("  Đặng   Thị  Ánh ") == "dang thi anh"


async def _class_id(client: httpx.AsyncClient, headers: dict[str, str], name: str) -> str:
    classes = (await client.get("/classes", headers=headers)).json()
    return next(c["id"] for c in classes if c["name"] == name)


async def test_structure_is_validated_naming_the_field(client: httpx.AsyncClient, login: Login) -> None:
    admin = await login("quantri")
    years = (await client.get("/school-years", headers=admin)).json()
    assert [(y["name"], y["current"]) for y in years] == [("2026-2027", True)]

    bad_year = await client.post(
        "/school-years",
        headers=admin,
        json={
            "name": "2027-2029",
            "semester1_start": "2027-09-05",
            "semester1_end": "2028-01-15",
            "semester2_start": "2028-01-17",
            "semester2_end": "2028-05-31",
        },
    )
    assert bad_year.status_code == 422
    assert "consecutive" in bad_year.json()["detail"]

    wrong_grade = await client.post(
        "/classes", headers=admin, json={"name": "10B", "grade_level": 11, "school_year": "2026-2027"}
    )
    assert wrong_grade.status_code == 422
    assert "grade_level" in wrong_grade.json()["detail"]
    unknown_year = await client.post(
        "/classes", headers=admin, json={"name": "10B", "grade_level": 10, "school_year": "2030-2031"}
    )
    assert (unknown_year.status_code, unknown_year.json()["field"]) == (422, "school_year")
    twice = await client.post(
        "/classes", headers=admin, json={"name": "10A1", "grade_level": 10, "school_year": "2026-2027"}
    )
    assert (twice.status_code, twice.json()["field"]) == (409, "name")

    classes = (await client.get("/classes", headers=admin)).json()
    assert {c["name"] for c in classes} == {"10A1", "10A2", "11 Toán chuyên"}
    ten_a1 = next(c for c in classes if c["name"] == "10A1")
    assert ten_a1["homeroom_teacher_name"] == "Phạm Quốc Dũng"
    assert ten_a1["students"] == 10


async def test_student_validation_names_each_field(client: httpx.AsyncClient, login: Login) -> None:
    admin = await login("quantri")
    cases = [
        ({"national_id": "12ab"}, 422, "national_id"),
        ({"national_id": "0341008001"}, 409, "national_id"),  # a demo student's
        ({"ethnicity": "Klingon"}, 422, "ethnicity"),
        ({"date_of_birth": "2011-02-30"}, 422, "date_of_birth"),
        ({"date_of_birth": "2035-01-01"}, 422, "date_of_birth"),
        ({"gender": "x"}, 422, "gender"),
        ({"citizen_id": "123"}, 422, "citizen_id"),
        ({"class_id": "00000000-0000-0000-0000-000000000001"}, 422, "class_id"),
    ]
    for change, status, field in cases:
        response = await client.post("/students", headers=admin, json={**STUDENT, **change})
        assert (response.status_code, response.json().get("field")) == (status, field), change
        assert response.headers["content-type"] == "application/problem+json"


async def test_names_are_stored_nfc_and_found_without_diacritics(
    client: httpx.AsyncClient, login: Login, outbox_events: Events
) -> None:
    admin = await login("quantri")
    class_id = await _class_id(client, admin, "10A2")
    decomposed = unicodedata.normalize("NFD", "  Nguyễn   Văn An ")
    created = await client.post(
        "/students",
        headers=admin,
        json={**STUDENT, "full_name": decomposed, "ethnicity": "khmer", "class_id": class_id},
    )
    assert created.status_code == 201, created.text
    student = created.json()
    assert student["full_name"] == "Nguyễn Văn An"
    assert unicodedata.is_normalized("NFC", student["full_name"])
    assert student["ethnicity"] == "Khơ-me"
    assert student["current_class_name"] == "10A2"

    for query in ("nguyen van an", "NGUYỄN VĂN AN", "van an", "0349999001"):
        found = (await client.post("/students/search", headers=admin, json={"q": query})).json()
        assert student["id"] in [s["id"] for s in found["items"]], query

    enrolled = [
        e for e in await outbox_events("identity.student.enrolled") if e["student_id"] == student["id"]
    ]
    assert len(enrolled) == 1
    assert enrolled[0]["class_name"] == "10A2"
    assert enrolled[0]["school_year"] == "2026-2027"
    assert enrolled[0]["previous_class_id"] is None


async def test_personal_data_changes_are_versioned_with_who_when_why(
    client: httpx.AsyncClient, login: Login, outbox_events: Events
) -> None:
    admin = await login("quantri")
    student = (await client.post("/students", headers=admin, json=STUDENT)).json()

    no_reason = await client.patch(f"/students/{student['id']}", headers=admin, json={"birthplace": "Hà Nội"})
    assert (no_reason.status_code, no_reason.json()["field"]) == (422, "reason")

    changed = await client.patch(
        f"/students/{student['id']}",
        headers=admin,
        json={"birthplace": "Hà Nội", "reason": "Sai nơi sinh so với giấy khai sinh", "expected_version": 1},
    )
    assert changed.status_code == 200
    assert (changed.json()["birthplace"], changed.json()["version"]) == ("Hà Nội", 2)

    stale = await client.patch(
        f"/students/{student['id']}",
        headers=admin,
        json={"birthplace": "Hải Phòng", "reason": "thử lại", "expected_version": 1},
    )
    assert (stale.status_code, stale.json()["field"]) == (409, "expected_version")

    versions = (await client.get(f"/students/{student['id']}/versions", headers=admin)).json()
    assert [v["version"] for v in versions] == [1, 2]
    assert versions[0]["data"]["birthplace"] == "Thái Bình"
    assert versions[1]["changed_fields"] == ["birthplace"]
    assert versions[1]["changed_by_name"] == "Đỗ Thị Ngọc Ánh"
    assert versions[1]["reason"] == "Sai nơi sinh so với giấy khai sinh"

    updated = [e for e in await outbox_events("identity.student.updated") if e["student_id"] == student["id"]]
    assert [(e["changed_fields"], e["personal_data_version"]) for e in updated] == [(["birthplace"], 2)]


async def test_moving_and_leaving_keep_the_history(
    client: httpx.AsyncClient, login: Login, outbox_events: Events
) -> None:
    admin = await login("quantri")
    ten_a1 = await _class_id(client, admin, "10A1")
    ten_a2 = await _class_id(client, admin, "10A2")
    student = (
        await client.post(
            "/students", headers=admin, json={**STUDENT, "class_id": ten_a1, "enrolled_on": "2026-09-05"}
        )
    ).json()
    sid = student["id"]

    same = await client.post(
        f"/students/{sid}/enrolments", headers=admin, json={"class_id": ten_a1, "enrolled_on": "2026-10-01"}
    )
    assert (same.status_code, same.json()["field"]) == (409, "class_id")
    outside = await client.post(
        f"/students/{sid}/enrolments", headers=admin, json={"class_id": ten_a2, "enrolled_on": "2028-10-01"}
    )
    assert (outside.status_code, outside.json()["field"]) == (422, "enrolled_on")
    moved = await client.post(
        f"/students/{sid}/enrolments", headers=admin, json={"class_id": ten_a2, "enrolled_on": "2026-11-02"}
    )
    assert moved.status_code == 201
    assert moved.json()["current_class_name"] == "10A2"

    left = await client.post(
        f"/students/{sid}/leave", headers=admin, json={"left_on": "2027-02-01", "reason": "transferred"}
    )
    assert left.status_code == 200
    assert left.json()["current_class_name"] is None
    again = await client.post(
        f"/students/{sid}/leave", headers=admin, json={"left_on": "2027-02-02", "reason": "other"}
    )
    assert again.status_code == 409

    history = (await client.get(f"/students/{sid}/enrolments", headers=admin)).json()
    assert [(h["class_name"], h["left_on"], h["leave_reason"]) for h in history] == [
        ("10A1", "2026-11-02", "moved"),
        ("10A2", "2027-02-01", "transferred"),
    ]
    enrolled = [e for e in await outbox_events("identity.student.enrolled") if e["student_id"] == sid]
    assert [(e["class_name"], e["previous_class_id"]) for e in enrolled] == [("10A1", None), ("10A2", ten_a1)]
    left_events = [e for e in await outbox_events("identity.student.left") if e["student_id"] == sid]
    assert [(e["class_id"], e["reason"], e["left_on"]) for e in left_events] == [
        (ten_a2, "transferred", "2027-02-01")
    ]


async def test_assignments_one_homeroom_teacher_and_known_subjects(
    client: httpx.AsyncClient, login: Login, outbox_events: Events
) -> None:
    admin = await login("quantri")
    ten_a2 = await _class_id(client, admin, "10A2")
    teacher = await client.post(
        "/staff",
        headers=admin,
        json={"username": "gv.ly", "full_name": "Vũ Đức Thắng", "roles": ["subject_teacher"]},
    )
    assert teacher.status_code == 201
    tid = teacher.json()["id"]
    duplicate = await client.post(
        "/staff",
        headers=admin,
        json={"username": "GV.LY", "full_name": "Ai đó", "roles": ["subject_teacher"]},
    )
    assert (duplicate.status_code, duplicate.json()["field"]) == (409, "username")

    unknown = await client.post(
        "/assignments",
        headers=admin,
        json={"kind": "subject_teacher", "teacher_id": tid, "class_id": ten_a2, "subject_code": "PHYSICS"},
    )
    assert unknown.status_code == 422
    assert "subject_code" in unknown.json()["detail"]
    taught = await client.post(
        "/assignments",
        headers=admin,
        json={"kind": "subject_teacher", "teacher_id": tid, "class_id": ten_a2, "subject_code": "vat_li"},
    )
    assert taught.status_code == 201
    assert (taught.json()["subject_code"], taught.json()["subject_name"]) == ("VAT_LI", "Vật lí")
    toan = await client.post(
        "/assignments",
        headers=admin,
        json={"kind": "subject_teacher", "teacher_id": tid, "class_id": ten_a2, "subject_code": "TOAN"},
    )
    assert (toan.status_code, toan.json()["field"]) == (409, "subject_code")
    assert "Nguyễn Thị Hoa" in toan.json()["detail"]

    homeroom = {
        "kind": "homeroom_teacher",
        "teacher_id": tid,
        "class_id": await _class_id(client, admin, "10A1"),
    }
    second = await client.post("/assignments", headers=admin, json=homeroom)
    assert (second.status_code, second.json()["field"]) == (409, "class_id")
    replaced = await client.post("/assignments", headers=admin, json={**homeroom, "replace": True})
    assert replaced.status_code == 201
    staff = (await client.get(f"/staff/{tid}", headers=admin)).json()
    assert set(staff["roles"]) == {"subject_teacher", "homeroom_teacher"}

    changes = [
        e
        for e in await outbox_events("identity.assignment.changed")
        if e["class_name"] == "10A1" and e["kind"] == "homeroom_teacher"
    ]
    assert [(e["teacher_name"], e["active"]) for e in changes] == [
        ("Phạm Quốc Dũng", True),
        ("Phạm Quốc Dũng", False),
        ("Vũ Đức Thắng", True),
    ]
    ended = await client.delete(f"/assignments/{taught.json()['id']}", headers=admin)
    assert (ended.status_code, ended.json()["active"]) == (200, False)


async def test_the_small_demo_school_has_the_fixed_assignments(
    client: httpx.AsyncClient, login: Login
) -> None:
    admin = await login("quantri")
    rows = (await client.get("/assignments", headers=admin)).json()
    fixed = {
        (a["teacher_name"], a["kind"], a["subject_code"], a["class_name"], a["school_year"]) for a in rows
    }
    assert fixed == {
        ("Nguyễn Thị Hoa", "subject_teacher", "TOAN", "10A1", "2026-2027"),
        ("Nguyễn Thị Hoa", "subject_teacher", "TOAN", "10A2", "2026-2027"),
        ("Nguyễn Thị Hoa", "subject_teacher", "TOAN", "11 Toán chuyên", "2026-2027"),
        ("Phạm Quốc Dũng", "subject_teacher", "NGU_VAN", "10A1", "2026-2027"),
        ("Phạm Quốc Dũng", "homeroom_teacher", None, "10A1", "2026-2027"),
    }
    students = (await client.get("/students", headers=admin, params={"limit": 500})).json()
    assert students["total"] == 30


async def test_parents_link_siblings_and_lose_access_when_unlinked(
    client: httpx.AsyncClient, login: Login
) -> None:
    admin = await login("quantri")
    first = (await client.post("/students", headers=admin, json=STUDENT)).json()
    second = (
        await client.post(
            "/students",
            headers=admin,
            json={**STUDENT, "national_id": "0349999002", "full_name": "Nguyễn Thị Bình"},
        )
    ).json()
    created = await client.post(
        "/parents",
        headers=admin,
        json={
            "full_name": "Nguyễn Văn Cha",
            "phone": "+84 912 000 111",
            "children": [{"student_id": first["id"], "relationship": "father"}],
        },
    )
    assert created.status_code == 201
    parent = created.json()
    assert (parent["phone"], parent["username"]) == ("0912000111", "ph0912000111")
    linked = await client.post(
        f"/parents/{parent['id']}/children",
        headers=admin,
        json={"student_id": second["id"], "relationship": "father"},
    )
    assert {c["student_id"] for c in linked.json()["children"]} == {first["id"], second["id"]}
    again = await client.post(
        f"/parents/{parent['id']}/children",
        headers=admin,
        json={"student_id": second["id"], "relationship": "father"},
    )
    assert (again.status_code, again.json()["field"]) == (409, "student_id")
    # The same phone again is the same parent (a parent gains children this way), not a new one.
    same_phone = await client.post("/parents", headers=admin, json={"full_name": "Ai", "phone": "0912000111"})
    assert (same_phone.status_code, same_phone.json()["id"]) == (200, parent["id"])
    assert same_phone.json()["full_name"] == parent["full_name"]
    bad_phone = await client.post("/parents", headers=admin, json={"full_name": "Ai", "phone": "12345"})
    assert (bad_phone.status_code, bad_phone.json()["field"]) == (422, "phone")

    issued = (await client.post(f"/accounts/{parent['id']}/password", headers=admin)).json()
    assert issued["login"] == "0912000111"
    token = (
        await client.post(
            "/auth/token", json={"username": "0912 000 111", "password": issued["initial_password"]}
        )
    ).json()
    changed = await client.post(
        "/auth/password",
        headers={"authorization": f"Bearer {token['access_token']}"},
        json={"current_password": issued["initial_password"], "new_password": "cha-cua-hai-con"},
    )
    father = {"authorization": f"Bearer {changed.json()['access_token']}"}
    assert (await client.get(f"/students/{second['id']}", headers=father)).status_code == 200

    unlinked = await client.delete(f"/parents/{parent['id']}/children/{second['id']}", headers=admin)
    assert [c["student_id"] for c in unlinked.json()["children"]] == [first["id"]]
    assert (await client.get(f"/students/{second['id']}", headers=father)).status_code == 404
    assert (await client.get(f"/students/{first['id']}", headers=father)).status_code == 200
    renamed = await client.patch(
        f"/parents/{parent['id']}", headers=admin, json={"full_name": "Nguyễn Văn Bố"}
    )
    assert renamed.json()["full_name"] == "Nguyễn Văn Bố"


async def test_student_search_keeps_names_out_of_the_url(client: httpx.AsyncClient, login: Login) -> None:
    admin = await login("quantri")
    created = (await client.post("/students", headers=admin, json=STUDENT)).json()

    in_url = await client.get("/students", headers=admin, params={"q": "nguyen van an"})
    assert in_url.status_code == 422
    assert in_url.headers["content-type"].startswith("application/problem+json")
    assert in_url.json()["field"] == "q"
    assert "POST /students/search" in in_url.json()["detail"]

    # The body search answers what the listing answers, page by page.
    listed = (await client.get("/students", headers=admin, params={"limit": 7, "offset": 3})).json()
    searched = (await client.post("/students/search", headers=admin, json={"limit": 7, "offset": 3})).json()
    assert searched == listed
    assert len(searched["items"]) == 7

    found = (await client.post("/students/search", headers=admin, json={"q": "nguyễn văn an"})).json()
    assert [s["id"] for s in found["items"]] == [created["id"]]
    ten_a1 = await _class_id(client, admin, "10A1")
    in_class = (await client.post("/students/search", headers=admin, json={"class_id": ten_a1})).json()
    by_get = (await client.get("/students", headers=admin, params={"class_id": ten_a1})).json()
    assert in_class == by_get
    assert in_class["total"] > 0

    for body, field in (
        ({"q": "x" * 101}, "q"),
        ({"limit": 0}, "limit"),
        ({"limit": 501}, "limit"),
        ({"offset": -1}, "offset"),
        ({"class_id": "not-a-uuid"}, "class_id"),
        ({"name": "an"}, "name"),
    ):
        bad = await client.post("/students/search", headers=admin, json=body)
        assert bad.status_code == 422, body
        assert bad.json()["field"] == field
    assert (await client.post("/students/search", json={})).status_code == 401


async def test_assignment_events_carry_the_teachers_e_mail_and_follow_its_change(
    client: httpx.AsyncClient, login: Login, outbox_events: Events
) -> None:
    """Grades sends the board's reminders to this address (issue 11 §2)."""
    admin = await login("quantri")
    teacher = await client.post(
        "/staff",
        headers=admin,
        json={
            "username": "gv.dia",
            "full_name": "Hà Thị Địa",
            "roles": ["subject_teacher"],
            "email": "dia@truong.example",
        },
    )
    assert teacher.status_code == 201, teacher.text
    tid = teacher.json()["id"]
    taught = await client.post(
        "/assignments",
        headers=admin,
        json={
            "kind": "subject_teacher",
            "teacher_id": tid,
            "class_id": await _class_id(client, admin, "10A1"),
            "subject_code": "DIA_LI",
        },
    )
    assert taught.status_code == 201, taught.text
    changed = await client.patch(f"/staff/{tid}", headers=admin, json={"email": "dia.moi@truong.example"})
    assert changed.status_code == 200, changed.text
    renamed = await client.patch(f"/staff/{tid}", headers=admin, json={"phone": "0912345678"})
    assert renamed.status_code == 200, renamed.text
    mine = [e for e in await outbox_events("identity.assignment.changed") if e["teacher_id"] == tid]
    # Said at the assignment, again when the e-mail changed; a phone change says nothing.
    assert [(e["subject_code"], e["active"], e["teacher_email"]) for e in mine] == [
        ("DIA_LI", True, "dia@truong.example"),
        ("DIA_LI", True, "dia.moi@truong.example"),
    ]


async def test_a_class_list_comes_back_in_vietnamese_class_list_order(
    client: httpx.AsyncClient, login: Login
) -> None:
    """Issue 15: by given name, then family and middle names, in the Vietnamese alphabet."""
    admin = await login("quantri")
    class_id = await _class_id(client, admin, "10A2")
    names = ["Phan Diệu Anh", "Đỗ Hữu Anh", "Lê Văn Hiền", "Nguyễn Thị Hằng", "Bùi Khánh Ly", "Võ Đức Lâm"]
    for number, name in enumerate(names, start=1):
        body = {**STUDENT, "national_id": f"034999{8000 + number}", "full_name": name}
        body["class_id"] = class_id
        assert (await client.post("/students", headers=admin, json=body)).status_code == 201
    listed = await client.get(f"/classes/{class_id}/students", headers=admin)
    roster = [s["full_name"] for s in listed.json()]
    ours = [n for n in roster if n in names]
    assert ours == [
        "Đỗ Hữu Anh",
        "Phan Diệu Anh",
        "Nguyễn Thị Hằng",
        "Lê Văn Hiền",
        "Võ Đức Lâm",
        "Bùi Khánh Ly",
    ]
    # The whole list (the demo's students too) goes by given name first: no "Đ…" block at the end.
    given = [n.split()[-1] for n in roster]
    assert given.index("Hằng") < given.index("Hiền")
    assert given.index("Lâm") < given.index("Ly")


async def test_the_office_search_lists_students_as_a_class_list_does_page_by_page(
    client: httpx.AsyncClient, login: Login
) -> None:
    """Issue 15: by given name, then family and middle names, in the Vietnamese alphabet (ICU),
    not by the database's order of the name without diacritics; the same across pages."""
    admin = await login("quantri")
    names = ["Ngô Thị Hoàng", "Lê Văn Hoa", "Phan Diệu Anh", "Đỗ Hữu Anh", "Trần Thị Hằng", "Vũ Thị Hiền"]
    for number, name in enumerate(names):
        body = {**STUDENT, "national_id": f"07700{number:05d}", "full_name": name}
        assert (await client.post("/students", headers=admin, json=body)).status_code == 201

    pages = [
        (
            await client.post("/students/search", headers=admin, json={"q": "07700", "limit": 2, "offset": o})
        ).json()
        for o in (0, 2, 4)
    ]
    assert {page["total"] for page in pages} == {6}
    listed = [s["full_name"] for page in pages for s in page["items"]]
    assert listed == [
        "Đỗ Hữu Anh",
        "Phan Diệu Anh",
        "Trần Thị Hằng",
        "Vũ Thị Hiền",
        "Lê Văn Hoa",
        "Ngô Thị Hoàng",
    ]
