"""Two schools in one grades service (issue 14): nothing of one school is found, listed or changed
through the other. School A's objects (sheets, records, a sample, corrections, a revocation, a
reminder, a national export, batches) against every endpoint that takes an id or a class, with
school B's people (their own ids, and ids that happen to be A's people's), a province token, and
events whose envelope names school B."""

from __future__ import annotations

import json
import uuid
import zlib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from hbs_grades.models import (
    Assignment,
    Enrolment,
    RecordCorrection,
    RecordRevocation,
    Reminder,
    ReviewItem,
    ReviewSample,
    ScoreSheet,
    SheetCorrection,
    SheetState,
    Student,
    YearRecord,
)
from hbs_grades.national.models import NationalExport
from hbs_shared.authz import AuthzClient
from hbs_shared.events.contracts import SigningCompleted
from hbs_shared.events.identity import (
    AssignmentChanged,
    ClassRenamed,
    StudentDeleted,
    StudentEnrolled,
    StudentLeft,
    StudentUpdated,
)
from hbs_shared.messaging.consumer import Outcome
from hbs_shared.schools import PROVINCE_SCOPE

from .conftest import YEAR, GradesHarness, class_uuid, school_changed

pytestmark = [pytest.mark.db, pytest.mark.broker]

A = "thpt-truong-a"
B = "thpt-truong-b"
A_CLASS = "10A1"
B_CLASS = "10B1"
A_STUDENTS = ["Nguyễn Văn Anh", "Trần Thị Bảo"]
B_STUDENTS = ["Lê Văn Cường", "Phạm Thị Dung"]
A_TEACHER_NAME = "Đinh Thị Alpha"


@dataclass
class School:
    school_id: str
    teacher: uuid.UUID = field(default_factory=uuid.uuid4)
    homeroom: uuid.UUID = field(default_factory=uuid.uuid4)
    board: uuid.UUID = field(default_factory=uuid.uuid4)
    office: uuid.UUID = field(default_factory=uuid.uuid4)
    assignment: uuid.UUID = field(default_factory=uuid.uuid4)
    students: list[uuid.UUID] = field(default_factory=list)
    sheets: list[str] = field(default_factory=list)
    records: list[str] = field(default_factory=list)


@dataclass
class World:
    h: GradesHarness
    a: School
    b: School
    objects: dict[str, uuid.UUID]
    """A's objects by name: the ids the matrix asks for with B's tokens."""

    def secrets(self) -> list[str]:
        """What of A must never appear in an answer to anyone outside A."""
        ids = [*map(str, self.a.students), *self.a.sheets, *self.a.records, *map(str, self.objects.values())]
        return [*A_STUDENTS, A_TEACHER_NAME, *ids]

    def names(self) -> list[str]:
        return [*A_STUDENTS, A_TEACHER_NAME]


def _identity_says_yes(request: httpx.Request) -> httpx.Response:
    """The worst identity for grades: every family check allowed, A's students as B's children.
    Grades must still find nothing of A for a caller of B."""
    if request.url.path == "/authz/scope":
        body = json.loads(request.headers.get("x-test-children", "[]"))
        return httpx.Response(
            200,
            json={
                "user_id": str(uuid.uuid4()),
                "kind": "parent",
                "roles": ["parent"],
                "school_id": B,
                "children": body,
            },
        )
    return httpx.Response(
        200, json={"allowed": True, "reason": "test", "action": "student.read", "user_id": str(uuid.uuid4())}
    )


