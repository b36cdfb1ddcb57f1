"""Score entry on the sheet (issue 4, Entry): assigned teacher only, validation naming the cell,
missing assessments before submit, optimistic versions, audit, the signing request v1 / v2."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import select

from hbs_devtools.demo import SECOND_SCHOOL, demo_person
from hbs_devtools.statements import statements as sql_statements
from hbs_shared.messaging.consumer import Outcome
from hbs_shared.messaging.tables import outbox

from .conftest import GradesHarness, school_changed

pytestmark = [pytest.mark.db, pytest.mark.broker]

TEACHER = uuid.uuid5(uuid.NAMESPACE_URL, "teacher/ly")
"""Teaches a new class in each test."""
NAMES = ["Nguyễn Văn An", "Trần Thị Bình", "Lê Minh Châu"]


async def sheet_of(h: GradesHarness, who: uuid.UUID, class_name: str, subject: str, term: str = "HK1") -> Any:
    sheets = (await h.client.get("/sheets", headers=h.headers(who))).json()
    return next(
        s for s in sheets if s["class_name"] == class_name and s["subject"] == subject and s["term"] == term
    )


async def test_demo_seed_makes_hk1_sheets_of_the_new_model(grades: GradesHarness) -> None:
    toan = demo_person("gv.toan")
    sheets = (await grades.client.get("/sheets", headers=grades.headers(toan.user_id))).json()
    assert sorted((s["class_name"], s["subject"], s["term"]) for s in sheets) == [
        ("10A1", "Toán", "HK1"),
        ("10A2", "Toán", "HK1"),
        ("11 Toán chuyên", "Toán", "HK1"),
    ]
    first = sheets[0]
    assert first["subject_code"] == "TOAN"
    assert first["regular_count"] == 4  # Toán: 105 periods a year
    assert first["state"] == "open"
    assert first["teacher_name"] == "Nguyễn Thị Hoa"


async def test_an_active_assignment_creates_hk1_and_hk2_sheets_once(grades: GradesHarness) -> None:
    assignment, teacher = uuid.uuid4(), uuid.uuid4()
    assert await grades.assign(teacher, "10A3", "VAT_LI", assignment_id=assignment) is Outcome.applied
    assert await grades.assign(teacher, "10A3", "VAT_LI", assignment_id=assignment) is Outcome.applied
    sheets = (await grades.client.get("/sheets", headers=grades.headers(teacher))).json()
    assert [(s["class_name"], s["subject"], s["term"], s["regular_count"]) for s in sheets] == [
        ("10A3", "Vật lí", "HK1", 3),
        ("10A3", "Vật lí", "HK2", 3),
    ]
    # An unknown subject can never be processed: dead-lettered, not retried.
    assert await grades.assign(teacher, "10A3", "LATIN") is Outcome.dead_lettered
    # A homeroom assignment makes no sheet; an inactive one neither.
    await grades.assign(teacher, "10A4", None, kind="homeroom_teacher")
    await grades.assign(teacher, "10A4", "HOA_HOC", active=False)
    assert len((await grades.client.get("/sheets", headers=grades.headers(teacher))).json()) == 2


async def test_the_demo_assignment_from_identity_keeps_the_seeded_sheet(grades: GradesHarness) -> None:
    toan = demo_person("gv.toan")
    before = await sheet_of(grades, toan.user_id, "10A1", "Toán")
    await grades.assign(toan.user_id, "10A1", "TOAN", teacher_name=toan.full_name)
    assert (await sheet_of(grades, toan.user_id, "10A1", "Toán"))["id"] == before["id"]
    assert (await sheet_of(grades, toan.user_id, "10A1", "Toán", "HK2"))["state"] == "open"


async def prepared(h: GradesHarness, subject: str = "VAT_LI") -> tuple[Any, list[uuid.UUID]]:
    """A fresh class (its own name) taught by TEACHER, with three students."""
    class_name = f"10B-{uuid.uuid4().hex[:6]}"
    await h.assign(TEACHER, class_name, subject)
    students = await h.enrol(class_name, NAMES)
    name = {"VAT_LI": "Vật lí", "GDTC": "Giáo dục thể chất"}[subject]
    return await sheet_of(h, TEACHER, class_name, name), students


async def test_scores_saved_with_comma_or_point_and_results_computed(grades: GradesHarness) -> None:
    sheet, students = await prepared(grades)
    me = grades.headers(TEACHER)
    view = (await grades.client.get(f"/sheets/{sheet['id']}/scores", headers=me)).json()
    assert [r["full_name"] for r in view["rows"]] == ["Nguyễn Văn An", "Trần Thị Bình", "Lê Minh Châu"]
    assert view["rows"][0]["missing"] == ["regular_1", "regular_2", "regular_3", "midterm", "final"]

    saved = await grades.client.put(
        f"/sheets/{sheet['id']}/scores",
        headers=me,
        json={
            "expected_version": sheet["version"],
            "rows": [
                {"student_id": str(students[0]), "regular": ["8", "8,0", "8.0"], "midterm": "9", "final": "8"}
            ],
        },
    )
    assert saved.status_code == 200, saved.text
    body = saved.json()
    assert body["sheet"]["version"] == sheet["version"] + 1
    row = next(r for r in body["rows"] if r["student_id"] == str(students[0]))
    assert row["regular"] == ["8", "8", "8"]
    assert row["result"] == "8.3"  # 66 / 8 = 8.25 → 8.3, half up
    assert row["missing"] == []
    assert not body["complete"]


async def test_a_bad_cell_is_refused_naming_student_and_column_and_nothing_is_stored(
    grades: GradesHarness,
) -> None:
    sheet, students = await prepared(grades)
    me = grades.headers(TEACHER)
    refused = await grades.client.put(
        f"/sheets/{sheet['id']}/scores",
        headers=me,
        json={
            "expected_version": sheet["version"],
            "rows": [
                {"student_id": str(students[0]), "midterm": "7"},
                {"student_id": str(students[1]), "regular": ["8", "10,5"], "final": "8.25"},
            ],
        },
    )
    assert refused.status_code == 422
    problem = refused.json()
    assert refused.headers["content-type"] == "application/problem+json"
    assert problem["field"] == "rows[1].regular[1]"
    errors = {(e["full_name"], e["column"]) for e in problem["errors"]}
    assert errors == {("Trần Thị Bình", "regular_2"), ("Trần Thị Bình", "final")}
    view = (await grades.client.get(f"/sheets/{sheet['id']}/scores", headers=me)).json()
    assert view["sheet"]["version"] == sheet["version"]
    assert all(r["midterm"] is None for r in view["rows"])


async def test_only_the_assigned_teacher_writes(grades: GradesHarness) -> None:
    sheet, students = await prepared(grades)
    body = {"expected_version": sheet["version"], "rows": [{"student_id": str(students[0]), "midterm": "7"}]}
    colleague = await grades.client.put(
        f"/sheets/{sheet['id']}/scores", headers=grades.headers(uuid.uuid4()), json=body
    )
    assert colleague.status_code == 404
    principal = grades.headers(uuid.uuid4(), roles=("principal",))
    assert (await grades.client.get(f"/sheets/{sheet['id']}/scores", headers=principal)).status_code == 200
    overseer = await grades.client.put(f"/sheets/{sheet['id']}/scores", headers=principal, json=body)
    assert overseer.status_code == 403


async def test_a_stale_version_is_a_conflict_naming_expected_version(grades: GradesHarness) -> None:
    sheet, students = await prepared(grades)
    me = grades.headers(TEACHER)
    url = f"/sheets/{sheet['id']}/scores"
    first = {"expected_version": sheet["version"], "rows": [{"student_id": str(students[0]), "midterm": "7"}]}
    second = {
        "expected_version": sheet["version"],
        "rows": [{"student_id": str(students[1]), "midterm": "6"}],
    }
    assert (await grades.client.put(url, headers=me, json=first)).status_code == 200
    conflict = await grades.client.put(url, headers=me, json=second)
    assert conflict.status_code == 409
    assert conflict.json()["field"] == "expected_version"
    assert conflict.json()["current_version"] == sheet["version"] + 1


async def test_submit_reports_missing_assessments_per_student_then_changes_need_a_reason(
    grades: GradesHarness,
) -> None:
    sheet, students = await prepared(grades)
    me = grades.headers(TEACHER)
    url = f"/sheets/{sheet['id']}/scores"
    full = {"regular": ["7", "7", "7"], "midterm": "7", "final": "7"}
    rows = [{"student_id": str(s), **full} for s in students[:2]]
    saved = await grades.client.put(
        url, headers=me, json={"expected_version": sheet["version"], "rows": rows}
    )
    version = saved.json()["sheet"]["version"]

    refused = await grades.client.post(
        f"/sheets/{sheet['id']}/submit", headers=me, json={"expected_version": version}
    )
    assert refused.status_code == 422
    assert refused.json()["field"] == "rows"
    assert refused.json()["missing"] == [
        {
            "student_id": str(students[2]),
            "full_name": "Lê Minh Châu",
            "columns": ["regular_1", "regular_2", "regular_3", "midterm", "final"],
            "column_labels": ["ĐĐGtx 1", "ĐĐGtx 2", "ĐĐGtx 3", "ĐĐGgk", "ĐĐGck"],
        }
    ]
    # "Not assessed" is only for a student with a disability (none here): refused, cell named.
    refused = await grades.client.put(
        url,
        headers=me,
        json={
            "expected_version": version,
            "rows": [{"student_id": str(students[2]), "status": "not_assessed"}],
        },
    )
    assert refused.status_code == 422
    assert refused.json()["field"] == "rows[0].status"
    # Exempt (miễn học): nothing is missing for that student.
    saved = await grades.client.put(
        url,
        headers=me,
        json={"expected_version": version, "rows": [{"student_id": str(students[2]), "status": "exempt"}]},
    )
    version = saved.json()["sheet"]["version"]
    submitted = await grades.client.post(
        f"/sheets/{sheet['id']}/submit", headers=me, json={"expected_version": version}
    )
    assert submitted.status_code == 200, submitted.text
    version = submitted.json()["version"]

    change = {"expected_version": version, "rows": [{"student_id": str(students[0]), "final": "9,5"}]}
    no_reason = await grades.client.put(url, headers=me, json=change)
    assert no_reason.status_code == 422
    assert no_reason.json()["field"] == "reason"
    with_reason = await grades.client.put(url, headers=me, json={**change, "reason": "chấm phúc khảo"})
    assert with_reason.status_code == 200

    changes = (await grades.client.get(f"/sheets/{sheet['id']}/changes", headers=me)).json()
    last = changes[-1]
    assert (last["column"], last["old_value"], last["new_value"], last["reason"]) == (
        "final",
        "7",
        "9.5",
        "chấm phúc khảo",
    )
    assert last["sheet_state"] == "submitted"
    assert last["changed_by"] == str(TEACHER)
    assert len(changes) == 2 * 5 + 1 + 1


SAVE_TABLES = ("score_sheets", "sheet_entries", "entry_changes", "time_windows", "enrolments")
"""What a save reads and writes."""


async def test_a_save_costs_the_same_few_statements_whatever_the_rows(grades: GradesHarness) -> None:
    """Issue 12: the sheet is read once per save, the class list with its cells in one query, and
    no statement is sent per row; on PostgreSQL new and changed lines go as one statement and the
    change log as one (no executemany). Every cell and change is still stored as sent."""
    sheet, students = await prepared(grades)
    me = grades.headers(TEACHER)
    url = f"/sheets/{sheet['id']}/scores"
    engine = grades.app.state.runtime.db.engine.sync_engine
    postgres = engine.dialect.name == "postgresql"
    cells = {"regular": ["7", "8", "9"], "midterm": "6,5", "final": "8"}
    two = [{"student_id": str(s), **cells} for s in students[:2]]
    first = {"expected_version": sheet["version"], "rows": two}
    with sql_statements(engine) as all_sent:
        saved = await grades.client.put(url, headers=me, json=first)
        assert saved.status_code == 200, saved.text
        all_sent.clear()
        # Two stored lines change, a third is new: an insert and updates in the same save.
        second = {"expected_version": saved.json()["sheet"]["version"], "rows": [
            {"student_id": str(students[0]), "final": "9"},
            {"student_id": str(students[1]), "regular": ["7", "5", "9"], "comment": "Tiến bộ"},
            {"student_id": str(students[2]), "regular": ["10", None, None], "midterm": "4"},
        ]}  # fmt: skip
        saved = await grades.client.put(url, headers=me, json=second)
        assert saved.status_code == 200, saved.text
    sent = [(s.sql, s.executemany) for s in all_sent if any(table in s.sql for table in SAVE_TABLES)]
    statements = [statement for statement, _ in sent]
    assert sum(s.lstrip().startswith("SELECT") and "FROM score_sheets" in s for s in statements) == 1
    assert len(statements) == (6 if postgres else 7), statements
    if postgres:
        assert not any(many for _, many in sent), "a PostgreSQL save sends no executemany"
        assert sum("sheet_entries" in s and not s.lstrip().startswith("SELECT") for s in statements) == 1

    rows = {r["student_id"]: r for r in saved.json()["rows"]}
    assert rows[str(students[0])]["final"] == "9"
    assert rows[str(students[1])]["regular"] == ["7", "5", "9"]
    assert rows[str(students[1])]["comment"] == "Tiến bộ"
    assert (rows[str(students[2])]["regular"], rows[str(students[2])]["midterm"]) == (["10", None, None], "4")
    changes = (await grades.client.get(f"/sheets/{sheet['id']}/changes", headers=me)).json()
    last = {(c["student_id"], c["column"]): (c["old_value"], c["new_value"]) for c in changes[-5:]}
    assert last == {
        (str(students[0]), "final"): ("8", "9"),
        (str(students[1]), "regular_2"): ("8", "5"),
        (str(students[1]), "comment"): (None, "Tiến bộ"),
        (str(students[2]), "regular_1"): (None, "10"),
        (str(students[2]), "midterm"): (None, "4"),
    }
    assert {c["changed_by"] for c in changes} == {str(TEACHER)}
    assert {c["sheet_version"] for c in changes[-5:]} == {saved.json()["sheet"]["version"]}


async def test_a_new_connections_first_save_asks_the_server_for_no_type(
    grades: GradesHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 12: asyncpg introspects every array type but `text[]` on each new connection (a
    catalog query of 20–30 ms on the server, three round trips), so the save's arrays are text."""
    engine = grades.app.state.runtime.db.engine
    if engine.dialect.name != "postgresql":
        pytest.skip("asyncpg's type introspection is PostgreSQL's")
    from asyncpg.connection import Connection

    introspected: list[object] = []
    introspect = Connection._introspect_types

    async def spy(self: Connection, types: Any, timeout: Any) -> Any:
        introspected.append(types)
        return await introspect(self, types, timeout)

    sheet, students = await prepared(grades)
    await engine.dispose()  # the next save opens a new connection
    monkeypatch.setattr(Connection, "_introspect_types", spy)
    rows = [
        {"student_id": str(s), "regular": ["7", "8", "9"], "midterm": "6,5", "final": "8"} for s in students
    ]
    saved = await grades.client.put(
        f"/sheets/{sheet['id']}/scores",
        headers=grades.headers(TEACHER),
        json={"expected_version": sheet["version"], "rows": rows},
    )
    assert saved.status_code == 200, saved.text
    assert introspected == []
    changes = (
        await grades.client.get(f"/sheets/{sheet['id']}/changes", headers=grades.headers(TEACHER))
    ).json()
    assert {(c["student_id"], c["column"], c["new_value"]) for c in changes} >= {
        (str(students[0]), "midterm", "6.5"),
        (str(students[2]), "regular_3", "9"),
    }


