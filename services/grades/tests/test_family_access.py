"""Parents and students read results (Đ9), authorised by identity's API: identity and grades both
in-process on real databases and the real broker, grades' roster built from identity's events.

A = the demo student (10A1 seat 1), child of the demo parent with C (10A2 seat 1); B = 10A1 seat 2,
another family's child."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from hbs_grades.app import create_app as create_grades
from hbs_grades.models import RecordState, ScoreSheet, YearRecord
from hbs_grades.records.repository import YearRecordRepository
from hbs_grades.settings import GradesSettings
from hbs_identity.app import create_app as create_identity
from hbs_identity.demo import DEMO_YEAR, demo_id
from hbs_identity.settings import IdentitySettings
from hbs_shared.authz import AuthzClient
from hbs_shared.demo import DEMO_PARENT, DEMO_PARENT_PHONE, DEMO_PASSWORD, DEMO_STUDENT_LOGIN, demo_person
from hbs_shared.events.contracts import SigningCompleted
from hbs_shared.events.envelope import make_envelope
from hbs_shared.problems import Problem
from hbs_shared.service import ServiceRuntime

pytestmark = [pytest.mark.db, pytest.mark.broker]

A = demo_id("student", f"{DEMO_YEAR}:10A1:1")
B = demo_id("student", f"{DEMO_YEAR}:10A1:2")
C = demo_id("student", f"{DEMO_YEAR}:10A2:1")


@dataclass
class Family:
    identity: httpx.AsyncClient
    grades: httpx.AsyncClient
    grades_app: FastAPI
    authz: AuthzClient
    tokens: dict[str, str]

    def headers(self, who: str) -> dict[str, str]:
        return {"authorization": f"Bearer {self.tokens[who]}"}


async def _wait_for(what: str, probe: Callable[[], Awaitable[bool]], timeout: float = 90) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await probe():
        assert asyncio.get_running_loop().time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.3)


@pytest.fixture(scope="module")
async def family(
    databases: Any, kafka: Any, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Family]:
    tmp: Path = tmp_path_factory.mktemp("family")
    identity_app = create_identity(
        IdentitySettings(
            database_url=databases.new("identity"),
            kafka_bootstrap=kafka.bootstrap,
            data_dir=tmp / "identity",
            seed_demo=True,
            demo_size="small",
            environment="test",
        )
    )
    grades_app = create_grades(
        GradesSettings(
            database_url=databases.new("grades"),
            kafka_bootstrap=kafka.bootstrap,
            data_dir=tmp / "grades",
            seed_demo=True,
            environment="test",
        )
    )
    async with (
        LifespanManager(identity_app, startup_timeout=90, shutdown_timeout=60),
        LifespanManager(grades_app, startup_timeout=90, shutdown_timeout=30),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=identity_app), base_url="http://identity") as ic,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=grades_app), base_url="http://grades") as gc,
    ):
        # Grades trusts identity's tokens and asks identity's API, both in-process.
        grades_app.state.verifier = identity_app.state.verifier
        authz = AuthzClient("http://identity", client=ic)
        grades_app.state.authz = authz
        tokens = {}
        for who in ("gv.toan", "gv.van", "hieutruong", DEMO_PARENT.username, DEMO_STUDENT_LOGIN):
            answer = await ic.post("/auth/token", json={"username": who, "password": DEMO_PASSWORD})
            assert answer.status_code == 200, answer.text
            tokens[who] = answer.json()["access_token"]
        b_login = await ic.get(f"/students/{B}", headers={"authorization": f"Bearer {tokens['hieutruong']}"})
        answer = await ic.post(
            "/auth/token", json={"username": b_login.json()["national_id"], "password": DEMO_PASSWORD}
        )
        if answer.json()["must_change_password"]:  # not a demo login: the first sign-in changes it
            answer = await ic.post(
                "/auth/password",
                headers={"authorization": f"Bearer {answer.json()['access_token']}"},
                json={"current_password": DEMO_PASSWORD, "new_password": "mat-khau-rieng-2026"},
            )
        tokens["student_b"] = answer.json()["access_token"]
        # Grades' roster comes from identity's events over the real broker, as in production.
        parent, toan = tokens[DEMO_PARENT.username], tokens["gv.toan"]

        async def roster_arrived() -> bool:
            children = await gc.get("/family/students", headers={"authorization": f"Bearer {parent}"})
            b = await gc.get(f"/results/students/{B}", headers={"authorization": f"Bearer {toan}"})
            return children.status_code == 200 and len(children.json()) == 2 and b.status_code == 200

        async def demo_scores_filled() -> bool:
            a = await gc.get(f"/results/students/{A}", headers={"authorization": f"Bearer {toan}"})
            return any(s["code"] == "TOAN" and s["semester1"] for s in a.json()["subjects"])

        await _wait_for("grades' roster", roster_arrived)
        await _wait_for("the demo's scores", demo_scores_filled)
        yield Family(ic, gc, grades_app, authz, tokens)


async def test_the_demo_parent_signs_in_by_username_or_phone_with_two_children(family: Family) -> None:
    by_phone = await family.identity.post(
        "/auth/token", json={"username": DEMO_PARENT_PHONE, "password": DEMO_PASSWORD}
    )
    assert by_phone.status_code == 200, by_phone.text
    assert by_phone.json()["must_change_password"] is False
    assert by_phone.json()["refresh_token"]  # a full sign-in, not a restricted one
    scope = await family.authz.scope(family.tokens[DEMO_PARENT.username])
    assert (scope.kind, set(scope.students)) == ("parent", {A, C})
    student = await family.authz.scope(family.tokens[DEMO_STUDENT_LOGIN])
    assert (student.kind, student.students) == ("student", [A])


async def test_the_authz_client_answers_for_the_caller_and_fails_closed(family: Family) -> None:
    parent = family.tokens[DEMO_PARENT.username]
    assert await family.authz.allowed(parent, "student.read", A)
    assert not await family.authz.allowed(parent, "student.read", B)
    decision = await family.authz.check(family.tokens[DEMO_STUDENT_LOGIN], "student.read", B)
    assert (decision.allowed, decision.action) == (False, "student.read")
    teacher = await family.authz.scope(family.tokens["gv.toan"])
    assert (teacher.kind, teacher.students) == ("staff", [])
    assert {t.class_name for t in teacher.teaching} == {"10A1", "10A2", "11 Toán chuyên"}
    with pytest.raises(Problem) as refused:
        await family.authz.scope("not-a-token")
    assert refused.value.status == 401
    async with AuthzClient("http://127.0.0.1:9", timeout=0.5) as down:
        with pytest.raises(Problem) as unreachable:
            await down.allowed(parent, "student.read", A)
    assert unreachable.value.status == 503


async def test_family_lists_show_a_parents_children_and_a_student_themself(family: Family) -> None:
    listed = await family.grades.get("/family/students", headers=family.headers(DEMO_PARENT.username))
    assert listed.status_code == 200, listed.text
    assert {(s["student_id"], s["class_name"]) for s in listed.json()} == {(str(A), "10A1"), (str(C), "10A2")}
    assert all(s["full_name"] and s["school_year"] == DEMO_YEAR for s in listed.json())
    own = await family.grades.get("/family/students", headers=family.headers(DEMO_STUDENT_LOGIN))
    assert [s["student_id"] for s in own.json()] == [str(A)]
    teacher = await family.grades.get("/family/students", headers=family.headers("gv.toan"))
    assert teacher.status_code == 403


async def test_a_parent_reads_their_child_and_never_another_familys(family: Family) -> None:
    parent = family.headers(DEMO_PARENT.username)
    for child in (A, C):
        mine = await family.grades.get(f"/family/students/{child}/results", headers=parent)
        assert mine.status_code == 200, mine.text
        assert mine.json()["result"]["student_id"] == str(child)
    for path in (
        f"/family/students/{B}/results",
        f"/results/students/{B}",
        f"/family/students/{uuid.uuid4()}/results",
    ):
        other = await family.grades.get(path, headers=parent)
        assert other.status_code == 404, path
        assert other.headers["content-type"].startswith("application/problem+json")
        assert other.json()["field"] == "student_id"
    assert (await family.grades.get(f"/results/students/{A}", headers=parent)).status_code == 200


async def test_a_student_reads_themself_and_never_another_student(family: Family) -> None:
    student = family.headers(DEMO_STUDENT_LOGIN)
    assert (await family.grades.get(f"/family/students/{A}/results", headers=student)).status_code == 200
    for other in (B, C):
        assert (
            await family.grades.get(f"/family/students/{other}/results", headers=student)
        ).status_code == 404
        assert (await family.grades.get(f"/results/students/{other}", headers=student)).status_code == 404
    b = family.headers("student_b")
    assert (await family.grades.get(f"/family/students/{A}/results", headers=b)).status_code == 404


async def test_teachers_keep_the_roster_rules_and_not_the_family_view(family: Family) -> None:
    toan, van = family.headers("gv.toan"), family.headers("gv.van")
    assert (await family.grades.get(f"/results/students/{B}", headers=toan)).status_code == 200
    assert (await family.grades.get(f"/results/students/{C}", headers=toan)).status_code == 200
    # gv.van teaches and leads 10A1 only: a 10A2 student is not theirs.
    assert (await family.grades.get(f"/results/students/{C}", headers=van)).status_code == 404
    assert (await family.grades.get(f"/family/students/{A}/results", headers=toan)).status_code == 403


async def test_families_see_only_signed_sheets_never_a_draft_score(family: Family) -> None:
    parent, toan = family.headers(DEMO_PARENT.username), family.headers("gv.toan")

    def toan_hk1(body: dict[str, Any]) -> str | None:
        value: str | None = next(s["semester1"] for s in body["subjects"] if s["code"] == "TOAN")
        return value

    teacher_view = (await family.grades.get(f"/results/students/{A}", headers=toan)).json()
    draft = toan_hk1(teacher_view)
    assert draft is not None  # the demo's made-up scores are entered, not yet signed
    before = (await family.grades.get(f"/family/students/{A}/results", headers=parent)).json()
    assert toan_hk1(before["result"]) is None
    assert before["signed_sheets"] == 0
    assert before["total_sheets"] > 0
    assert before["result"]["learning_semester1"] is None

    # gv.toan submits and asks for the signature; signing's "completed" arrives on the bus.
    sheets = (await family.grades.get("/sheets", headers=toan)).json()
    sheet = next(s for s in sheets if s["class_name"] == "10A1" and s["term"] == "HK1")
    submitted = await family.grades.post(
        f"/sheets/{sheet['id']}/submit", headers=toan, json={"expected_version": sheet["version"]}
    )
    assert submitted.status_code == 200, submitted.text
    signing = await family.grades.post(
        f"/sheets/{sheet['id']}/sign",
        headers=toan,
        json={"expected_version": submitted.json()["version"], "activation_id": str(uuid.uuid4())},
    )
    assert signing.status_code == 202, signing.text
    runtime: ServiceRuntime = family.grades_app.state.runtime
    async with runtime.db.transaction() as session:
        stored = await session.get(ScoreSheet, uuid.UUID(sheet["id"]))
        assert stored is not None
        assert stored.signing_request_id is not None
        request_id = stored.signing_request_id
    completed = SigningCompleted(
        request_id=request_id,
        subject_id=uuid.UUID(sheet["id"]),
        document_id=uuid.uuid4(),
        sha256="a" * 64,
        signer_user_id=uuid.uuid4(),
        signer_role="subject_teacher",
        certificate_sha256="b" * 64,
        signed_at=datetime.now(UTC),
    )
    consumer = next(c for c in runtime.consumers if c.topic == completed.topic)
    raw = json.dumps(make_envelope(completed, runtime.settings.school_id).model_dump(mode="json")).encode()
    await consumer.process(raw)

    after = (await family.grades.get(f"/family/students/{A}/results", headers=parent)).json()
    assert toan_hk1(after["result"]) == draft
    assert after["signed_sheets"] == 1
    # Other subjects stay unsigned, so nothing depending on them is shown yet.
    assert after["result"]["learning_semester1"] is None
    assert next(s["name"] for s in after["subjects"] if s["code"] == "TOAN") == "Toán"


async def test_identity_unreachable_is_503_never_allowed(family: Family) -> None:
    parent = family.headers(DEMO_PARENT.username)
    working = family.grades_app.state.authz
    family.grades_app.state.authz = AuthzClient("http://127.0.0.1:9", timeout=0.5)
    try:
        for path in (f"/family/students/{A}/results", f"/results/students/{A}", "/family/students"):
            answer = await family.grades.get(path, headers=parent)
            assert answer.status_code == 503, path
            assert answer.headers["content-type"].startswith("application/problem+json")
            assert "quyền" in answer.json()["title"]
        # Teachers are decided by grades' roster: identity being away does not stop them.
        assert (
            await family.grades.get(f"/results/students/{A}", headers=family.headers("gv.toan"))
        ).status_code == 200
    finally:
        await family.grades_app.state.authz.aclose()
        family.grades_app.state.authz = working


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (500, b'{"title": "boom"}'),
        (502, b"<html>bad gateway</html>"),
        (200, b"not json"),
        (200, b'{"allowed": true}'),
    ],
)
async def test_the_authz_client_fails_closed_on_a_broken_answer(status: int, body: bytes) -> None:
    """A server error, a proxy's HTML page, or an answer that does not validate is never "allowed"."""
    broken = httpx.AsyncClient(
        transport=httpx.MockTransport(lambda _request: httpx.Response(status, content=body)),
        base_url="http://identity",
    )
    async with broken, AuthzClient("http://identity", client=broken) as authz:
        with pytest.raises(Problem) as refused:
            await authz.allowed("token", "student.read", A)
    assert refused.value.status == 503


