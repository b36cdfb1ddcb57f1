"""The province's progress (Sở GD&ĐT, issue 14): `GET /province/progress` gives each school grades
knows its current year's classes, score sheets and year records as counts by state, to the
province's roles only, with no person's name or id in it."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import update

from hbs_grades.models import RecordState, ScoreSheet, SheetState, YearRecord
from hbs_shared.messaging.consumer import Outcome
from hbs_shared.schools import PROVINCE_SCOPE

from .conftest import YEAR, GradesHarness, school_changed

pytestmark = [pytest.mark.db, pytest.mark.broker]

NORTH = "thpt-tinh-bac"
SOUTH = "thpt-tinh-nam"
EMPTY = "thpt-tinh-moi"


def _province(h: GradesHarness, role: str = "province_officer") -> dict[str, str]:
    return h.headers(uuid.uuid4(), "Chuyên viên Sở", (role,), school_id=PROVINCE_SCOPE)


async def _records(
    h: GradesHarness, school_id: str, class_name: str, states: list[RecordState], year: str
) -> None:
    async with h.app.state.runtime.db.transaction() as session:
        for state in states:
            session.add(
                YearRecord(
                    school_id=school_id,
                    school_year=year,
                    class_name=class_name,
                    student_id=uuid.uuid4(),
                    state=state.value,
                )
            )


@pytest.fixture(scope="module")
async def schools(grades: GradesHarness) -> GradesHarness:
    """North: two classes, one teacher's sheets (HK1 signed), three records; South: one class;
    a third school with no year yet; and last year's rows in North, which must not count."""
    for school_id, name in ((NORTH, "Trường THPT Bắc"), (SOUTH, "Trường THPT Nam")):
        assert await grades.feed(school_changed(school_id, name=name), school_id) is Outcome.applied
    assert await grades.feed(school_changed(EMPTY, name="Trường THPT Mới", current_year=None), EMPTY) is (
        Outcome.applied
    )
    await grades.enrol("10A1", ["Nguyễn Văn An", "Trần Thị Bình"], school_id=NORTH)
    await grades.enrol("10A2", ["Lê Văn Cường"], school_id=NORTH)
    await grades.assign(uuid.uuid4(), "10A1", "TOAN", school_id=NORTH)
    await grades.enrol("10B1", ["Phạm Thị Dung"], school_id=SOUTH)
    await grades.assign(uuid.uuid4(), "10B1", "NGU_VAN", school_id=SOUTH)
    await grades.assign(uuid.uuid4(), "10B1", "TOAN", school_id=SOUTH)
    async with grades.app.state.runtime.db.transaction() as session:
        await session.execute(
            update(ScoreSheet)
            .where(ScoreSheet.school_id == NORTH, ScoreSheet.term == "HK1")
            .values(state=SheetState.signed.value)
        )
    await _records(grades, NORTH, "10A1", [RecordState.draft, RecordState.draft, RecordState.approved], YEAR)
    await _records(grades, NORTH, "10A1", [RecordState.approved] * 5, "2025-2026")
    await _records(grades, SOUTH, "10B1", [RecordState.homeroom_signed], YEAR)
    return grades


async def test_province_progress_counts_each_school_in_its_current_year_by_state(
    schools: GradesHarness,
) -> None:
    answer = await schools.client.get("/province/progress", headers=_province(schools))
    assert answer.status_code == 200, answer.text
    by_id = {school["school_id"]: school for school in answer.json()["schools"]}
    zero_sheets = {state.value: 0 for state in SheetState}
    zero_records = {state.value: 0 for state in RecordState}
    assert by_id[NORTH] == {
        "school_id": NORTH,
        "name": "Trường THPT Bắc",
        "school_year": YEAR,
        "classes": 2,
        "sheets": {**zero_sheets, "signed": 1, "open": 1},
        "records": {**zero_records, "draft": 2, "approved": 1},
    }
    assert by_id[SOUTH] == {
        "school_id": SOUTH,
        "name": "Trường THPT Nam",
        "school_year": YEAR,
        "classes": 1,
        "sheets": {**zero_sheets, "open": 4},
        "records": {**zero_records, "homeroom_signed": 1},
    }
    assert by_id[EMPTY] == {
        "school_id": EMPTY,
        "name": "Trường THPT Mới",
        "school_year": None,
        "classes": 0,
        "sheets": zero_sheets,
        "records": zero_records,
    }
    assert PROVINCE_SCOPE not in by_id


async def test_province_progress_names_no_person(schools: GradesHarness) -> None:
    answer = await schools.client.get("/province/progress", headers=_province(schools, "province_admin"))
    assert answer.status_code == 200, answer.text
    for person in ("Nguyễn Văn An", "Trần Thị Bình", "Phạm Thị Dung", "Giáo viên"):
        assert person not in answer.text
    assert '_id"' not in answer.text.replace('"school_id"', "")


@pytest.mark.parametrize(
    "roles",
    [
        ("principal",),
        ("vice_principal",),
        ("office_admin",),
        ("system_admin",),
        ("subject_teacher", "homeroom_teacher"),
        ("parent",),
        ("student",),
    ],
)
async def test_province_progress_refuses_every_school_role(
    schools: GradesHarness, roles: tuple[str, ...]
) -> None:
    answer = await schools.client.get(
        "/province/progress", headers=schools.headers(uuid.uuid4(), roles=roles, school_id=NORTH)
    )
    assert answer.status_code == 403, answer.text
    assert "schools" not in answer.json()


async def test_province_progress_needs_a_token(schools: GradesHarness) -> None:
    assert (await schools.client.get("/province/progress")).status_code == 401
