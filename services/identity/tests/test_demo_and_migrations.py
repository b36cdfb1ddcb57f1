"""The demo schools (the first full and small, the second, the province's login; idempotent) and
the migrations (up, down, up again)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from alembic import command
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from sqlalchemy import Connection, inspect

from hbs_devtools.demo import (
    DEMO_PASSWORD,
    DEMO_PEOPLE,
    DEMO_PROVINCE,
    DEMO_SCHOOL,
    SECOND_SCHOOL,
)
from hbs_identity.app import MIGRATIONS, create_app
from hbs_identity.demo import DEMO_STUDENT_ID, DemoSeeder, demo_student_id
from hbs_identity.people.service import PeopleService
from hbs_identity.settings import IdentitySettings
from hbs_identity.text import search_key
from hbs_identity.unit import SYSTEM, unit_of_work
from hbs_shared.db import Database
from hbs_shared.migrations import alembic_config, upgrade_to_head
from hbs_shared.schools import PROVINCE_SCOPE
from hbs_shared.service import ServiceRuntime

Login = Callable[..., Awaitable[dict[str, str]]]
pytestmark = [pytest.mark.db]


async def test_migrations_go_down_and_up_again(databases: Any) -> None:
    db = Database(databases.new("identity"))
    try:
        await upgrade_to_head(db.engine, MIGRATIONS)
        config = alembic_config(MIGRATIONS, db.engine.url.render_as_string(hide_password=False))

        def down_then_up(connection: Connection) -> list[list[str]]:
            config.attributes["connection"] = connection
            command.downgrade(config, "0001")
            after_down = sorted(inspect(connection).get_table_names())
            command.upgrade(config, "head")
            return [after_down, sorted(inspect(connection).get_table_names())]

        async with db.engine.begin() as connection:
            after_down, after_up = await connection.run_sync(down_then_up)
        assert "students" not in after_down
        assert "accounts" in after_down
        assert {"students", "refresh_tokens", "assignments", "audit_log"} <= set(after_up)
    finally:
        await db.dispose()


@pytest.mark.broker
async def test_seeding_twice_adds_nothing(app: FastAPI) -> None:
    runtime: ServiceRuntime = app.state.runtime
    settings = runtime.settings
    assert isinstance(settings, IdentitySettings)
    seeder = DemoSeeder(PeopleService())
    async with unit_of_work(runtime, settings.school_id, SYSTEM) as unit:
        report = await seeder.seed(unit, "small", exempt=True)
    assert vars(report) == {"staff": 0, "classes": 0, "students": 0, "parents": 0, "assignments": 0}
    async with unit_of_work(runtime, SECOND_SCHOOL.id, SYSTEM) as unit:
        report = await seeder.seed(unit, "small", exempt=True, school=SECOND_SCHOOL)
    assert vars(report) == {"staff": 0, "classes": 0, "students": 0, "parents": 0, "assignments": 0}
    async with unit_of_work(runtime, PROVINCE_SCOPE, SYSTEM) as unit:
        assert await seeder.seed_province(unit) is False


@pytest.mark.broker
async def test_the_second_demo_school_and_the_province(
    client: httpx.AsyncClient, login: Login, outbox_events: Callable[..., Awaitable[list[dict[str, Any]]]]
) -> None:
    for person in (*SECOND_SCHOOL.people, DEMO_PROVINCE):
        token = await client.post(
            "/auth/token", json={"username": person.username, "password": DEMO_PASSWORD}
        )
        assert token.status_code == 200, person.username
        assert (token.json()["must_change_password"], token.json()["totp_setup_required"]) == (False, False)
    admin = await login("quantri.pc")
    me = (await client.get("/me", headers=admin)).json()
    assert (me["school_id"], me["name"]) == ("thpt-phu-cu", "Phạm Văn Tùng")
    assert (await client.get("/school", headers=admin)).json()["name"] == "Trường THPT Phù Cừ"
    classes = {c["name"]: c for c in (await client.get("/classes", headers=admin)).json()}
    assert set(classes) == {"10A1", "10A2", "11 Toán chuyên"}
    assert classes["10A1"]["homeroom_teacher_name"] == "Lê Thị Hồng Nhung"
    assert {(c["students"]) for c in classes.values()} == {10}
    staff = (await client.get("/staff", headers=admin)).json()
    assert {s["username"] for s in staff} == {p.username for p in SECOND_SCHOOL.people}
    toan = SECOND_SCHOOL.person("gv.toan")
    taught = (
        await client.get("/assignments", headers=admin, params={"teacher_id": str(toan.user_id)})
    ).json()
    assert {(a["subject_code"], a["class_name"]) for a in taught} == {
        ("TOAN", "10A1"),
        ("TOAN", "10A2"),
        ("TOAN", "11 Toán chuyên"),
    }
    students = (await client.get("/students", headers=admin, params={"limit": 500})).json()
    assert students["total"] == 30
    assert all(s["national_id"].startswith("033") for s in students["items"])
    assert str(demo_student_id(SECOND_SCHOOL, "10A1", 1)) in {s["id"] for s in students["items"]}
    # The first school's people are not the second's, and its students kept their ids.
    first = (await client.get("/students", headers=await login("quantri"), params={"limit": 500})).json()
    assert first["total"] == 30
    assert all(s["national_id"].startswith("034") for s in first["items"])
    assert str(demo_student_id(DEMO_SCHOOL, "10A1", 1)) == str(DEMO_STUDENT_ID)
    assert str(DEMO_STUDENT_ID) in {s["id"] for s in first["items"]}
    # Both schools' facts are announced; the province's login is nobody in a school.
    announced = {e["school_id"]: e for e in await outbox_events("identity.school.changed", "*")}
    assert announced["thpt-phu-cu"]["principal_name"] == "Đoàn Văn Khải"
    assert announced["thpt-phu-cu"]["current_year"]["name"] == "2026-2027"
    assert "thpt-chuyen-thai-binh" in announced
    province = await login(DEMO_PROVINCE.username)
    me = (await client.get("/me", headers=province)).json()
    assert (me["school_id"], me["roles"]) == ("so-gddt", ["province_admin", "province_officer"])
    schools = {s["id"]: s for s in (await client.get("/schools", headers=province)).json()}
    assert {k: schools["thpt-phu-cu"][k] for k in ("classes", "students", "staff")} == {
        "classes": 3,
        "students": 30,
        "staff": 5,
    }


@pytest.mark.broker
async def test_the_full_demo_school(
    databases: Any, kafka: Any, tmp_path: Path, drain: Callable[[FastAPI], Awaitable[int]]
) -> None:
    settings = IdentitySettings(
        database_url=databases.new("identity"),
        kafka_bootstrap=kafka.bootstrap,
        data_dir=tmp_path,
        seed_demo=True,
        environment="test",
    )
    application = create_app(settings)
    async with (
        LifespanManager(application, startup_timeout=120, shutdown_timeout=60),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=application), base_url="http://identity"
        ) as client,
    ):
        for person in DEMO_PEOPLE:
            token = await client.post(
                "/auth/token", json={"username": person.username, "password": "hbs-demo-2026"}
            )
            assert token.status_code == 200
            assert token.json()["must_change_password"] is False
        signed = await client.post("/auth/token", json={"username": "quantri", "password": "hbs-demo-2026"})
        admin = {"authorization": f"Bearer {signed.json()['access_token']}"}
        classes = (await client.get("/classes", headers=admin)).json()
        assert len(classes) == 36
        assert {c["name"][:2] for c in classes} == {"10", "11", "12"}
        assert all(c["homeroom_teacher_name"] for c in classes)
        assert all(c["students"] <= 45 for c in classes)
        students = (await client.get("/students", headers=admin, params={"limit": 1})).json()["total"]
        assert 1400 <= students <= 1600
        staff = (await client.get("/staff", headers=admin)).json()
        assert 90 <= len(staff) <= 110
        # Only the README's demo logins skip the first-sign-in change: another teacher, the office.
        demo_logins = {p.username for p in DEMO_PEOPLE}
        teacher = next(s["username"] for s in staff if s["username"] not in demo_logins)
        for other in (teacher, "vanphong1"):
            first = await client.post("/auth/token", json={"username": other, "password": "hbs-demo-2026"})
            assert (first.json()["must_change_password"], first.json()["refresh_token"]) == (True, None)
        toan = (
            await client.get(
                "/assignments", headers=admin, params={"teacher_id": str(DEMO_PEOPLE[2].user_id)}
            )
        ).json()
        assert {(a["subject_code"], a["class_name"]) for a in toan} >= {
            ("TOAN", "10A1"),
            ("TOAN", "10A2"),
            ("TOAN", "11 Toán chuyên"),
        }
        ten_a1 = next(c for c in classes if c["name"] == "10A1")
        assert ten_a1["homeroom_teacher_name"] == "Phạm Quốc Dũng"
        # Every class has a teacher for each of its twelve subjects.
        rows = (await client.get("/assignments", headers=admin)).json()
        assert len([a for a in rows if a["kind"] == "subject_teacher"]) == 36 * 12
        parents = (
            await client.post("/parents/search", headers=admin, json={"q": "nguyen", "limit": 5})
        ).json()
        assert parents
        assert all(p["children"] for p in parents)
        assert all("nguyen" in search_key(p["full_name"]) for p in parents)
        # Names never travel in a URL: the query-string search is refused, naming `q`.
        for path in ("/parents", "/staff", "/students"):
            refused = await client.get(path, headers=admin, params={"q": "nguyen"})
            assert refused.status_code == 422, path
            assert refused.json()["field"] == "q"
        maths = (await client.post("/staff/search", headers=admin, json={"q": "nguyen thi hoa"})).json()
        assert [s["username"] for s in maths] == ["gv.toan"]
        # Every event of the seed reaches the broker (identity.students, identity.assignments).
        assert await drain(application) == 0