async def _school(
    h: GradesHarness, school: School, class_name: str, names: list[str], teacher_name: str
) -> None:
    assert await h.feed(
        school_changed(school.school_id, name=f"Trường {school.school_id}"), school.school_id
    ) is (Outcome.applied)
    school.students = await h.enrol(class_name, names, school_id=school.school_id)
    await h.assign(
        school.teacher,
        class_name,
        "TOAN",
        school_id=school.school_id,
        assignment_id=school.assignment,
        teacher_name=teacher_name,
    )
    await h.assign(school.homeroom, class_name, None, kind="homeroom_teacher", school_id=school.school_id)
    mine = h.headers(school.teacher, teacher_name, school_id=school.school_id)
    school.sheets = [s["id"] for s in (await h.client.get("/sheets", headers=mine)).json()]
    assert len(school.sheets) == 2
    board = h.headers(school.board, roles=("principal",), school_id=school.school_id)
    listed = await h.client.get(f"/records/classes/{class_name}", headers=board)
    assert listed.status_code == 200, listed.text
    school.records = [r["id"] for r in listed.json()["records"]]
    assert len(school.records) == 2


@pytest.fixture(scope="module")
async def world(grades: GradesHarness) -> World:
    a, b = School(A), School(B)
    await _school(grades, a, A_CLASS, A_STUDENTS, A_TEACHER_NAME)
    await _school(grades, b, B_CLASS, B_STUDENTS, "Giáo viên B")
    sheet, record = uuid.UUID(a.sheets[0]), uuid.UUID(a.records[0])
    now = datetime.now(UTC)
    minutes = {"minutes_number": "01/BB", "minutes_date": date(2026, 12, 1), "reason": "Sai sót khi nhập"}
    opened = {"opened_by": a.board, "opened_by_name": "Hiệu trưởng A", "opened_at": now}
    objects = {
        "sample": uuid.uuid4(),
        "sheet_correction": uuid.uuid4(),
        "record_correction": uuid.uuid4(),
        "revocation": uuid.uuid4(),
        "reminder": uuid.uuid4(),
        "export": uuid.uuid4(),
        "sheet_batch": uuid.uuid4(),
        "record_batch": uuid.uuid4(),
        "request": uuid.uuid4(),
    }
    async with grades.app.state.runtime.db.transaction() as session:
        session.add(
            ReviewSample(
                id=objects["sample"], school_id=A, school_year=YEAR, class_name=A_CLASS, seed="ab" * 32,
                population=sorted(a.records), share_percent=100, minimum=1, drawn_by=a.board,
                drawn_by_name="Phó hiệu trưởng A", drawn_at=now,
            )
        )  # fmt: skip
        await session.flush()
        session.add(
            ReviewItem(sample_id=objects["sample"], record_id=record, student_id=a.students[0], rank=0)
        )
        session.add(
            SheetCorrection(id=objects["sheet_correction"], school_id=A, sheet_id=sheet, **minutes, **opened)
        )
        session.add(
            RecordCorrection(
                id=objects["record_correction"], school_id=A, record_id=record, **minutes, **opened
            )
        )
        session.add(
            RecordRevocation(id=objects["revocation"], school_id=A, record_id=record, **minutes, **opened)
        )
        session.add(
            Reminder(
                id=objects["reminder"], school_id=A, school_year=YEAR, recipient_id=a.teacher,
                recipient_name=A_TEACHER_NAME, sender_name="Hiệu trưởng A", step="score_entry",
                message=f"Lớp {A_CLASS}: nhập điểm", created_at=now, email_state="none",
            )
        )  # fmt: skip
        document = zlib.compress(json.dumps({"hocsinh": A_STUDENTS}).encode())
        session.add(
            NationalExport(
                id=objects["export"], school_id=A, kind="toanbo", created_at=now, created_by=a.board,
                created_by_name="Hiệu trưởng A", students=2, withdrawn=0, sha256="0" * 64, document=document,
            )
        )  # fmt: skip
        # A's second sheet waits for signing in a teacher's batch; its first record in a board's.
        await session.execute(
            update(ScoreSheet)
            .where(ScoreSheet.id == uuid.UUID(a.sheets[1]))
            .values(
                state=SheetState.signing.value,
                sign_batch_id=objects["sheet_batch"],
                signing_request_id=objects["request"],
            )
        )
        await session.execute(
            update(YearRecord)
            .where(YearRecord.id == record)
            .values(batch_id=objects["record_batch"], batch_by=a.board)
        )
    return World(grades, a, b, objects)


