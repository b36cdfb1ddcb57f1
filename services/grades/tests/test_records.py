"""Year records, Đ8 Steps 2–4 and corrections after signing (Đ9): transitions, refusals that name
what is missing, the correction log and the content as it would be signed. Signing's replies are
fed through grades' real consumer of `signing.documents`."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import select

from hbs_devtools.statements import statements as sql_statements
from hbs_grades.models import ScoreSheet, YearRecord
from hbs_shared.events.contracts import SigningCompleted, SigningCompletedV2, SigningFailedV2
from hbs_shared.messaging.consumer import Outcome
from hbs_shared.messaging.tables import outbox

from .conftest import PRINCIPAL, GradesHarness, pass_sample, verify_class

pytestmark = [pytest.mark.db, pytest.mark.broker]

SHA = "ab" * 32
HOMEROOM_ROLES = ("subject_teacher", "homeroom_teacher")


class ClassUnderTest:
    """One class with Toán (scored) and GDTC (comment), two students, its homeroom teacher."""

    def __init__(self, h: GradesHarness) -> None:
        self.h = h
        self.teacher = uuid.uuid4()
        self.homeroom = uuid.uuid4()
        self.vice = uuid.uuid4()
        self.head = uuid.uuid4()
        self.class_name = f"10R-{uuid.uuid4().hex[:5]}"
        self.students: list[uuid.UUID] = []

    async def setup(self) -> None:
        for code in ("TOAN", "GDTC"):
            await self.h.assign(self.teacher, self.class_name, code, teacher_name="Trần Văn Toán")
        await self.h.assign(
            self.homeroom, self.class_name, None, kind="homeroom_teacher", teacher_name="Lê Thị Chủ Nhiệm"
        )
        self.students = await self.h.enrol(self.class_name, ["Phạm Thị Giỏi", "Vũ Văn Khá"])

    def as_teacher(self) -> dict[str, str]:
        return self.h.headers(self.teacher, "Trần Văn Toán")

    def as_homeroom(self) -> dict[str, str]:
        return self.h.headers(self.homeroom, "Lê Thị Chủ Nhiệm", HOMEROOM_ROLES)

    def as_vice(self) -> dict[str, str]:
        return self.h.headers(self.vice, "Phó Hiệu Trưởng", ("vice_principal",))

    def as_head(self) -> dict[str, str]:
        return self.h.headers(self.head, "Hiệu Trưởng", ("principal",))

    async def sheets(self) -> list[dict[str, Any]]:
        found = (await self.h.client.get("/sheets", headers=self.as_teacher())).json()
        return [s for s in found if s["class_name"] == self.class_name]

    async def fill_and_sign(self, sheet: dict[str, Any], value: str) -> dict[str, Any]:
        await self.fill_and_request(sheet, value)
        return await self.complete_sheet(sheet["id"])

    async def fill_and_request(self, sheet: dict[str, Any], value: str) -> None:
        n = sheet["regular_count"]
        mark = "Đ" if sheet["assessment"] == "comment" else value
        rows = [
            {"student_id": str(s), "regular": [mark] * n, "midterm": mark, "final": mark}
            for s in self.students
        ]
        me = self.as_teacher()
        saved = await self.h.client.put(
            f"/sheets/{sheet['id']}/scores",
            headers=me,
            json={"expected_version": sheet["version"], "rows": rows},
        )
        assert saved.status_code == 200, saved.text
        version = (await self.h.client.get(f"/sheets/{sheet['id']}", headers=me)).json()["version"]
        submitted = await self.h.client.post(
            f"/sheets/{sheet['id']}/submit", headers=me, json={"expected_version": version}
        )
        assert submitted.status_code == 200, submitted.text
        signing = await self.h.client.post(
            f"/sheets/{sheet['id']}/sign",
            headers=me,
            json={"expected_version": submitted.json()["version"], "activation_id": str(uuid.uuid4())},
        )
        assert signing.status_code == 202, signing.text

    async def sheet_request(self, sheet_id: str) -> uuid.UUID:
        async with self.h.app.state.runtime.db.transaction() as session:
            sheet = await session.get(ScoreSheet, uuid.UUID(sheet_id))
            assert sheet is not None
            request_id: uuid.UUID | None = sheet.signing_request_id
            assert request_id is not None
            return request_id

    async def complete_sheet(self, sheet_id: str) -> dict[str, Any]:
        request_id = await self.sheet_request(sheet_id)
        await self.h.feed(completed(request_id, uuid.UUID(sheet_id), self.teacher, "subject_teacher"))
        return dict((await self.h.client.get(f"/sheets/{sheet_id}", headers=self.as_teacher())).json())

    async def set_conduct(self, terms: tuple[str, ...] = ("HK1", "HK2")) -> None:
        rows = [{"student_id": str(s), "term": t, "conduct": "T"} for s in self.students for t in terms]
        saved = await self.h.client.put(
            f"/classes/{self.class_name}/conduct", headers=self.as_homeroom(), json={"rows": rows}
        )
        assert saved.status_code == 200, saved.text

    async def verify_students(self) -> None:
        """Đ6.1, as the homeroom teacher does it: every front-page field of every student ticked."""
        await verify_class(self.h, self.class_name, self.as_homeroom())

    async def pass_sample(self) -> None:
        """Đ4.2, as the vice-principal does it: a sample drawn and every sampled record correct."""
        await pass_sample(self.h, self.class_name, self.as_vice())

    async def records(self, headers: dict[str, str] | None = None) -> dict[str, Any]:
        listed = await self.h.client.get(
            f"/records/classes/{self.class_name}", headers=headers or self.as_homeroom()
        )
        assert listed.status_code == 200, listed.text
        return dict(listed.json())

    async def sign(self, step: str, headers: dict[str, str], **extra: Any) -> Any:
        return await self.h.client.post(
            "/records/sign",
            headers=headers,
            json={
                "step": step,
                "activation_id": str(uuid.uuid4()),
                "batch_id": str(uuid.uuid4()),
                "class_names": [self.class_name],
                **extra,
            },
        )

    async def complete_records(self, signer: uuid.UUID, role: str) -> list[uuid.UUID]:
        """Signing's reply for every record waiting for a signature; the new document ids."""
        async with self.h.app.state.runtime.db.transaction() as session:
            waiting = [
                (r.id, r.request_id)
                for r in (
                    await session.execute(select(YearRecord).where(YearRecord.class_name == self.class_name))
                ).scalars()
                if r.state.startswith("signing_")
            ]
        documents = []
        for record_id, request_id in waiting:
            assert request_id is not None
            event = completed(request_id, record_id, signer, role)
            await self.h.feed(event)
            documents.append(event.document_id)
        return documents


