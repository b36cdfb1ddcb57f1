"""The year record's front page (DOMAIN §3b) comes from identity's student events through grades'
real consumer and inbox: an enrolment brings the personal data, an update replaces it, a replay
changes nothing, and an event written before the front-page fields still applies without
blanking what grades already holds."""

from __future__ import annotations

import json
import uuid
from datetime import date
from typing import Any

import pytest
from sqlalchemy import text

from hbs_grades.models import Student
from hbs_shared.db import Database
from hbs_shared.events.envelope import EventPayload, EventRegistry, decode_event, make_envelope
from hbs_shared.events.identity import FRONT_PAGE_FIELDS, StudentEnrolled, StudentUpdated
from hbs_shared.messaging.consumer import Outcome

from .conftest import SCHOOL, YEAR, GradesHarness
from .test_migrations import migrate

HOMEROOM_ROLES = ("subject_teacher", "homeroom_teacher")
SELECT_FRONT_PAGE = text(
    "SELECT birthplace, ethnicity, nationality, address, father_name, mother_name, guardian_name,"
    " policy_group FROM students"
)

FRONT_PAGE: dict[str, str] = {
    "birthplace": "Xã Mường Lạn, Sốp Cộp, Sơn La",
    "ethnicity": "Thái",
    "nationality": "Việt Nam",
    "address": "Bản Huổi Khương, xã Mường Lạn",
    "father_name": "Lò Văn Sinh",
    "mother_name": "Quàng Thị Én",
    "guardian_name": "",
    "policy_group": "Con hộ nghèo",
}


def _raw(payload: EventPayload, *, old_shape: bool = False) -> bytes:
    """The message as identity writes it; `old_shape`: as written before the front-page fields."""
    envelope = make_envelope(payload, SCHOOL).model_dump(mode="json")
    if old_shape:
        envelope["payload"] = {k: v for k, v in envelope["payload"].items() if k not in FRONT_PAGE_FIELDS}
    return json.dumps(envelope).encode()


async def _deliver(h: GradesHarness, payload: EventPayload, raw: bytes) -> Outcome:
    consumer = next(c for c in h.app.state.runtime.consumers if c.topic == payload.topic)
    outcome: Outcome = await consumer.process(raw)
    return outcome


def _enrolled(student_id: uuid.UUID, class_name: str, **front_page: str) -> StudentEnrolled:
    return StudentEnrolled(
        student_id=student_id,
        national_id="034011112222",
        full_name="Lò Thị Mai",
        date_of_birth=date(2011, 5, 2),
        gender="female",
        class_id=uuid.uuid5(uuid.NAMESPACE_URL, class_name),
        class_name=class_name,
        grade_level=10,
        school_year=YEAR,
        enrolled_on=date(2026, 9, 5),
        **front_page,
    )


def _updated(student_id: uuid.UUID, version: int, full_name: str, **front_page: str) -> StudentUpdated:
    return StudentUpdated(
        student_id=student_id,
        national_id="034011112222",
        full_name=full_name,
        date_of_birth=date(2011, 5, 2),
        gender="female",
        changed_fields=["full_name", *front_page],
        personal_data_version=version,
        **front_page,
    )


async def _front_page_of_record(h: GradesHarness, class_name: str, homeroom: uuid.UUID) -> dict[str, Any]:
    """The student's personal data in the year record's content as it would be signed."""
    headers = h.headers(homeroom, "Lê Thị Chủ Nhiệm", HOMEROOM_ROLES)
    listed = await h.client.get(f"/records/classes/{class_name}", headers=headers)
    assert listed.status_code == 200, listed.text
    (record,) = listed.json()["records"]
    detail = await h.client.get(f"/records/{record['id']}", headers=headers)
    assert detail.status_code == 200, detail.text
    return dict(detail.json()["content"]["student"])


async def _roster_row(h: GradesHarness, student_id: uuid.UUID) -> dict[str, Any]:
    async with h.app.state.runtime.db.transaction() as session:
        student = await session.get(Student, student_id)
        assert student is not None
        return {name: getattr(student, name) for name in ("full_name", *FRONT_PAGE_FIELDS)}


async def _class_with_homeroom(h: GradesHarness, prefix: str) -> tuple[str, uuid.UUID]:
    class_name = f"{prefix}-{uuid.uuid4().hex[:5]}"
    homeroom = uuid.uuid4()
    outcome = await h.assign(
        homeroom, class_name, None, kind="homeroom_teacher", teacher_name="Lê Thị Chủ Nhiệm"
    )
    assert outcome is Outcome.applied
    return class_name, homeroom


def test_an_event_written_before_the_front_page_fields_still_validates() -> None:
    registry = EventRegistry(StudentEnrolled, StudentUpdated)
    for payload in (
        _enrolled(uuid.uuid4(), "10A1", **FRONT_PAGE),
        _updated(uuid.uuid4(), 2, "Lò Thị Mai", **FRONT_PAGE),
    ):
        _, decoded = decode_event(_raw(payload, old_shape=True), registry)
        assert decoded.event_version == 1
        assert not set(FRONT_PAGE_FIELDS) & decoded.model_fields_set
        assert decoded.model_dump(include=set(FRONT_PAGE_FIELDS)) == {
            **dict.fromkeys(FRONT_PAGE_FIELDS, ""),
            "nationality": "Việt Nam",
        }