async def test_comment_subject_takes_d_or_cd(grades: GradesHarness) -> None:
    sheet, students = await prepared(grades, "GDTC")
    assert sheet["assessment"] == "comment"
    me = grades.headers(TEACHER)
    url = f"/sheets/{sheet['id']}/scores"
    saved = await grades.client.put(
        url,
        headers=me,
        json={
            "expected_version": sheet["version"],
            "rows": [
                {
                    "student_id": str(students[0]),
                    "regular": ["Đ", "đạt", "D"],
                    "midterm": "Đ",
                    "final": "Đạt",
                },
                {"student_id": str(students[1]), "regular": ["Đ", "CĐ", "Đ"], "midterm": "Đ", "final": "Đ"},
            ],
        },
    )
    assert saved.status_code == 200, saved.text
    results = [r["result"] for r in saved.json()["rows"]]
    assert results[:2] == ["Đ", "CĐ"]
    bad = await grades.client.put(
        url,
        headers=me,
        json={
            "expected_version": saved.json()["sheet"]["version"],
            "rows": [{"student_id": str(students[2]), "midterm": "8"}],
        },
    )
    assert bad.status_code == 422
    assert bad.json()["field"] == "rows[0].midterm"


async def test_signing_with_an_activation_sends_v2_with_the_sheet_content(grades: GradesHarness) -> None:
    sheet, students = await prepared(grades)
    me = grades.headers(TEACHER, name="Đinh Văn Lý")
    url = f"/sheets/{sheet['id']}/scores"
    full = {"regular": ["7", "7", "7"], "midterm": "7", "final": "7.5"}
    rows = [{"student_id": str(s), **full} for s in students]
    version = (
        await grades.client.put(url, headers=me, json={"expected_version": sheet["version"], "rows": rows})
    ).json()["sheet"]["version"]
    version = (
        await grades.client.post(
            f"/sheets/{sheet['id']}/submit", headers=me, json={"expected_version": version}
        )
    ).json()["version"]
    activation = uuid.uuid4()
    signing = await grades.client.post(
        f"/sheets/{sheet['id']}/sign",
        headers=me,
        json={"expected_version": version, "activation_id": str(activation)},
    )
    assert signing.status_code == 202
    assert signing.json()["state"] == "signing"
    db = grades.app.state.runtime.db
    async with db.transaction() as session:
        rows_out = (await session.execute(select(outbox.c.body).order_by(outbox.c.id))).scalars().all()
    event = rows_out[-1]
    assert (event["type"], event["version"]) == ("grades.sheet.signing_requested", 2)
    payload = event["payload"]
    assert payload["activation_id"] == str(activation)
    content = payload["sheet"]
    assert (content["term"], content["subject_code"], content["regular_count"]) == ("HK1", "VAT_LI", 3)
    assert [r["average"] for r in content["rows"]] == ["7.2"] * 3  # (21 + 14 + 22.5) / 8 = 7.1875
    assert content["sheet_version"] == signing.json()["version"]