def _b_callers(w: World) -> dict[str, dict[str, str]]:
    """B's people with B's own ids, B's people whose ids happen to be A's, and the province."""
    h, b, a = w.h, w.b, w.a
    return {
        "b_board": h.headers(b.board, "Hiệu trưởng B", ("principal", "vice_principal"), school_id=B),
        "b_office": h.headers(b.office, "Văn phòng B", ("system_admin", "office_admin"), school_id=B),
        "b_teacher": h.headers(
            b.teacher, "Giáo viên B", ("subject_teacher", "homeroom_teacher"), school_id=B
        ),
        "a_ids_in_b_teacher": h.headers(a.teacher, "Giáo viên B", ("subject_teacher",), school_id=B),
        "a_ids_in_b_homeroom": h.headers(a.homeroom, "Chủ nhiệm B", ("homeroom_teacher",), school_id=B),
        "a_ids_in_b_board": h.headers(a.board, "Hiệu trưởng B", ("principal", "vice_principal"), school_id=B),
        "province": h.headers(
            uuid.uuid4(), "Sở", ("province_admin", "province_officer"), school_id=PROVINCE_SCOPE
        ),
    }


def _by_id(w: World) -> list[tuple[str, str, dict[str, Any] | None]]:
    """Every endpoint that takes an id of A's, with a body that validates."""
    sheet, signing_sheet, record = w.a.sheets[0], w.a.sheets[1], w.a.records[0]
    o = w.objects
    student = str(w.a.students[0])
    minutes = {
        "expected_version": 1,
        "minutes_number": "02/BB",
        "minutes_date": "2026-12-02",
        "reason": "Sửa lỗi",
    }
    return [
        ("GET", f"/sheets/{sheet}", None),
        ("GET", f"/sheets/{sheet}/scores", None),
        (
            "PUT",
            f"/sheets/{sheet}/scores",
            {"expected_version": 1, "rows": [{"student_id": student, "final": "8"}]},
        ),
        ("GET", f"/sheets/{sheet}/changes", None),
        ("POST", f"/sheets/{sheet}/submit", {"expected_version": 1}),
        ("POST", f"/sheets/{sheet}/sign", {"expected_version": 1, "activation_id": str(uuid.uuid4())}),
        ("GET", f"/sheets/{sheet}/xlsx", None),
        (
            "POST",
            f"/sheets/{sheet}/corrections",
            {**minutes, "present": ["Hiệu trưởng"], "cells": [{"student_id": student, "column": "final"}]},
        ),
        ("GET", f"/sheets/{sheet}/corrections", None),
        (
            "POST",
            f"/sheets/{sheet}/corrections/{o['sheet_correction']}/minutes/sign",
            {"activation_id": str(uuid.uuid4())},
        ),
        ("GET", f"/sheets/batches/{o['sheet_batch']}", None),
        (
            "POST",
            "/sheets/sign",
            {
                "sheets": [{"sheet_id": signing_sheet, "expected_version": 1}],
                "activation_id": str(uuid.uuid4()),
            },
        ),
        ("GET", f"/records/{record}", None),
        ("PUT", f"/records/{record}/remarks", {"expected_version": 1, "remarks": "Chăm ngoan"}),
        ("POST", f"/records/{record}/return", {"reason": "Trả lại để sửa"}),
        ("POST", f"/records/{record}/corrections", minutes),
        ("GET", f"/records/{record}/corrections", None),
        ("POST", f"/records/{record}/revocation", minutes),
        ("GET", f"/records/{record}/revocation", None),
        ("GET", f"/records/batches/{o['record_batch']}", None),
        ("GET", f"/review/samples/{o['sample']}/redraw", None),
        ("POST", f"/review/samples/{o['sample']}/records/{record}/verdict", {"verdict": "correct"}),
        ("PUT", f"/review/students/{student}/personal-data", {"state": "verified", "fields": [], "note": ""}),
        ("GET", f"/results/students/{student}", None),
        ("GET", f"/family/students/{student}/results", None),
        ("POST", f"/reminders/{o['reminder']}/read", None),
        ("GET", f"/national/exports/{o['export']}", None),
        ("GET", f"/national/exports/{o['export']}/xml", None),
        ("GET", f"/national/exports/{o['export']}/json", None),
    ]