def completed(
    request_id: uuid.UUID, subject_id: uuid.UUID, signer: uuid.UUID, role: str
) -> SigningCompletedV2:
    return SigningCompletedV2(
        request_id=request_id,
        subject_id=subject_id,
        subject_kind="sheet" if role == "subject_teacher" else "record",
        document_id=uuid.uuid4(),
        sha256=SHA,
        signer_user_id=signer,
        signer_role=role,
        certificate_sha256=SHA,
        signed_at=datetime.now(UTC),
    )


async def record_requests(h: GradesHarness, record_ids: set[str]) -> list[dict[str, Any]]:
    async with h.app.state.runtime.db.transaction() as session:
        bodies = (await session.execute(select(outbox.c.body).order_by(outbox.c.id))).scalars().all()
    return [
        b["payload"]
        for b in bodies
        if b["type"] == "grades.record.signing_requested"
        and b["payload"]["record"]["record_id"] in record_ids
    ]


@pytest.fixture
async def klass(grades: GradesHarness) -> ClassUnderTest:
    c = ClassUnderTest(grades)
    await c.setup()
    return c


async def signed_class(klass: ClassUnderTest) -> None:
    for sheet in await klass.sheets():
        await klass.fill_and_sign(sheet, "9")
    await klass.set_conduct()
    await klass.verify_students()


async def test_step2_stays_closed_until_every_sheet_of_both_semesters_is_signed_and_conduct_is_complete(
    klass: ClassUnderTest,
) -> None:
    listed = await klass.records()
    assert len(listed["records"]) == 2
    assert listed["counts"] == {"draft": 2}
    assert listed["ready_for_homeroom"] is False
    assert (
        "Môn Toán – Học kỳ II: sổ điểm đang nhập điểm, chưa ký (GV bộ môn: Trần Văn Toán)"
        in listed["missing"]
    )
    assert any(m.startswith("Kết quả rèn luyện Học kỳ I còn thiếu: ") for m in listed["missing"])

    sheets = await klass.sheets()
    for sheet in sheets:
        if sheet["term"] == "HK1":
            await klass.fill_and_sign(sheet, "8")
    await klass.set_conduct(("HK1",))
    refused = await klass.sign("homeroom", klass.as_homeroom())
    assert refused.status_code == 422, refused.text
    problem = refused.json()
    assert problem["field"] == "class_names"
    assert "Môn Toán – Học kỳ II" in problem["title"]
    assert "Giáo dục thể chất – Học kỳ II" in problem["title"]
    assert "Kết quả rèn luyện Học kỳ II còn thiếu" in problem["title"]
    assert not any("Học kỳ I:" in m for m in problem["missing"])

    for sheet in sheets:
        if sheet["term"] == "HK2":
            await klass.fill_and_sign(sheet, "8")
    await klass.set_conduct(("HK2",))
    # Đ6.1: the personal data of every student checked by the homeroom teacher, named when not.
    assert (await klass.records())["missing"] == [
        "Chưa kiểm tra thông tin cá nhân (Điều 6): Phạm Thị Giỏi, Vũ Văn Khá"
    ]
    await klass.verify_students()
    assert (await klass.records())["missing"] == []
    # Only the class's homeroom teacher signs step 2; a subject teacher of the class may not.
    assert (await klass.sign("homeroom", klass.as_teacher())).status_code == 403