async def test_families_see_conduct_and_absences_only_once_the_homeroom_teacher_signed(
    family: Family,
) -> None:
    """Conduct and attendance follow the scores' rule: signed (year record, step 2) or "Chưa có"."""
    parent, van = family.headers(DEMO_PARENT.username), family.headers("gv.van")
    entered = await family.grades.put(
        "/classes/10A1/conduct",
        headers=van,
        json={"rows": [{"student_id": str(A), "term": "HK1", "conduct": "T", "absent_excused": 2}]},
    )
    assert entered.status_code == 200, entered.text
    teacher_view = (await family.grades.get(f"/results/students/{A}", headers=van)).json()
    assert teacher_view["conduct_semester1"] == "T"

    unsigned = (await family.grades.get(f"/family/students/{A}/results", headers=parent)).json()
    assert unsigned["result"]["conduct_semester1"] is None
    assert unsigned["result"]["absent_sessions"] is None
    assert unsigned["conduct_signed"] is False

    runtime: ServiceRuntime = family.grades_app.state.runtime

    async def record_state(state: RecordState) -> None:
        async with runtime.db.transaction() as session:
            found = await YearRecordRepository().for_students(
                session, runtime.settings.school_id, DEMO_YEAR, [A]
            )
            record = found.get(A) or YearRecord(
                id=uuid.uuid4(),
                school_id=runtime.settings.school_id,
                school_year=DEMO_YEAR,
                class_name="10A1",
                student_id=A,
                edition=1,
                remarks="",
                edition_signed=False,
            )
            record.state = state
            session.add(record)

    # Being signed is not signed yet.
    await record_state(RecordState.signing_homeroom)
    signing = (await family.grades.get(f"/family/students/{A}/results", headers=parent)).json()
    assert signing["result"]["conduct_semester1"] is None

    await record_state(RecordState.homeroom_signed)
    signed = (await family.grades.get(f"/family/students/{A}/results", headers=parent)).json()
    assert signed["conduct_signed"] is True
    assert signed["result"]["conduct_semester1"] == "T"
    assert signed["result"]["absent_sessions"] == teacher_view["absent_sessions"] >= 2
    await record_state(RecordState.draft)  # as the other tests of this module expect it