def _by_class(w: World) -> list[tuple[str, str, dict[str, Any] | None]]:
    """Every endpoint that takes a class name (A's class: B has none of that name)."""
    student = str(w.a.students[0])
    return [
        ("GET", f"/records/classes/{A_CLASS}", None),
        ("POST", f"/records/classes/{A_CLASS}/return", {"reason": "Trả lại để sửa"}),
        (
            "POST",
            "/records/sign",
            {
                "step": "homeroom",
                "activation_id": str(uuid.uuid4()),
                "batch_id": str(uuid.uuid4()),
                "class_names": [A_CLASS],
            },
        ),
        ("POST", f"/review/classes/{A_CLASS}/samples", None),
        ("GET", f"/review/classes/{A_CLASS}/samples", None),
        ("GET", f"/review/classes/{A_CLASS}/personal-data", None),
        (
            "POST",
            f"/review/classes/{A_CLASS}/personal-data/verify-all",
            {"student_ids": [student], "confirmed": True},
        ),
        ("GET", f"/classes/{A_CLASS}/conduct", None),
        (
            "PUT",
            f"/classes/{A_CLASS}/conduct",
            {"rows": [{"student_id": student, "term": "HK1", "conduct": "T"}]},
        ),
        ("GET", f"/classes/{A_CLASS}/conduct/changes", None),
        ("PUT", f"/classes/{A_CLASS}/year-end", {"rows": [{"student_id": student, "summer_training": "Đ"}]}),
        ("GET", f"/classes/{A_CLASS}/plan", None),
        ("PUT", f"/classes/{A_CLASS}/plan/TOAN", {"periods_per_year": 140}),
        ("GET", f"/results/classes/{A_CLASS}", None),
        ("GET", f"/results/classes/{A_CLASS}/xlsx", None),
        ("POST", "/reminders", {"class_name": A_CLASS}),
    ]


LISTS = [
    "/sheets",
    "/sheets/ready-to-sign",
    "/records",
    "/records/homeroom-classes",
    "/review/overview",
    "/review/settings",
    "/progress",
    "/progress/items",
    "/reminders",
    "/reminders/mine",
    "/windows",
    "/windows/mine",
    "/windows/extensions",
    "/compliance",
    "/results/ratings",
    "/results/subjects/TOAN",
    "/audit",
    "/national/exports",
    "/family/students",
]


@pytest.fixture(scope="module")
def families(world: World) -> None:
    """Identity's double for family checks: it says yes to everything (see _identity_says_yes)."""
    world.h.app.state.authz = AuthzClient(
        "http://identity",
        client=httpx.AsyncClient(
            transport=httpx.MockTransport(_identity_says_yes), base_url="http://identity"
        ),
    )


def _family(w: World, kind: str) -> dict[str, str]:
    headers = w.h.headers(uuid.uuid4(), "Phụ huynh B", (kind,), school_id=B)
    return {**headers, "x-test-children": json.dumps([str(s) for s in w.a.students])}


async def _call(
    h: GradesHarness, method: str, path: str, body: dict[str, Any] | None, headers: dict[str, str]
) -> httpx.Response:
    return await h.client.request(method, path, headers=headers, json=body)