async def test_signing_replies_are_routed_by_the_kind_they_name_and_a_v1_reply_still_arrives(
    klass: ClassUnderTest,
) -> None:
    """signing.completed/failed v2 name the subject's kind and grades routes by it, not by looking
    the id up; a v1 reply (from a signing deployed before v2) still reaches its sheet."""
    sheet = (await klass.sheets())[0]
    await klass.fill_and_request(sheet, "8")
    request_id = await klass.sheet_request(sheet["id"])
    sheet_id = uuid.UUID(sheet["id"])

    async def state() -> str:
        return str(
            (await klass.h.client.get(f"/sheets/{sheet_id}", headers=klass.as_teacher())).json()["state"]
        )

    # Named a record's: handled by the records, which know no such record; the sheet is untouched.
    as_record = SigningFailedV2(
        request_id=request_id,
        subject_id=sheet_id,
        subject_kind="record",
        signer_user_id=klass.teacher,
        reason="certificate revoked",
        failed_at=datetime.now(UTC),
    )
    assert await klass.h.feed(as_record) is Outcome.applied
    assert await state() == "signing"
    v1 = SigningCompleted(
        **completed(request_id, sheet_id, klass.teacher, "subject_teacher").model_dump(
            exclude={"subject_kind"}
        )
    )
    assert await klass.h.feed(v1) is Outcome.applied
    assert await state() == "signed"


async def test_steps_2_to_4_sign_in_order_each_on_the_previous_document(klass: ClassUnderTest) -> None:
    await signed_class(klass)
    started = await klass.sign("homeroom", klass.as_homeroom())
    assert started.status_code == 202, started.text
    assert started.json()["counts"] == {"signing_homeroom": 2}
    batch = started.json()["batch_id"]
    progress = (await klass.h.client.get(f"/records/batches/{batch}", headers=klass.as_homeroom())).json()
    assert (progress["done"], progress["counts"]) == (False, {"signing_homeroom": 2})
    # A batch is visible to whoever started it and to the board only.
    other = klass.h.headers(uuid.uuid4())
    assert (await klass.h.client.get(f"/records/batches/{batch}", headers=other)).status_code == 404

    # Đ3: the principal signs only after the homeroom teacher's and the vice-principal's signatures.
    early = await klass.sign("principal", klass.as_head())
    assert early.status_code == 409
    assert "chưa đủ chữ ký GVCN và PHT" in early.json()["title"]
    first_docs = await klass.complete_records(klass.homeroom, "homeroom_teacher")
    progress = (await klass.h.client.get(f"/records/batches/{batch}", headers=klass.as_homeroom())).json()
    assert (progress["done"], progress["counts"]) == (True, {"homeroom_signed": 2})

    assert (await klass.sign("vice_principal", klass.as_homeroom())).status_code == 403
    await klass.pass_sample()
    assert (await klass.sign("vice_principal", klass.as_vice())).status_code == 202
    second_docs = await klass.complete_records(klass.vice, "vice_principal")
    assert (await klass.sign("principal", klass.as_head())).status_code == 202
    await klass.complete_records(klass.head, "principal")
    assert (await klass.records())["counts"] == {"approved": 2}

    ids = {r["id"] for r in (await klass.records())["records"]}
    requests = await record_requests(klass.h, ids)
    roles = [r["signer_role"] for r in requests]
    assert roles == ["homeroom_teacher"] * 2 + ["vice_principal"] * 2 + ["principal"] * 2
    assert [r["base_document_id"] for r in requests[:2]] == [None, None]
    assert {r["base_document_id"] for r in requests[2:4]} == {str(d) for d in first_docs}
    assert {r["base_document_id"] for r in requests[4:]} == {str(d) for d in second_docs}
    assert all(r["batch_id"] for r in requests)

    school = (await klass.h.client.get("/records", headers=klass.as_head())).json()
    line = next(c for c in school["classes"] if c["class_name"] == klass.class_name)
    assert (line["total"], line["counts"]) == (2, {"approved": 2})
    assert (await klass.h.client.get("/records", headers=klass.as_teacher())).status_code == 403