async def test_demo_classes_come_with_scores_so_the_demo_sheet_can_be_signed(grades: GradesHarness) -> None:
    toan = demo_person("gv.toan")
    await grades.enrol("10A2", ["Đào Thị Mai", "Hồ Văn Nam"])
    sheet = await sheet_of(grades, toan.user_id, "10A2", "Toán")
    me = grades.headers(toan.user_id, name=toan.full_name)
    view = (await grades.client.get(f"/sheets/{sheet['id']}/scores", headers=me)).json()
    assert view["complete"]
    assert all(r["result"] for r in view["rows"])
    submitted = await grades.client.post(
        f"/sheets/{sheet['id']}/submit", headers=me, json={"expected_version": sheet["version"]}
    )
    assert submitted.status_code == 200, submitted.text


async def test_the_second_demo_school_is_seeded_with_its_own_teachers_and_a_new_school_gets_no_made_up_data(
    grades: GradesHarness,
) -> None:
    second = SECOND_SCHOOL.id
    assert await grades.feed(school_changed(second, name=SECOND_SCHOOL.name), second) is Outcome.applied
    toan = SECOND_SCHOOL.person("gv.toan")
    mine = grades.headers(toan.user_id, name=toan.full_name, school_id=second)
    sheets = (await grades.client.get("/sheets", headers=mine)).json()
    assert sorted((s["class_name"], s["subject"], s["term"], s["teacher_name"]) for s in sheets) == [
        ("10A1", "Toán", "HK1", toan.full_name),
        ("10A2", "Toán", "HK1", toan.full_name),
        ("11 Toán chuyên", "Toán", "HK1", toan.full_name),
    ]
    van = SECOND_SCHOOL.person("gv.van")
    assert (
        len(
            (await grades.client.get("/sheets", headers=grades.headers(van.user_id, school_id=second))).json()
        )
        == 1
    )
    # Its classes come with scores too, as the first school's do.
    await grades.enrol("10A2", ["Đào Thị Mai", "Hồ Văn Nam"], school_id=second)
    sheet = next(s for s in sheets if s["class_name"] == "10A2")
    assert (await grades.client.get(f"/sheets/{sheet['id']}/scores", headers=mine)).json()["complete"]
    # A school the province creates is no demo school: no seeded sheet, no made-up score.
    other = "thpt-tinh-khac"
    assert await grades.feed(school_changed(other, name="Trường THPT Khác"), other) is Outcome.applied
    teacher = uuid.uuid4()
    await grades.assign(teacher, "10A2", "TOAN", school_id=other)
    await grades.enrol("10A2", ["Đào Thị Mai"], school_id=other)
    theirs = grades.headers(teacher, school_id=other)
    sheets = (await grades.client.get("/sheets", headers=theirs)).json()
    assert len(sheets) == 2
    assert not (await grades.client.get(f"/sheets/{sheets[0]['id']}/scores", headers=theirs)).json()[
        "complete"
    ]