def _leaks(answer: httpx.Response, w: World) -> list[str]:
    """What of A an answer shows: any name; and any id in a success (a refusal may echo the id asked)."""
    text = answer.text
    looked_for = w.secrets() if answer.status_code < 400 else w.names()
    return [s for s in looked_for if s in text]


async def test_every_id_of_school_a_is_not_found_by_anyone_of_school_b_or_the_province(
    world: World, families: None
) -> None:
    callers = {
        **_b_callers(world),
        "b_parent": _family(world, "parent"),
        "b_student": _family(world, "student"),
    }
    wrong: list[str] = []
    for method, path, body in _by_id(world):
        for who, headers in callers.items():
            answer = await _call(world.h, method, path, body, headers)
            if answer.status_code not in (403, 404) or _leaks(answer, world):
                wrong.append(f"{who} {method} {path} → {answer.status_code} {answer.text[:200]}")
    assert not wrong, "\n".join(wrong)


async def test_school_a_classes_show_nothing_of_a_to_school_b_or_the_province(world: World) -> None:
    wrong: list[str] = []
    for method, path, body in _by_class(world):
        for who, headers in _b_callers(world).items():
            answer = await _call(world.h, method, path, body, headers)
            if answer.status_code >= 500 or _leaks(answer, world):
                wrong.append(f"{who} {method} {path} → {answer.status_code} {answer.text[:200]}")
    assert not wrong, "\n".join(wrong)


async def test_every_list_of_school_b_and_of_the_province_holds_nothing_of_school_a(
    world: World, families: None
) -> None:
    callers = {
        **_b_callers(world),
        "b_parent": _family(world, "parent"),
        "b_student": _family(world, "student"),
    }
    wrong: list[str] = []
    for path in LISTS:
        for who, headers in callers.items():
            answer = await world.h.client.get(path, headers=headers)
            if answer.status_code >= 500 or _leaks(answer, world):
                wrong.append(f"{who} GET {path} → {answer.status_code} {answer.text[:200]}")
    assert not wrong, "\n".join(wrong)


async def test_the_province_is_refused_school_endpoints_that_work_in_a_school_year(world: World) -> None:
    province = _b_callers(world)["province"]
    for path in ("/records", "/progress", "/reminders", "/windows", f"/classes/{A_CLASS}/conduct"):
        answer = await world.h.client.get(path, headers=province)
        assert answer.status_code == 403, (path, answer.text)


async def test_school_a_reads_its_own_objects(world: World) -> None:
    """The matrix's refusals are about the school, not broken ids: A's people find each of them."""
    h, a = world.h, world.a
    board = h.headers(a.board, roles=("principal", "vice_principal"), school_id=A)
    teacher = h.headers(a.teacher, A_TEACHER_NAME, school_id=A)
    assert (await h.client.get(f"/sheets/{a.sheets[0]}", headers=teacher)).status_code == 200
    assert (await h.client.get(f"/records/{a.records[0]}", headers=board)).status_code == 200
    assert (await h.client.get(f"/records/{a.records[0]}/corrections", headers=board)).json()
    assert (await h.client.get(f"/sheets/{a.sheets[0]}/corrections", headers=board)).json()
    assert (
        await h.client.get(f"/review/samples/{world.objects['sample']}/redraw", headers=board)
    ).status_code == 200
    assert (
        await h.client.get(f"/sheets/batches/{world.objects['sheet_batch']}", headers=teacher)
    ).status_code == 200
    assert (
        await h.client.get(f"/records/batches/{world.objects['record_batch']}", headers=board)
    ).status_code == 200
    assert (
        await h.client.get(f"/national/exports/{world.objects['export']}", headers=board)
    ).status_code == 200
    assert (await h.client.get("/reminders/mine", headers=teacher)).json()