async def test_the_year_record_names_the_school_and_principal_identity_announces(family: Family) -> None:
    """No setting names them: identity's `identity.school.changed`, over the broker, does, and a
    principal renamed in identity is named so on the next record content."""
    head = family.headers("hieutruong")
    klass = await family.grades.get("/records/classes/10A1", headers=head)
    assert klass.status_code == 200, klass.text
    record_id = klass.json()["records"][0]["id"]

    async def content() -> dict[str, Any]:
        detail = await family.grades.get(f"/records/{record_id}", headers=head)
        assert detail.status_code == 200, detail.text
        found: dict[str, Any] = detail.json()["content"]
        return found

    first = await content()
    assert (first["school_name"], first["province"]) == ("Trường THPT Chuyên Thái Bình", "Hưng Yên")
    assert first["principal_name"] == "Trần Văn Minh"
    admin = await family.identity.post("/auth/token", json={"username": "quantri", "password": DEMO_PASSWORD})
    office = {"authorization": f"Bearer {admin.json()['access_token']}"}
    principal_id = demo_person("hieutruong").user_id
    for name in ("Trần Văn Minh Mới", "Trần Văn Minh"):
        renamed = await family.identity.patch(
            f"/staff/{principal_id}", headers=office, json={"full_name": name}
        )
        assert renamed.status_code == 200, renamed.text

        async def named(expected: str = name) -> bool:
            return (await content())["principal_name"] == expected

        await _wait_for(f"the principal named {name}", named)