async def test_roster_follows_moves_and_departures_and_ignores_replays(grades: GradesHarness) -> None:
    from datetime import date

    from hbs_shared.events.identity import StudentEnrolled, StudentLeft

    sheet, students = await prepared(grades)
    me = grades.headers(TEACHER)
    moved = students[0]
    other_class = f"10D-{uuid.uuid4().hex[:5]}"
    event = StudentEnrolled(
        student_id=moved,
        national_id="034000000000",
        full_name="Nguyễn Văn An",
        date_of_birth=date(2011, 1, 1),
        gender="male",
        class_id=uuid.uuid5(uuid.NAMESPACE_URL, other_class),
        class_name=other_class,
        grade_level=10,
        school_year="2026-2027",
        enrolled_on=date(2026, 10, 1),
    )
    assert await grades.feed(event) is Outcome.applied
    left = StudentLeft(
        student_id=students[1],
        class_id=uuid.uuid5(uuid.NAMESPACE_URL, sheet["class_name"]),
        school_year="2026-2027",
        left_on=date(2026, 11, 1),
        reason="transferred",
    )
    assert await grades.feed(left) is Outcome.applied
    view = (await grades.client.get(f"/sheets/{sheet['id']}/scores", headers=me)).json()
    assert [r["full_name"] for r in view["rows"]] == ["Lê Minh Châu"]

    # The same event delivered twice is applied once (inbox).
    consumer = next(c for c in grades.app.state.runtime.consumers if c.topic == left.topic)
    import json

    from hbs_shared.events.envelope import make_envelope

    raw = json.dumps(make_envelope(left, "thpt-chuyen-thai-binh").model_dump(mode="json")).encode()
    assert await consumer.process(raw) is Outcome.applied
    assert await consumer.process(raw) is Outcome.duplicate