async def _a_state(h: GradesHarness, w: World) -> dict[str, Any]:
    """What B's events must not change: A's students, enrolments, assignment, sheet and name."""
    async with h.app.state.runtime.db.transaction() as session:
        students = (
            await session.execute(
                select(Student.id, Student.full_name, Student.school_id).where(Student.id.in_(w.a.students))
            )
        ).all()
        enrolments = (
            await session.execute(
                select(Enrolment.student_id, Enrolment.class_name, Enrolment.left_on).where(
                    Enrolment.school_id == A
                )
            )
        ).all()
        assignment = (
            await session.execute(
                select(Assignment.class_name, Assignment.teacher_id, Assignment.school_id).where(
                    Assignment.id == w.a.assignment
                )
            )
        ).one()
        sheet = (
            await session.execute(
                select(ScoreSheet.state, ScoreSheet.document_id).where(
                    ScoreSheet.id == uuid.UUID(w.a.sheets[1])
                )
            )
        ).one()
    return {
        "students": sorted(map(tuple, students)),
        "enrolments": sorted(map(tuple, enrolments)),
        "assignment": tuple(assignment),
        "sheet": tuple(sheet),
    }


async def test_events_of_school_b_never_change_school_a(world: World) -> None:
    h, a = world.h, world.a
    before = await _a_state(h, world)
    student, class_id = a.students[0], class_uuid(A_CLASS, A)
    front = {
        "national_id": "034099999999",
        "full_name": "Tên Bị Đổi",
        "date_of_birth": date(2011, 2, 2),
        "gender": "male",
    }
    outcomes = {
        "updated": await h.feed(
            StudentUpdated(
                student_id=student, **front, changed_fields=["full_name"], personal_data_version=2
            ),
            B,
        ),
        "enrolled": await h.feed(
            StudentEnrolled(
                student_id=student,
                **front,
                class_id=class_uuid(B_CLASS, B),
                class_name=B_CLASS,
                grade_level=10,
                school_year=YEAR,
                enrolled_on=date(2026, 10, 1),
            ),
            B,
        ),
        "left": await h.feed(
            StudentLeft(
                student_id=student,
                class_id=class_id,
                school_year=YEAR,
                left_on=date(2026, 10, 2),
                reason="transferred",
            ),
            B,
        ),
        "deleted": await h.feed(StudentDeleted(student_id=a.students[1]), B),
        "assignment": await h.feed(
            AssignmentChanged(
                assignment_id=a.assignment,
                kind="subject_teacher",
                teacher_id=uuid.uuid4(),
                teacher_name="Người Lạ",
                class_id=class_uuid(B_CLASS, B),
                class_name=B_CLASS,
                grade_level=10,
                subject_code="TOAN",
                school_year=YEAR,
                active=True,
            ),
            B,
        ),
        "renamed": await h.feed(
            ClassRenamed(class_id=class_id, school_id=A, old_name=A_CLASS, new_name="10A9", school_year=YEAR),
            B,
        ),
        "signed": await h.feed(
            SigningCompleted(
                request_id=world.objects["request"],
                subject_id=uuid.UUID(a.sheets[1]),
                document_id=uuid.uuid4(),
                sha256="a" * 64,
                signer_user_id=a.teacher,
                signer_role="subject_teacher",
                certificate_sha256="b" * 64,
                signed_at=datetime.now(UTC),
            ),
            B,
        ),
        "school": await h.feed(school_changed(A, name="Trường Bị Đổi Tên"), B),
    }
    after = await _a_state(h, world)
    changed = {key: (before[key], after[key]) for key in before if before[key] != after[key]}
    refused = {"enrolled", "assignment", "school", "renamed"}  # ids or a school not the envelope's
    not_refused = {key: outcomes[key] for key in refused if outcomes[key] is not Outcome.dead_lettered}
    assert not changed, changed
    assert not not_refused, not_refused
    async with h.app.state.runtime.db.transaction() as session:
        facts = await h.app.state.grades.school.get(session, A)
    assert facts is not None
    assert facts.name == f"Trường {A}"