async def test_vice_principal_returns_a_record_with_a_reason_and_a_stale_reply_is_ignored(
    klass: ClassUnderTest,
) -> None:
    await signed_class(klass)
    assert (await klass.sign("homeroom", klass.as_homeroom())).status_code == 202
    await klass.complete_records(klass.homeroom, "homeroom_teacher")
    record = (await klass.records())["records"][0]
    assert record["edition"] == 1

    refused = await klass.h.client.post(
        f"/records/{record['id']}/return", headers=klass.as_homeroom(), json={"reason": "Sai nhận xét"}
    )
    assert refused.status_code == 403
    short = await klass.h.client.post(
        f"/records/{record['id']}/return", headers=klass.as_vice(), json={"reason": ""}
    )
    assert short.status_code == 422
    assert short.json()["field"].endswith("reason")
    returned = await klass.h.client.post(
        f"/records/{record['id']}/return",
        headers=klass.as_vice(),
        json={"reason": "Nhận xét chưa đúng với kết quả", "expected_version": record["version"]},
    )
    assert returned.status_code == 200, returned.text
    again = returned.json()[0]
    assert (again["state"], again["edition"], again["returned_reason"]) == (
        "draft",
        2,
        "Nhận xét chưa đúng với kết quả",
    )

    # Remarks are the homeroom teacher's, editable while the record is a draft, versioned.
    me = klass.as_homeroom()
    edited = await klass.h.client.put(
        f"/records/{record['id']}/remarks",
        headers=me,
        json={"expected_version": again["version"], "remarks": "Chăm ngoan, học tốt."},
    )
    assert edited.status_code == 200, edited.text
    stale = await klass.h.client.put(
        f"/records/{record['id']}/remarks",
        headers=me,
        json={"expected_version": again["version"], "remarks": "x"},
    )
    assert stale.status_code == 409
    assert stale.json()["field"] == "expected_version"
    other_record = (await klass.records())["records"][1]
    locked = await klass.h.client.put(
        f"/records/{other_record['id']}/remarks",
        headers=me,
        json={"expected_version": other_record["version"], "remarks": "x"},
    )
    assert locked.status_code == 409
    assert "GVCN đã ký" in locked.json()["title"]

    # The homeroom teacher signs the returned one again; a late reply to the old request changes nothing.
    async with klass.h.app.state.runtime.db.transaction() as session:
        old = await session.get(YearRecord, uuid.UUID(record["id"]))
        assert old is not None
    started = await klass.sign("homeroom", me)
    assert started.json()["total"] == 1
    await klass.h.feed(
        SigningFailedV2(
            request_id=uuid.uuid4(),
            subject_id=uuid.UUID(record["id"]),
            subject_kind="record",
            signer_user_id=klass.homeroom,
            reason="old request",
            failed_at=datetime.now(UTC),
        )
    )
    current = next(r for r in (await klass.records())["records"] if r["id"] == record["id"])
    assert (current["state"], current["last_error"]) == ("signing_homeroom", None)
    async with klass.h.app.state.runtime.db.transaction() as session:
        now = await session.get(YearRecord, uuid.UUID(record["id"]))
        assert now is not None
        assert now.request_id is not None
        request_id = now.request_id
    await klass.h.feed(
        SigningFailedV2(
            request_id=request_id,
            subject_id=uuid.UUID(record["id"]),
            subject_kind="record",
            signer_user_id=klass.homeroom,
            reason="certificate revoked",
            failed_at=datetime.now(UTC),
        )
    )
    failed = next(r for r in (await klass.records())["records"] if r["id"] == record["id"])
    assert (failed["state"], failed["last_error"]) == ("draft", "certificate revoked")


async def test_record_content_is_assembled_from_results_remarks_and_names(klass: ClassUnderTest) -> None:
    await signed_class(klass)
    record = (await klass.records())["records"][0]
    await klass.h.client.put(
        f"/records/{record['id']}/remarks",
        headers=klass.as_homeroom(),
        json={"expected_version": record["version"], "remarks": "  Chăm ngoan.  "},
    )
    detail = await klass.h.client.get(f"/records/{record['id']}", headers=klass.as_vice())
    assert detail.status_code == 200, detail.text
    content = detail.json()["content"]
    assert content["student"]["full_name"] == record["full_name"]
    assert content["homeroom_teacher_name"] == "Lê Thị Chủ Nhiệm"
    assert content["homeroom_remarks"] == "Chăm ngoan."
    assert content["province"] == "Hưng Yên"
    # The school and its principal as identity announced them (conftest.school_changed).
    assert (content["school_name"], content["principal_name"]) == ("Trường THPT Chuyên Thái Bình", PRINCIPAL)
    assert content["place_and_date"].startswith("Hưng Yên, ngày ")
    toan = next(s for s in content["subjects"] if s["subject_code"] == "TOAN")
    assert (toan["semester1"], toan["semester2"], toan["year"], toan["teacher_name"]) == (
        "9",
        "9",
        "9",
        "Trần Văn Toán",
    )
    gdtc = next(s for s in content["subjects"] if s["subject_code"] == "GDTC")
    assert (gdtc["assessment"], gdtc["year"]) == ("comment", "Đ")
    # The ratings are the engine's, as the class results show them.
    results = (
        await klass.h.client.get(f"/results/classes/{klass.class_name}", headers=klass.as_vice())
    ).json()
    mine = next(r for r in results["students"] if r["student_id"] == record["student_id"])
    for key in ("conduct_year", "learning_year", "learning_semester1", "promoted", "absent_sessions"):
        assert content[key] == mine[key], key
    assert (content["conduct_year"], content["corrections_count"], content["record_version"]) == ("T", 0, 1)

    # A teacher of another class sees neither the class nor its records.
    stranger = klass.h.headers(uuid.uuid4())
    assert (await klass.h.client.get(f"/records/{record['id']}", headers=stranger)).status_code == 404
    assert (
        await klass.h.client.get(f"/records/classes/{klass.class_name}", headers=stranger)
    ).status_code == 404


