"""The authorisation matrix: each role × endpoint × an object it owns and one it does not.
A parent never reads another family's child; a student never another student."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx
import pytest

from hbs_identity.authz.policy import Scope, Target, decide
from hbs_identity.client import IdentityClient, StudentSearch
from hbs_shared.demo import DEMO_PASSWORD, demo_person

Login = Callable[..., Awaitable[dict[str, str]]]


@dataclass
class School:
    classes: dict[str, str]
    a: str
    """A student of 10A1 (gv.van leads it; gv.toan and gv.van teach it)."""
    b: str
    """A student of 11 Toán chuyên (gv.toan teaches it; gv.van does not)."""
    c: str
    """A student of 10A2 (gv.toan teaches it)."""
    a_national_id: str
    b_national_id: str
    parent_of_a: str
    parent_of_b: str
    headers: dict[str, dict[str, str]]


async def first_sign_in(client: httpx.AsyncClient, username: str) -> dict[str, str]:
    """A seeded family account: the demo password must be changed at first sign-in (unless it is
    one of the README's demo logins)."""
    first = (await client.post("/auth/token", json={"username": username, "password": DEMO_PASSWORD})).json()
    if first["must_change_password"]:
        first = (
            await client.post(
                "/auth/password",
                headers={"authorization": f"Bearer {first['access_token']}"},
                json={"current_password": DEMO_PASSWORD, "new_password": "mat-khau-rieng-2026"},
            )
        ).json()
    return {"authorization": f"Bearer {first['access_token']}"}


@pytest.fixture
async def school(client: httpx.AsyncClient, login: Login) -> School:
    admin = await login("quantri")
    classes = {c["name"]: c["id"] for c in (await client.get("/classes", headers=admin)).json()}

    async def first(class_name: str) -> dict[str, str]:
        roster = (await client.get(f"/classes/{classes[class_name]}/students", headers=admin)).json()
        return dict(roster[0])

    a, b, c = await first("10A1"), await first("11 Toán chuyên"), await first("10A2")

    async def parent(student_id: str) -> str:
        return str((await client.get(f"/students/{student_id}/parents", headers=admin)).json()[0]["username"])

    parent_of_a, parent_of_b = await parent(a["id"]), await parent(b["id"])
    headers = {
        name: await login(name) for name in ("hieutruong", "phohieutruong", "quantri", "gv.toan", "gv.van")
    }
    for key, name in (("parent_a", parent_of_a), ("student_a", a["national_id"])):
        headers[key] = await first_sign_in(client, name)
    return School(
        classes,
        a["id"],
        b["id"],
        c["id"],
        a["national_id"],
        b["national_id"],
        parent_of_a,
        parent_of_b,
        headers,
    )


@pytest.mark.db
@pytest.mark.broker
async def test_reading_a_student(client: httpx.AsyncClient, school: School) -> None:
    expected = {
        # role: (10A1 student, 11 Toán chuyên student, 10A2 student)
        "hieutruong": (200, 200, 200),
        "phohieutruong": (200, 200, 200),
        "quantri": (200, 200, 200),
        "gv.toan": (200, 200, 200),
        "gv.van": (200, 404, 404),
        "parent_a": (200, 404, 404),
        "student_a": (200, 404, 404),
    }
    for who, statuses in expected.items():
        got = tuple(
            [
                (await client.get(f"/students/{sid}", headers=school.headers[who])).status_code
                for sid in (school.a, school.b, school.c)
            ]
        )
        assert got == statuses, who


@pytest.mark.db
@pytest.mark.broker
async def test_updating_personal_data(client: httpx.AsyncClient, school: School) -> None:
    expected = {
        # Đ6: the homeroom teacher checks and corrects; the admins too. Others can read but not change.
        "hieutruong": (403, 403),
        "phohieutruong": (403, 403),
        "gv.toan": (403, 403),
        "gv.van": (200, 404),
        "parent_a": (403, 404),
        "student_a": (403, 404),
        "quantri": (200, 200),
    }
    for who, statuses in expected.items():
        got = tuple(
            [
                (
                    await client.patch(
                        f"/students/{sid}",
                        headers=school.headers[who],
                        json={"address": f"Đổi bởi {who}", "reason": "kiểm tra hồ sơ gốc"},
                    )
                ).status_code
                for sid in (school.a, school.b)
            ]
        )
        assert got == statuses, who


@pytest.mark.db
@pytest.mark.broker
async def test_class_lists_and_versions(client: httpx.AsyncClient, school: School) -> None:
    expected = {
        # role: (10A1, 11 Toán chuyên, 10A2)
        "hieutruong": (200, 200, 200),
        "quantri": (200, 200, 200),
        "gv.toan": (200, 200, 200),
        "gv.van": (200, 404, 404),
        # Existence is not disclosed to those who may not read a class.
        "parent_a": (404, 404, 404),
        "student_a": (404, 404, 404),
    }
    for who, statuses in expected.items():
        got = tuple(
            [
                (
                    await client.get(f"/classes/{school.classes[name]}/students", headers=school.headers[who])
                ).status_code
                for name in ("10A1", "11 Toán chuyên", "10A2")
            ]
        )
        assert got == statuses, who
    # Version history is for staff who may read the student.
    assert (
        await client.get(f"/students/{school.a}/versions", headers=school.headers["gv.van"])
    ).status_code == 200
    assert (
        await client.get(f"/students/{school.b}/versions", headers=school.headers["gv.van"])
    ).status_code == 404
    assert (
        await client.get(f"/students/{school.a}/versions", headers=school.headers["parent_a"])
    ).status_code == 403


@pytest.mark.db
@pytest.mark.broker
async def test_search_shows_only_what_each_caller_may_read(client: httpx.AsyncClient, school: School) -> None:
    async def visible(who: str) -> set[str]:
        page = (await client.get("/students", headers=school.headers[who], params={"limit": 500})).json()
        searched = (
            await client.post("/students/search", headers=school.headers[who], json={"limit": 500})
        ).json()
        assert searched == page
        return {s["id"] for s in page["items"]}

    assert len(await visible("hieutruong")) == 30
    assert len(await visible("gv.toan")) == 30
    van = await visible("gv.van")
    assert len(van) == 10
    assert school.a in van
    assert school.b not in van
    assert await visible("parent_a") == {school.a}
    assert await visible("student_a") == {school.a}


@pytest.mark.db
@pytest.mark.broker
async def test_only_admins_manage_people_and_structure(client: httpx.AsyncClient, school: School) -> None:
    student = {
        "national_id": "0348888001",
        "full_name": "Lê Thị Mai",
        "date_of_birth": "2011-05-01",
        "birthplace": "Thái Bình",
        "gender": "female",
    }
    for who in ("hieutruong", "phohieutruong", "gv.toan", "gv.van", "parent_a", "student_a"):
        assert (
            await client.post("/students", headers=school.headers[who], json=student)
        ).status_code == 403, who
        assert (
            await client.post("/departments", headers=school.headers[who], json={"name": "Tổ mới"})
        ).status_code == 403, who
    assert (
        await client.post("/students", headers=school.headers["quantri"], json=student)
    ).status_code == 201


@pytest.mark.db
@pytest.mark.broker
async def test_the_authorisation_api_answers_for_the_caller(
    client: httpx.AsyncClient, school: School
) -> None:
    a10, a10b, t11 = school.classes["10A1"], school.classes["10A2"], school.classes["11 Toán chuyên"]
    cases = [
        ("gv.toan", "class_subject.teach", a10, "TOAN", True),
        ("gv.toan", "class_subject.teach", t11, "TOAN", True),
        ("gv.toan", "class_subject.teach", a10, "NGU_VAN", False),
        ("gv.van", "class_subject.teach", a10, "NGU_VAN", True),
        ("gv.van", "class_subject.teach", a10b, "NGU_VAN", False),
        ("gv.van", "class.lead", a10, None, True),
        ("gv.van", "class.lead", a10b, None, False),
        ("gv.toan", "class.lead", a10, None, False),
        ("hieutruong", "class_subject.teach", a10, "TOAN", False),
        ("hieutruong", "record.approve", None, None, True),
        ("phohieutruong", "record.approve", None, None, False),
        ("phohieutruong", "record.review", None, None, True),
        ("gv.toan", "record.review", None, None, False),
        ("quantri", "school.admin", None, None, True),
        ("gv.van", "school.admin", None, None, False),
        ("parent_a", "student.read", school.a, None, True),
        ("parent_a", "student.read", school.b, None, False),
        ("student_a", "student.read", school.a, None, True),
        ("student_a", "student.read", school.c, None, False),
        ("gv.van", "student.update", school.a, None, True),
        ("gv.toan", "student.update", school.a, None, False),
        ("gv.toan", "student.read", str(uuid.uuid4()), None, False),
        ("gv.toan", "no.such.action", a10, None, False),
    ]
    for who, action, object_id, subject, allowed in cases:
        response = await client.post(
            "/authz/check",
            headers=school.headers[who],
            json={"action": action, "object_id": object_id, "subject_code": subject},
        )
        assert response.status_code == 200
        assert response.json()["allowed"] is allowed, (who, action, object_id, subject)

    other = await client.post(
        "/authz/check",
        headers=school.headers["gv.toan"],
        json={"action": "class.lead", "object_id": a10, "user_id": str(demo_person("gv.van").user_id)},
    )
    assert other.status_code == 403  # only a system admin asks about someone else
    asked = await client.post(
        "/authz/check",
        headers=school.headers["quantri"],
        json={"action": "class.lead", "object_id": a10, "user_id": str(demo_person("gv.van").user_id)},
    )
    assert asked.json()["allowed"] is True


@pytest.mark.db
@pytest.mark.broker
async def test_the_typed_client(client: httpx.AsyncClient, school: School) -> None:
    identity = IdentityClient("http://identity", client=client)
    toan = school.headers["gv.toan"]["authorization"].split()[1]
    scope = await identity.scope(toan)
    assert {(t.class_name, t.subject_code) for t in scope.teaching} == {
        ("10A1", "TOAN"),
        ("10A2", "TOAN"),
        ("11 Toán chuyên", "TOAN"),
    }
    assert scope.homeroom == []
    assert await identity.allowed(toan, "class_subject.teach", uuid.UUID(school.classes["10A2"]), "TOAN")
    assert not await identity.allowed(toan, "class.lead", uuid.UUID(school.classes["10A2"]))

    van = await identity.scope(school.headers["gv.van"]["authorization"].split()[1])
    assert [h.class_name for h in van.homeroom] == ["10A1"]
    parent = await identity.scope(school.headers["parent_a"]["authorization"].split()[1])
    assert (parent.kind, parent.children) == ("parent", [uuid.UUID(school.a)])
    student = await identity.scope(school.headers["student_a"]["authorization"].split()[1])
    assert student.student_id == uuid.UUID(school.a)

    mine = await identity.search_students(
        van_token := school.headers["gv.van"]["authorization"].split()[1], StudentSearch()
    )
    assert mine.total == 10  # gv.van teaches and leads 10A1 only
    one = mine.items[0]
    found = await identity.search_students(van_token, StudentSearch(q=one.full_name.upper(), limit=5))
    assert one.id in {s.id for s in found.items}


def test_the_rules_refuse_another_school_and_a_disabled_account() -> None:
    class_id = uuid.uuid4()
    teacher = Scope(
        user_id=uuid.uuid4(),
        school_id="thpt-a",
        roles=frozenset({"subject_teacher"}),
        teaches=frozenset({(class_id, "TOAN")}),
    )
    target = Target(school_id="thpt-a", class_id=class_id, subject_code="TOAN")
    assert decide(teacher, "class_subject.teach", target).allowed
    assert not decide(
        teacher, "class_subject.teach", Target(school_id="thpt-b", class_id=class_id, subject_code="TOAN")
    ).allowed
    disabled = Scope(**{**teacher.__dict__, "disabled": True})
    assert decide(disabled, "class_subject.teach", target).reason == "account disabled"
    principal_elsewhere = Scope(user_id=uuid.uuid4(), school_id="thpt-b", roles=frozenset({"principal"}))
    assert not decide(
        principal_elsewhere, "student.read", Target(school_id="thpt-a", student_id=uuid.uuid4())
    ).allowed
    # A parent account holding a staff role name is still only a parent.
    odd_parent = Scope(
        user_id=uuid.uuid4(), school_id="thpt-a", roles=frozenset({"principal"}), kind="parent"
    )
    assert not decide(odd_parent, "student.read", Target(school_id="thpt-a", student_id=uuid.uuid4())).allowed
