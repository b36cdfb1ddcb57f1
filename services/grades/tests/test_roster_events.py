"""Grades' roster follows identity's structure changes, through the real consumers and inbox: a
renamed class keeps its sheets, plan, conduct and results; a student deleted as a mistake leaves
the roster and open sheets; an ended teaching assignment with no replacement leaves the sheet
with no teacher until a new one arrives."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from sqlalchemy import func, select

from hbs_grades.models import ClassSubject, ConductChange, Enrolment, SheetEntry, Student, TermRecord
from hbs_shared.events.envelope import make_envelope
from hbs_shared.events.identity import ClassRenamed, StudentDeleted
from hbs_shared.messaging.consumer import Outcome
from hbs_shared.service import ServiceRuntime

from .conftest import SCHOOL, YEAR, GradesHarness

pytestmark = [pytest.mark.db, pytest.mark.broker]
NAMES = ["Nguyễn Văn An", "Trần Thị Bình", "Lê Minh Châu"]


async def _sheets(h: GradesHarness, who: uuid.UUID) -> list[dict[str, Any]]:
    response = await h.client.get("/sheets", headers=h.headers(who))
    assert response.status_code == 200, response.text
    return list(response.json())


async def _count(h: GradesHarness, statement: Any) -> int:
    runtime: ServiceRuntime = h.app.state.runtime
    async with runtime.db.transaction() as session:
        return int((await session.execute(statement)).scalar_one())


async def _fill(
    h: GradesHarness, teacher: uuid.UUID, sheet: dict[str, Any], students: list[uuid.UUID]
) -> None:
    rows = [
        {"student_id": str(s), "regular": ["8"] * sheet["regular_count"], "midterm": "8", "final": "9"}
        for s in students
    ]
    saved = await h.client.put(
        f"/sheets/{sheet['id']}/scores",
        headers=h.headers(teacher),
        json={"expected_version": sheet["version"], "rows": rows},
    )
    assert saved.status_code == 200, saved.text


async def test_a_renamed_class_keeps_sheets_plan_conduct_and_results(grades: GradesHarness) -> None:
    teacher, homeroom = uuid.uuid4(), uuid.uuid4()
    old = f"10R-{uuid.uuid4().hex[:5]}"
    new = f"10S-{uuid.uuid4().hex[:5]}"
    class_id = uuid.uuid5(uuid.NAMESPACE_URL, old)
    await grades.assign(teacher, old, "VAT_LI")
    await grades.assign(homeroom, old, None, kind="homeroom_teacher")
    students = await grades.enrol(old, NAMES)
    hk1 = next(s for s in await _sheets(grades, teacher) if s["term"] == "HK1")
    await _fill(grades, teacher, hk1, students)
    before = {s["id"]: s for s in await _sheets(grades, teacher)}
    conduct = await grades.client.put(
        f"/classes/{old}/conduct",
        headers=grades.headers(homeroom, roles=("homeroom_teacher",)),
        json={"rows": [{"student_id": str(students[0]), "term": "HK1", "conduct": "T"}]},
    )
    assert conduct.status_code == 200, conduct.text

    event = ClassRenamed(class_id=class_id, school_id=SCHOOL, school_year=YEAR, old_name=old, new_name=new)
    raw = json.dumps(make_envelope(event, SCHOOL).model_dump(mode="json")).encode()
    consumer = next(c for c in grades.app.state.runtime.consumers if c.topic == event.topic)
    assert await consumer.process(raw) is Outcome.applied
    assert await consumer.process(raw) is Outcome.duplicate  # redelivered: the inbox knows it

    after = {s["id"]: s for s in await _sheets(grades, teacher)}
    assert after.keys() == before.keys()  # the same sheets, versions and teacher
    assert {s["class_name"] for s in after.values()} == {new}
    assert {i: (s["version"], s["teacher_id"]) for i, s in after.items()} == {
        i: (s["version"], s["teacher_id"]) for i, s in before.items()
    }
    view = (await grades.client.get(f"/sheets/{hk1['id']}/scores", headers=grades.headers(teacher))).json()
    assert [r["full_name"] for r in view["rows"]] == ["Nguyễn Văn An", "Trần Thị Bình", "Lê Minh Châu"]
    assert {r["result"] for r in view["rows"]} == {"8.4"}  # (3·8 + 2·8 + 3·9) / 8 = 8.375

    homeroom_headers = grades.headers(homeroom, roles=("homeroom_teacher",))
    conduct_now = (await grades.client.get(f"/classes/{new}/conduct", headers=homeroom_headers)).json()
    first = next(row for row in conduct_now if row["student_id"] == str(students[0]))
    assert first["terms"]["HK1"]["conduct"] == "T"
    log = (await grades.client.get(f"/classes/{new}/conduct/changes", headers=homeroom_headers)).json()
    assert len(log) == 1
    plan = (await grades.client.get(f"/classes/{new}/plan", headers=homeroom_headers)).json()
    assert [line["subject_code"] for line in plan] == ["VAT_LI"]
    results = await grades.client.get(f"/results/classes/{new}", headers=homeroom_headers)
    assert results.status_code == 200, results.text
    assert len(results.json()["students"]) == 3

    # An enrolment identity made before the rename, consumed after it, lands in the renamed class.
    await grades.enrol(old, ["Phan Văn Muộn"], class_id=class_id)
    view = (await grades.client.get(f"/sheets/{hk1['id']}/scores", headers=grades.headers(teacher))).json()
    assert "Phan Văn Muộn" in [r["full_name"] for r in view["rows"]]

    for model in (Enrolment, ClassSubject, ConductChange):
        left_behind = select(func.count()).select_from(model).where(model.class_name == old)
        assert await _count(grades, left_behind) == 0, model.__name__


async def test_a_deleted_student_leaves_the_roster_and_open_sheets(grades: GradesHarness) -> None:
    teacher = uuid.uuid4()
    name = f"10D-{uuid.uuid4().hex[:5]}"
    await grades.assign(teacher, name, "VAT_LI")
    students = await grades.enrol(name, NAMES)
    sheet = next(s for s in await _sheets(grades, teacher) if s["term"] == "HK1")
    await _fill(grades, teacher, sheet, students)
    mistake = students[1]

    event = StudentDeleted(
        student_id=mistake, class_id=uuid.uuid5(uuid.NAMESPACE_URL, name), school_year=YEAR
    )
    assert await grades.feed(event) is Outcome.applied
    view = (await grades.client.get(f"/sheets/{sheet['id']}/scores", headers=grades.headers(teacher))).json()
    assert [r["full_name"] for r in view["rows"]] == ["Nguyễn Văn An", "Lê Minh Châu"]
    for model in (Student, Enrolment, TermRecord):
        key = model.id if model is Student else model.student_id  # type: ignore[attr-defined]
        assert await _count(grades, select(func.count()).select_from(model).where(key == mistake)) == 0
    assert (
        await _count(
            grades, select(func.count()).select_from(SheetEntry).where(SheetEntry.student_id == mistake)
        )
        == 0
    )
    assert (
        await _count(
            grades,
            select(func.count()).select_from(SheetEntry).where(SheetEntry.sheet_id == uuid.UUID(sheet["id"])),
        )
        == 2
    )


async def test_an_ended_assignment_with_no_replacement_leaves_the_sheet_without_a_teacher(
    grades: GradesHarness,
) -> None:
    old_teacher, new_teacher = uuid.uuid4(), uuid.uuid4()
    name = f"10E-{uuid.uuid4().hex[:5]}"
    assignment = uuid.uuid4()
    await grades.assign(old_teacher, name, "VAT_LI", assignment_id=assignment)
    await grades.enrol(name, NAMES)
    sheet = next(s for s in await _sheets(grades, old_teacher) if s["term"] == "HK1")

    assert (
        await grades.assign(old_teacher, name, "VAT_LI", assignment_id=assignment, active=False)
        is Outcome.applied
    )
    assert await _sheets(grades, old_teacher) == []
    board = grades.headers(uuid.uuid4(), roles=("principal",))
    orphan = (await grades.client.get(f"/sheets/{sheet['id']}", headers=board)).json()
    assert (orphan["teacher_id"], orphan["teacher_name"]) == (None, "Chưa phân công")
    refused = await grades.client.put(
        f"/sheets/{sheet['id']}/scores",
        headers=grades.headers(old_teacher),
        json={"expected_version": orphan["version"], "rows": []},
    )
    assert refused.status_code == 404

    await grades.assign(new_teacher, name, "VAT_LI", teacher_name="Đỗ Văn Mới")
    taken = (await grades.client.get(f"/sheets/{sheet['id']}", headers=board)).json()
    assert (taken["teacher_id"], taken["teacher_name"]) == (str(new_teacher), "Đỗ Văn Mới")
    assert {s["id"] for s in await _sheets(grades, new_teacher)} >= {sheet["id"]}


async def test_ending_the_old_assignment_after_its_replacement_keeps_the_new_teacher(
    grades: GradesHarness,
) -> None:
    old_teacher, new_teacher = uuid.uuid4(), uuid.uuid4()
    name = f"10F-{uuid.uuid4().hex[:5]}"
    old_assignment = uuid.uuid4()
    await grades.assign(old_teacher, name, "VAT_LI", assignment_id=old_assignment)
    await grades.assign(new_teacher, name, "VAT_LI", teacher_name="Đỗ Văn Mới")
    await grades.assign(old_teacher, name, "VAT_LI", assignment_id=old_assignment, active=False)
    sheets = await _sheets(grades, new_teacher)
    assert [(s["teacher_id"], s["teacher_name"]) for s in sheets] == [(str(new_teacher), "Đỗ Văn Mới")] * 2