async def test_correction_reopens_a_signed_sheet_logs_its_cells_and_records_are_signed_again(
    klass: ClassUnderTest,
) -> None:
    await signed_class(klass)
    assert (await klass.sign("homeroom", klass.as_homeroom())).status_code == 202
    await klass.complete_records(klass.homeroom, "homeroom_teacher")
    sheet = next(s for s in await klass.sheets() if s["subject"] == "Toán" and s["term"] == "HK2")
    old_document = sheet["document_id"]

    # A signed sheet refuses any change until the board opens a correction with its minutes.
    row = {"student_id": str(klass.students[0]), "final": "7"}
    locked = await klass.h.client.put(
        f"/sheets/{sheet['id']}/scores",
        headers=klass.as_teacher(),
        json={"expected_version": sheet["version"], "rows": [row], "reason": "x"},
    )
    assert locked.status_code == 409
    first = str(klass.students[0])
    body = {
        "expected_version": sheet["version"],
        "minutes_number": "12/BB-THPT",
        "reason": "Nhập nhầm điểm",
        "present": ["Hiệu Trưởng – Hiệu trưởng", "Trần Văn Toán – giáo viên bộ môn"],
        "cells": [{"student_id": first, "column": "final"}, {"student_id": first, "column": "midterm"}],
    }
    by_teacher = await klass.h.client.post(
        f"/sheets/{sheet['id']}/corrections",
        headers=klass.as_teacher(),
        json={**body, "minutes_date": date.today().isoformat()},
    )
    assert by_teacher.status_code == 403
    future = await klass.h.client.post(
        f"/sheets/{sheet['id']}/corrections",
        headers=klass.as_head(),
        json={**body, "minutes_date": "2999-01-01"},
    )
    assert future.status_code == 422
    assert future.json()["field"].endswith("minutes_date")
    # Each listed cell is checked against the sheet: a student not on it, a column it does not have.
    today = date.today().isoformat()
    for cell, field in (
        ({"student_id": str(uuid.uuid4()), "column": "final"}, "cells[1].student_id"),
        ({"student_id": first, "column": f"regular_{sheet['regular_count'] + 1}"}, "cells[1].column"),
        ({"student_id": first, "column": "final"}, "cells[1]"),
    ):
        if cell["column"] == "regular_5":
            continue  # four regular assessments: no column past them can even be named
        wrong = await klass.h.client.post(
            f"/sheets/{sheet['id']}/corrections",
            headers=klass.as_head(),
            json={**body, "minutes_date": today, "cells": [body["cells"][0], cell]},
        )
        assert (wrong.status_code, wrong.json()["field"]) == (422, field), wrong.text
    assert (await klass.h.client.get(f"/sheets/{sheet['id']}", headers=klass.as_teacher())).json()[
        "state"
    ] == "signed"
    opened = await klass.h.client.post(
        f"/sheets/{sheet['id']}/corrections",
        headers=klass.as_head(),
        json={**body, "minutes_date": date.today().isoformat()},
    )
    assert opened.status_code == 201, opened.text
    assert opened.json()["state"] == "open"
    # The class's signed records go back to be signed again, as a new edition.
    listed = await klass.records()
    assert listed["counts"] == {"draft": 2}
    assert all(r["edition"] == 2 and "12/BB-THPT" in (r["returned_reason"] or "") for r in listed["records"])
    assert (
        "Môn Toán – Học kỳ II: sổ điểm đang nhập điểm, chưa ký (GV bộ môn: Trần Văn Toán)"
        in listed["missing"]
    )

    reopened = (await klass.h.client.get(f"/sheets/{sheet['id']}", headers=klass.as_teacher())).json()
    # Only the minutes' cells may change: another student's final is refused, naming the cell.
    other_cell = await klass.h.client.put(
        f"/sheets/{sheet['id']}/scores",
        headers=klass.as_teacher(),
        json={
            "expected_version": reopened["version"],
            "rows": [row, {"student_id": str(klass.students[1]), "final": "7"}],
        },
    )
    assert other_cell.status_code == 422, other_cell.text
    [refused] = other_cell.json()["errors"]
    assert (refused["student_id"], refused["column"], refused["field"]) == (
        str(klass.students[1]),
        "final",
        "rows[1].final",
    )
    assert "không thuộc biên bản điều chỉnh số 12/BB-THPT" in refused["message"]
    saved = await klass.h.client.put(
        f"/sheets/{sheet['id']}/scores",
        headers=klass.as_teacher(),
        json={"expected_version": reopened["version"], "rows": [{**row, "midterm": "7"}]},
    )
    assert saved.status_code == 200, saved.text
    me = klass.as_teacher()
    back = await klass.h.client.put(
        f"/sheets/{sheet['id']}/scores",
        headers=me,
        json={
            "expected_version": saved.json()["sheet"]["version"],
            "rows": [{**row, "midterm": "9", "final": "9"}],
        },
    )
    assert back.status_code == 200, back.text
    submitted = await klass.h.client.post(
        f"/sheets/{sheet['id']}/submit",
        headers=me,
        json={"expected_version": back.json()["sheet"]["version"]},
    )
    assert submitted.status_code == 200, submitted.text
    sign_body = {"expected_version": submitted.json()["version"], "activation_id": str(uuid.uuid4())}
    # Not signed again before the board member has signed the minutes.
    early = await klass.h.client.post(f"/sheets/{sheet['id']}/sign", headers=me, json=sign_body)
    assert (early.status_code, early.json()["field"]) == (409, "correction_id"), early.text
    assert "Biên bản điều chỉnh số 12/BB-THPT chưa được Hiệu Trưởng ký số" in early.json()["title"]
    [c] = (await klass.h.client.get(f"/sheets/{sheet['id']}/corrections", headers=me)).json()
    assert (c["present"], c["minutes_state"]) == (body["present"], "unsigned")
    assert [(x["column"], x["old_value"]) for x in c["cells"]] == [("midterm", "9"), ("final", "9")]

    # The board member who opened it signs the minutes (no one else), through signing.
    minutes_url = f"/sheets/{sheet['id']}/corrections/{c['id']}/minutes/sign"
    activation = {"activation_id": str(uuid.uuid4())}
    by_vice = await klass.h.client.post(minutes_url, headers=klass.as_vice(), json=activation)
    assert by_vice.status_code == 403
    asked = await klass.h.client.post(minutes_url, headers=klass.as_head(), json=activation)
    assert (asked.status_code, asked.json()["minutes_state"]) == (202, "signing"), asked.text
    async with klass.h.app.state.runtime.db.transaction() as session:
        bodies = (await session.execute(select(outbox.c.body).order_by(outbox.c.id))).scalars().all()
    [request] = [
        b["payload"]
        for b in bodies
        if b["type"] == "grades.sheet.minutes_signing_requested"
        and b["payload"]["minutes"]["correction_id"] == c["id"]
    ]
    assert (request["signer_role"], request["minutes"]["class_name"], request["minutes"]["term"]) == (
        "principal",
        klass.class_name,
        "HK2",
    )
    assert [x["full_name"] for x in request["minutes"]["cells"]] == ["Phạm Thị Giỏi"] * 2
    reply = completed(uuid.UUID(request["request_id"]), uuid.UUID(c["id"]), klass.head, "principal")
    await klass.h.feed(reply.model_copy(update={"subject_kind": "minutes"}))
    [signed] = (await klass.h.client.get(f"/sheets/{sheet['id']}/corrections", headers=me)).json()
    assert (signed["minutes_state"], signed["minutes_document_id"]) == ("signed", str(reply.document_id))
    again = await klass.h.client.post(minutes_url, headers=klass.as_head(), json=activation)
    assert again.status_code == 409

    # Now the teacher signs the sheet again; that closes the correction.
    assert (
        await klass.h.client.post(f"/sheets/{sheet['id']}/sign", headers=me, json=sign_body)
    ).status_code == 202
    resigned = await klass.complete_sheet(sheet["id"])
    assert resigned["state"] == "signed"
    assert resigned["document_id"] != old_document
    [c] = (await klass.h.client.get(f"/sheets/{sheet['id']}/corrections", headers=me)).json()
    assert (c["minutes_number"], c["superseded_document_id"], c["new_document_id"]) == (
        "12/BB-THPT",
        old_document,
        resigned["document_id"],
    )
    assert c["closed_at"] is not None
    # The trail keeps the opening (with the minutes' cells and who was present), the closing and
    # the minutes' signature, each naming the sheet.
    trail = (
        await klass.h.client.get(
            "/audit", headers=klass.as_head(), params={"subject_kind": "sheet", "subject_id": sheet["id"]}
        )
    ).json()["entries"]
    by_action = {e["action"]: e for e in trail}
    opened_entry = by_action["correction_opened"]
    assert (opened_entry["actor_name"], opened_entry["details"]["present"]) == (
        "Hiệu Trưởng",
        body["present"],
    )
    assert opened_entry["details"]["cells"] == ["Phạm Thị Giỏi – ĐĐGgk (9)", "Phạm Thị Giỏi – ĐĐGck (9)"]
    assert by_action["correction_closed"]["details"]["minutes_number"] == "12/BB-THPT"
    minutes_entry = by_action["correction_minutes_signed"]
    assert (minutes_entry["actor_name"], minutes_entry["details"]["document_id"]) == (
        "Hiệu Trưởng",
        str(reply.document_id),
    )
    changes = (await klass.h.client.get(f"/sheets/{sheet['id']}/changes", headers=klass.as_teacher())).json()
    assert len([ch for ch in changes if ch["student_id"] == str(klass.students[0])]) > 0

    # The first student's record: midterm and final 7 then back to 9 → four corrected cells, in Toán.
    record = next(r for r in listed["records"] if r["student_id"] == str(klass.students[0]))
    content = (await klass.h.client.get(f"/records/{record['id']}", headers=klass.as_homeroom())).json()[
        "content"
    ]
    assert (content["record_version"], content["corrections_count"], content["corrections_subjects"]) == (
        2,
        4,
        ["Toán"],
    )
    other = next(r for r in listed["records"] if r["student_id"] == str(klass.students[1]))
    content = (await klass.h.client.get(f"/records/{other['id']}", headers=klass.as_homeroom())).json()[
        "content"
    ]
    assert content["corrections_count"] == 0
    assert (await klass.sign("homeroom", klass.as_homeroom())).json()["total"] == 2