@pytest.mark.db
@pytest.mark.broker
async def test_enrolled_then_updated_reaches_the_year_record(grades: GradesHarness) -> None:
    class_name, homeroom = await _class_with_homeroom(grades, "10P")
    student_id = uuid.uuid4()
    enrolled = _enrolled(student_id, class_name, **FRONT_PAGE)
    assert await _deliver(grades, enrolled, _raw(enrolled)) is Outcome.applied

    student = await _front_page_of_record(grades, class_name, homeroom)
    assert {k: student[k] for k in ("full_name", *FRONT_PAGE_FIELDS)} == {
        "full_name": "Lò Thị Mai",
        **FRONT_PAGE,
    }

    changes = {"father_name": "", "guardian_name": "Lò Văn Pấng", "policy_group": "Con thương binh"}
    updated = _updated(student_id, 2, "Lò Thị Mai Anh", **{**FRONT_PAGE, **changes})
    raw = _raw(updated)
    assert await _deliver(grades, updated, raw) is Outcome.applied
    expected = {"full_name": "Lò Thị Mai Anh", **FRONT_PAGE, **changes}
    student = await _front_page_of_record(grades, class_name, homeroom)
    assert {k: student[k] for k in ("full_name", *FRONT_PAGE_FIELDS)} == expected
    assert (student["national_id"], student["gender"], student["date_of_birth"]) == (
        "034011112222",
        "female",
        "2011-05-02",
    )

    # Redelivered: the inbox knows it and nothing changes.
    assert await _deliver(grades, updated, raw) is Outcome.duplicate
    assert await _roster_row(grades, student_id) == expected


@pytest.mark.db
@pytest.mark.broker
async def test_old_shape_events_apply_and_keep_what_grades_holds(grades: GradesHarness) -> None:
    # An old-shape update after a new-shape enrolment: the name changes, the front page stays.
    class_name, homeroom = await _class_with_homeroom(grades, "10Q")
    kept = uuid.uuid4()
    enrolled = _enrolled(kept, class_name, **FRONT_PAGE)
    assert await _deliver(grades, enrolled, _raw(enrolled)) is Outcome.applied
    old_update = _updated(kept, 2, "Lò Thị Mai Anh")
    assert await _deliver(grades, old_update, _raw(old_update, old_shape=True)) is Outcome.applied
    assert await _roster_row(grades, kept) == {"full_name": "Lò Thị Mai Anh", **FRONT_PAGE}
    student = await _front_page_of_record(grades, class_name, homeroom)
    assert {k: student[k] for k in FRONT_PAGE_FIELDS} == FRONT_PAGE

    # An old-shape enrolment of a student grades never saw: the defaults, and the record assembles.
    other_class, other_homeroom = await _class_with_homeroom(grades, "10Q")
    fresh = uuid.uuid4()
    old_enrolment = _enrolled(fresh, other_class)
    assert await _deliver(grades, old_enrolment, _raw(old_enrolment, old_shape=True)) is Outcome.applied
    student = await _front_page_of_record(grades, other_class, other_homeroom)
    assert {k: student[k] for k in FRONT_PAGE_FIELDS} == {
        **dict.fromkeys(FRONT_PAGE_FIELDS, ""),
        "nationality": "Việt Nam",
    }
    # Identity's next update fills it in.
    filled = _updated(fresh, 2, "Lò Thị Mai", **FRONT_PAGE)
    assert await _deliver(grades, filled, _raw(filled)) is Outcome.applied
    student = await _front_page_of_record(grades, other_class, other_homeroom)
    assert {k: student[k] for k in FRONT_PAGE_FIELDS} == FRONT_PAGE


@pytest.mark.db
async def test_0005_gives_known_students_empty_front_pages_and_runs_both_ways(databases: Any) -> None:
    db = Database(databases.new("grades"))
    try:
        await migrate(db, "0004")
        student_id = uuid.uuid4()
        async with db.engine.begin() as connection:
            await connection.execute(
                text(
                    "INSERT INTO students (id, school_id, national_id, full_name, date_of_birth, gender,"
                    " disability) VALUES (:id, :school, '034011112222', 'Lò Thị Mai', :born, 'female', false)"
                ),
                {
                    "id": student_id.hex if db.is_sqlite else student_id,
                    "school": SCHOOL,
                    "born": date(2011, 5, 2),
                },
            )
        await migrate(db, "0005")
        async with db.engine.begin() as connection:
            row = (await connection.execute(SELECT_FRONT_PAGE)).one()
        assert dict(zip(FRONT_PAGE_FIELDS, row, strict=True)) == {
            **dict.fromkeys(FRONT_PAGE_FIELDS, ""),
            "nationality": "Việt Nam",
        }
        await migrate(db, "0004", down=True)
        async with db.engine.begin() as connection:
            names = (await connection.execute(text("SELECT full_name FROM students"))).scalars().all()
        assert names == ["Lò Thị Mai"]  # the roster survives the way down
        await migrate(db, "head")
    finally:
        await db.dispose()