async def test_conduct_is_locked_under_a_signed_record_until_the_board_returns_it(
    klass: ClassUnderTest,
) -> None:
    await signed_class(klass)
    assert (await klass.sign("homeroom", klass.as_homeroom())).status_code == 202
    await klass.complete_records(klass.homeroom, "homeroom_teacher")
    first = str(klass.students[0])
    lower = {"rows": [{"student_id": first, "term": "HK2", "conduct": "K"}]}
    url = f"/classes/{klass.class_name}/conduct"
    refused = await klass.h.client.put(url, headers=klass.as_homeroom(), json=lower)
    assert refused.status_code == 422
    error = refused.json()["errors"][0]
    assert (error["student_id"], error["column"]) == (first, "conduct")
    assert "đã được ký" in error["message"]
    # Sending the values it already has changes nothing and is not refused.
    same = {"rows": [{"student_id": first, "term": "HK2", "conduct": "T"}]}
    assert (await klass.h.client.put(url, headers=klass.as_homeroom(), json=same)).status_code == 200
    extras = await klass.h.client.put(
        f"/classes/{klass.class_name}/year-end",
        headers=klass.as_homeroom(),
        json={"rows": [{"student_id": first, "summer_training": "T"}]},
    )
    assert extras.status_code == 422

    record = next(r for r in (await klass.records())["records"] if r["student_id"] == first)
    back = await klass.h.client.post(
        f"/records/{record['id']}/return", headers=klass.as_vice(), json={"reason": "Xếp loại rèn luyện sai"}
    )
    assert back.status_code == 200
    assert (await klass.h.client.put(url, headers=klass.as_homeroom(), json=lower)).status_code == 200


async def test_an_approved_record_is_corrected_only_by_the_board_under_minutes_then_conduct_can_change(
    klass: ClassUnderTest,
) -> None:
    """Đ9: after the principal's seal, conduct is changed only through a correction with minutes;
    the record becomes a new edition to be signed again from step 2, the sealed one stays."""
    await signed_class(klass)
    for step, headers, signer, role in (
        ("homeroom", klass.as_homeroom(), klass.homeroom, "homeroom_teacher"),
        ("vice_principal", klass.as_vice(), klass.vice, "vice_principal"),
        ("principal", klass.as_head(), klass.head, "principal"),
    ):
        if step == "vice_principal":
            await klass.pass_sample()
        assert (await klass.sign(step, headers)).status_code == 202
        await klass.complete_records(signer, role)
    first = str(klass.students[0])
    record = next(r for r in (await klass.records())["records"] if r["student_id"] == first)
    assert record["state"] == "approved"
    url = f"/classes/{klass.class_name}/conduct"
    lower = {"rows": [{"student_id": first, "term": "HK2", "conduct": "K"}]}
    assert (await klass.h.client.put(url, headers=klass.as_homeroom(), json=lower)).status_code == 422
    # An approved record is not "returned": that is for records not yet approved.
    returned = await klass.h.client.post(
        f"/records/{record['id']}/return", headers=klass.as_vice(), json={"reason": "Sai rèn luyện"}
    )
    assert returned.status_code == 409

    minutes = {
        "expected_version": record["version"],
        "minutes_number": "07/BB-HĐ",
        "minutes_date": "2026-11-20",
        "reason": "Hội đồng kỷ luật xếp lại rèn luyện học kỳ II",
    }
    corrections = f"/records/{record['id']}/corrections"
    by_teacher = await klass.h.client.post(corrections, headers=klass.as_homeroom(), json=minutes)
    assert by_teacher.status_code == 403
    stale = await klass.h.client.post(
        corrections, headers=klass.as_head(), json={**minutes, "expected_version": record["version"] + 5}
    )
    assert (stale.status_code, stale.json()["field"]) == (409, "expected_version")
    no_minutes = await klass.h.client.post(
        corrections, headers=klass.as_head(), json={**minutes, "minutes_number": ""}
    )
    assert (no_minutes.status_code, no_minutes.json()["field"]) == (422, "minutes_number")

    opened = await klass.h.client.post(corrections, headers=klass.as_head(), json=minutes)
    assert opened.status_code == 201, opened.text
    assert opened.json()["state"] == "draft"
    again = await klass.h.client.post(
        corrections, headers=klass.as_head(), json={**minutes, "expected_version": opened.json()["version"]}
    )
    assert again.status_code == 409  # a draft is not corrected twice
    listed = (await klass.h.client.get(corrections, headers=klass.as_vice())).json()
    assert [(c["minutes_number"], c["opened_by_name"]) for c in listed] == [("07/BB-HĐ", "Hiệu Trưởng")]
    assert listed[0]["superseded_document_id"] == record["document_id"]
    assert (await klass.h.client.put(url, headers=klass.as_homeroom(), json=lower)).status_code == 200
    # The other student's record stays approved; this one is signed again from step 2.
    states = {r["student_id"]: r["state"] for r in (await klass.records())["records"]}
    assert states == {first: "draft", str(klass.students[1]): "approved"}


async def test_an_approved_record_is_revoked_only_by_the_principal_under_minutes_and_signing_is_told(
    klass: ClassUnderTest,
) -> None:
    """Đ9 (issue 13 §5): the principal annuls a sealed record under the board's minutes; it is final
    (no correction or sheet correction brings it back) and `grades.record.revoked` goes to signing."""
    await signed_class(klass)
    for step, headers, signer, role in (
        ("homeroom", klass.as_homeroom(), klass.homeroom, "homeroom_teacher"),
        ("vice_principal", klass.as_vice(), klass.vice, "vice_principal"),
        ("principal", klass.as_head(), klass.head, "principal"),
    ):
        if step == "vice_principal":
            await klass.pass_sample()
        assert (await klass.sign(step, headers)).status_code == 202
        await klass.complete_records(signer, role)
    first = str(klass.students[0])
    record = next(r for r in (await klass.records())["records"] if r["student_id"] == first)
    assert record["state"] == "approved"
    url = f"/records/{record['id']}/revocation"
    minutes = {
        "expected_version": record["version"],
        "minutes_number": "12/BB-HĐ",
        "minutes_date": "2026-11-25",
        "reason": "Hồ sơ nhập học không hợp lệ, Hội đồng quyết định thu hồi học bạ",
    }
    assert (await klass.h.client.post(url, headers=klass.as_vice(), json=minutes)).status_code == 403
    assert (await klass.h.client.post(url, headers=klass.as_homeroom(), json=minutes)).status_code == 403
    no_reason = await klass.h.client.post(url, headers=klass.as_head(), json={**minutes, "reason": ""})
    assert (no_reason.status_code, no_reason.json()["field"]) == (422, "reason")
    stale = await klass.h.client.post(
        url, headers=klass.as_head(), json={**minutes, "expected_version": record["version"] + 3}
    )
    assert (stale.status_code, stale.json()["field"]) == (409, "expected_version")

    revoked = await klass.h.client.post(url, headers=klass.as_head(), json=minutes)
    assert revoked.status_code == 201, revoked.text
    assert revoked.json()["state"] == "revoked"
    listed = (await klass.h.client.get(url, headers=klass.as_vice())).json()
    assert [(r["minutes_number"], r["opened_by_name"], r["superseded_document_id"]) for r in listed] == [
        ("12/BB-HĐ", "Hiệu Trưởng", record["document_id"])
    ]
    async with klass.h.app.state.runtime.db.transaction() as session:
        bodies = (await session.execute(select(outbox.c.body).order_by(outbox.c.id))).scalars().all()
    [event] = [b for b in bodies if b["type"] == "grades.record.revoked"]
    assert event["payload"]["record_id"] == record["id"]
    assert event["payload"]["document_id"] == record["document_id"]
    assert (event["payload"]["minutes_number"], event["payload"]["minutes_date"]) == (
        "12/BB-HĐ",
        "2026-11-25",
    )

    # Final: not revoked twice, not corrected, not brought back by a sheet's correction.
    version = revoked.json()["version"]
    again = await klass.h.client.post(
        url, headers=klass.as_head(), json={**minutes, "expected_version": version}
    )
    assert again.status_code == 409
    corrected = await klass.h.client.post(
        f"/records/{record['id']}/corrections",
        headers=klass.as_head(),
        json={**minutes, "expected_version": version},
    )
    assert corrected.status_code == 409
    runtime = klass.h.app.state.runtime
    async with runtime.db.transaction() as session:
        one = await session.get(YearRecord, uuid.UUID(record["id"]))
        assert one is not None
        await klass.h.app.state.grades.records.reopen_class(
            session, one.school_id, one.school_year, klass.class_name, "Điều chỉnh sổ điểm"
        )
    states = {r["student_id"]: r["state"] for r in (await klass.records())["records"]}
    assert states == {first: "revoked", str(klass.students[1]): "draft"}


async def test_the_principal_signs_several_classes_reading_each_class_once_and_writing_the_outbox_once(
    grades: GradesHarness,
) -> None:
    """Step 4 names the whole school: per class its roster and sheets are read once (never the
    school's sheets to filter), and every record's request goes to the outbox in one INSERT."""
    classes = [ClassUnderTest(grades) for _ in range(2)]
    for c in classes:
        await c.setup()
        await signed_class(c)
        assert (await c.sign("homeroom", c.as_homeroom())).status_code == 202
        await c.complete_records(c.homeroom, "homeroom_teacher")
        await c.pass_sample()
        assert (await c.sign("vice_principal", c.as_vice())).status_code == 202
        await c.complete_records(c.vice, "vice_principal")
    with sql_statements(grades.app.state.runtime.db.engine.sync_engine) as sent:
        started = await grades.client.post(
            "/records/sign",
            headers=classes[0].as_head(),
            json={
                "step": "principal",
                "activation_id": str(uuid.uuid4()),
                "batch_id": str(uuid.uuid4()),
                "class_names": [c.class_name for c in classes],
            },
        )
    statements = [s.sql for s in sent]
    assert started.status_code == 202, started.text
    assert started.json()["counts"] == {"signing_principal": 4}
    sheet_reads = [s for s in statements if s.startswith("SELECT") and " FROM score_sheets " in s]
    assert len(sheet_reads) == len(classes), sheet_reads
    assert all("score_sheets.class_name =" in s for s in sheet_reads), sheet_reads
    roster_reads = [s for s in statements if " FROM students JOIN enrolments " in s]
    assert len(roster_reads) == len(classes), roster_reads
    outbox_writes = [s for s in statements if s.startswith("INSERT INTO outbox ")]
    assert len(outbox_writes) == 1, outbox_writes
    ids = {r["id"] for c in classes for r in (await c.records(c.as_head()))["records"]}
    assert [r["signer_role"] for r in await record_requests(grades, ids)][-4:] == ["principal"] * 4
