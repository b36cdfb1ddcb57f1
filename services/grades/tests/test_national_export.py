"""Issue 13 §4: the school's sealed records in the national sector database's structure (CSDL
ngành), as XML and JSON, each valid against the schema kept in the repository; full, or only the
students whose data changed since a given export; a document that fails its schema is never sent."""

from __future__ import annotations

import json
import random
import uuid
import zlib
from datetime import UTC, date, datetime
from typing import Any

import jsonschema
import pytest
from lxml import etree

from hbs_grades.national import document as national
from hbs_grades.national.models import NationalExport
from hbs_grades.national.service import serve
from hbs_grades.national.validation import JSON_SCHEMA, XSD, SchemaViolation, check_json, check_xml
from hbs_shared.events.identity import StudentEnrolled, StudentUpdated
from hbs_shared.messaging.consumer import Outcome
from hbs_shared.problems import Problem
from hbs_shared.records import StudentPersonalData, SubjectYearResult, YearRecordContent
from hbs_shared.school_facts import SchoolFacts

from .conftest import SCHOOL, YEAR, GradesHarness
from .test_records import ClassUnderTest

NS = {"hb": national.NAMESPACE}
RATINGS = {"T", "K", "Đ", "CĐ"}


def sealed_year(national_id: str = "034012345678", **changes: Any) -> national.SealedYear:
    content = YearRecordContent(
        record_id=uuid.uuid4(),
        record_version=1,
        school_name="Trường THPT Chuyên Thái Bình",
        province="Hưng Yên",
        school_year=YEAR,
        class_name="10A1",
        student=StudentPersonalData(
            student_id=uuid.uuid4(),
            national_id=national_id,
            full_name="Nguyễn Thị Hằng",
            gender="female",
            date_of_birth=date(2011, 3, 9),
            ethnicity="Kinh",
        ),
        subjects=[
            SubjectYearResult(
                subject_code="TOAN",
                subject_name="Toán",
                assessment="scored",
                semester1="8.5",
                semester2="9",
                year="8.8",
            ),
            SubjectYearResult(
                subject_code="GDTC",
                subject_name="Giáo dục thể chất",
                assessment="comment",
                semester1="Đ",
                semester2="Đ",
                year="Đ",
            ),
        ],
        conduct_semester1="T",
        conduct_semester2="K",
        conduct_year="K",
        learning_semester1="K",
        learning_semester2="T",
        learning_year="T",
        promoted=True,
        title=None,
        **changes,
    )
    return national.SealedYear(content, 10, 1, uuid.uuid4(), "ab" * 32)


FACTS = SchoolFacts(
    SCHOOL, "Trường THPT Chuyên Thái Bình", "Sở GD&ĐT Hưng Yên", "Hưng Yên", "Trần Văn Minh", YEAR
)


def a_document(*years: national.SealedYear) -> dict[str, Any]:
    header = national.ExportHeader(uuid.uuid4(), "toanbo", None, datetime.now(UTC), "Đỗ Thị Ngọc Ánh")
    return national.document(header, FACTS, [national.student_element([y]) for y in years], [])


def test_a_document_of_sealed_records_is_valid_xml_and_json_with_ratings_coded_t_k_d_cd() -> None:
    doc = a_document(sealed_year(), sealed_year("034012345679"))
    check_json(doc)
    data = national.to_xml(doc)
    check_xml(data)
    tree = etree.fromstring(data)
    assert tree.findtext("hb:truong/hb:matruong", namespaces=NS) == SCHOOL
    year = tree.find("hb:danhsachhocsinh/hb:hocsinh/hb:cacnamhoc/hb:hocbanam", NS)
    assert year is not None
    assert [year.findtext(f"hb:renluyen/hb:{k}", namespaces=NS) for k in ("hk1", "hk2", "canam")] == [
        "T",
        "K",
        "K",
    ]
    assert year.findtext("hb:hoctap/hb:canam", namespaces=NS) == "T"
    # A score has one digit always ("9" → "9.0"); a comment subject keeps Đ; no post-exam value is absent.
    maths, pe = year.findall("hb:ketquamonhoc/hb:monhoc", NS)
    assert [maths.findtext(f"hb:{k}", namespaces=NS) for k in ("hk1", "hk2", "canam")] == [
        "8.5",
        "9.0",
        "8.8",
    ]
    assert pe.findtext("hb:canam", namespaces=NS) == "Đ"
    assert maths.find("hb:sauthilai", NS) is None
    assert year.findtext("hb:lenlop", namespaces=NS) == "true"
    student = doc["danhsachhocsinh"][0]
    assert (student["mahocsinh"], student["gioitinh"], student["ngaysinh"]) == (
        "034012345678",
        "Nữ",
        "2011-03-09",
    )


def test_a_document_that_breaks_its_schema_is_refused_in_either_form_and_never_served() -> None:
    doc = a_document(sealed_year())
    data = national.to_xml(doc)
    # A rating spelled out instead of coded, in the XML.
    tampered = data.replace(b"<canam>K</canam>", "<canam>Khá</canam>".encode())
    assert tampered != data
    with pytest.raises(SchemaViolation) as refused_xml:
        check_xml(tampered)
    assert refused_xml.value.form == "xml"
    # The same in the JSON, and a student without a mã học sinh.
    bad = json.loads(json.dumps(doc))
    bad["danhsachhocsinh"][0]["cacnamhoc"][0]["renluyen"]["canam"] = "Khá"
    with pytest.raises(SchemaViolation) as refused_json:
        check_json(bad)
    assert refused_json.value.errors == ["/danhsachhocsinh/0/cacnamhoc/0/renluyen/canam: anyOf"]
    del bad["danhsachhocsinh"][0]["mahocsinh"]
    with pytest.raises(SchemaViolation):
        check_json(bad)
    # Two students with one mã học sinh: one record per student (Đ2).
    with pytest.raises(SchemaViolation):
        check_xml(national.to_xml(a_document(sealed_year(), sealed_year())))
    # What serves a document refuses it with a problem naming the document, and returns nothing.
    with pytest.raises(Problem) as problem:
        serve(bad, "json")
    assert (problem.value.status, problem.value.field) == (500, "document")


# ----------------------------------------------------------------------------- through the service


class SealedClass(ClassUnderTest):
    """A class whose every student has their own mã định danh (the harness's repeat per class)."""

    async def setup(self) -> None:
        for code in ("TOAN", "GDTC"):
            await self.h.assign(self.teacher, self.class_name, code, teacher_name="Trần Văn Toán")
        await self.h.assign(
            self.homeroom, self.class_name, None, kind="homeroom_teacher", teacher_name="Lê Thị Chủ Nhiệm"
        )
        class_id = uuid.uuid5(uuid.NAMESPACE_URL, self.class_name)
        for name in ("Phạm Thị Giỏi", "Vũ Văn Khá"):
            student_id = uuid.uuid4()
            outcome = await self.h.feed(
                StudentEnrolled(
                    student_id=student_id,
                    national_id=f"{random.randrange(10**11, 10**12)}",
                    full_name=name,
                    date_of_birth=date(2011, 1, 1),
                    gender="female",
                    class_id=class_id,
                    class_name=self.class_name,
                    grade_level=10,
                    school_year=YEAR,
                    enrolled_on=date(2026, 9, 5),
                    ethnicity="Kinh",
                )
            )
            assert outcome is Outcome.applied
            self.students.append(student_id)

    async def seal(self) -> None:
        """Đ8 steps 1–4 through the API, signing's replies fed through grades' consumer."""
        for sheet in await self.sheets():
            await self.fill_and_sign(sheet, "9")
        await self.set_conduct()
        await self.verify_students()
        for step, headers, signer, role in (
            ("homeroom", self.as_homeroom(), self.homeroom, "homeroom_teacher"),
            ("vice_principal", self.as_vice(), self.vice, "vice_principal"),
            ("principal", self.as_head(), self.head, "principal"),
        ):
            if step == "vice_principal":
                await self.pass_sample()
            started = await self.sign(step, headers)
            assert started.status_code == 202, started.text
            await self.complete_records(signer, role)
        assert (await self.records())["counts"] == {"approved": 2}


def office(h: GradesHarness) -> dict[str, str]:
    return h.headers(uuid.uuid4(), "Đỗ Thị Ngọc Ánh", ("office_admin",))


async def export(h: GradesHarness, headers: dict[str, str], since: str | None = None) -> dict[str, Any]:
    made = await h.client.post("/national/exports", headers=headers, json={"since": since})
    assert made.status_code == 201, made.text
    return dict(made.json())


async def download(
    h: GradesHarness, made: dict[str, Any], headers: dict[str, str]
) -> tuple[Any, dict[str, Any]]:
    as_xml = await h.client.get(made["xml_url"], headers=headers)
    assert as_xml.status_code == 200, as_xml.text
    assert as_xml.headers["content-type"].startswith("application/xml")
    as_json = await h.client.get(made["json_url"], headers=headers)
    assert as_json.status_code == 200, as_json.text
    return etree.fromstring(as_xml.content), dict(as_json.json())


def mine(doc: dict[str, Any], klass: ClassUnderTest) -> list[dict[str, Any]]:
    return [s for s in doc["danhsachhocsinh"] if s["cacnamhoc"][-1]["lop"] == klass.class_name]


@pytest.mark.db
@pytest.mark.broker
async def test_the_export_of_a_school_with_sealed_records_validates_against_the_xsd_and_the_json_schema(
    grades: GradesHarness,
) -> None:
    sealed, drafted = SealedClass(grades), SealedClass(grades)
    for klass in (sealed, drafted):
        await klass.setup()
    await sealed.seal()
    me = office(grades)
    made = await export(grades, me)
    assert (made["kind"], made["since"], made["withdrawn"]) == ("toanbo", None, 0)
    tree, doc = await download(grades, made, me)

    # Checked here against the files in the repository, independently of the service's own check.
    etree.XMLSchema(etree.parse(str(XSD))).assertValid(tree)
    jsonschema.validate(doc, json.loads(JSON_SCHEMA.read_text(encoding="utf-8")))
    students = mine(doc, sealed)
    assert sorted(s["hoten"] for s in students) == ["Phạm Thị Giỏi", "Vũ Văn Khá"]
    assert not mine(doc, drafted)  # records not sealed are not national data
    xml_codes = {
        e.findtext("hb:mahocsinh", namespaces=NS) for e in tree.iterfind("hb:danhsachhocsinh/hb:hocsinh", NS)
    }
    assert {s["mahocsinh"] for s in doc["danhsachhocsinh"]} == xml_codes
    # The ratings and promotion are the engine's, as the class's results show them.
    results = (
        await grades.client.get(f"/results/classes/{sealed.class_name}", headers=sealed.as_vice())
    ).json()
    engine = {r["full_name"]: r for r in results["students"]}
    for student in students:
        (year,) = student["cacnamhoc"]
        assert (year["namhoc"], year["khoi"], year["lanban"]) == (YEAR, 10, 1)
        mine_now = engine[student["hoten"]]
        assert (year["hoctap"]["canam"], year["renluyen"]["canam"], year["lenlop"]) == (
            mine_now["learning_year"],
            mine_now["conduct_year"],
            mine_now["promoted"],
        )
        assert year["sha256"] == "ab" * 32
        for group in ("renluyen", "hoctap"):
            assert {year[group][k] for k in ("hk1", "hk2", "canam")} <= RATINGS
        assert year["renluyen"]["canam"] == "T"
        assert {(m["mamonhoc"], m["canam"]) for m in year["ketquamonhoc"]} == {("TOAN", "9.0"), ("GDTC", "Đ")}
    assert doc["thongtinxuat"]["sohocsinh"] == len(doc["danhsachhocsinh"])
    assert doc["thongtinxuat"]["thoidiemxuat"].endswith("+07:00")
    listed = (await grades.client.get("/national/exports", headers=me)).json()
    assert listed[0]["id"] == made["id"]


@pytest.mark.db
@pytest.mark.broker
async def test_changes_since_an_export_carry_only_the_student_whose_data_changed(
    grades: GradesHarness,
) -> None:
    klass = SealedClass(grades)
    await klass.setup()
    await klass.seal()
    board = klass.as_head()
    full = await export(grades, board)
    nothing = await export(grades, board, since="last")
    assert (nothing["kind"], nothing["since"], nothing["students"]) == ("thaydoi", full["id"], 0)

    # Identity corrects one student's address: grades' roster hears it, the national data changes.
    changed = klass.students[0]
    _, before = await download(grades, full, board)
    code = next(s["mahocsinh"] for s in mine(before, klass) if s["hoten"] == "Phạm Thị Giỏi")
    outcome = await grades.feed(
        StudentUpdated(
            student_id=changed,
            national_id=code,
            full_name="Phạm Thị Giỏi",
            date_of_birth=date(2011, 1, 1),
            gender="female",
            ethnicity="Kinh",
            address="Số 5 phố Lê Lợi, phường Hưng Yên",
            changed_fields=["address"],
            personal_data_version=2,
        )
    )
    assert outcome is Outcome.applied
    since = await export(grades, board, since=full["id"])
    assert (since["kind"], since["students"], since["withdrawn"]) == ("thaydoi", 1, 0)
    tree, doc = await download(grades, since, board)
    etree.XMLSchema(etree.parse(str(XSD))).assertValid(tree)
    jsonschema.validate(doc, json.loads(JSON_SCHEMA.read_text(encoding="utf-8")))
    (student,) = doc["danhsachhocsinh"]
    assert (student["mahocsinh"], student["diachi"]) == (code, "Số 5 phố Lê Lợi, phường Hưng Yên")
    assert doc["thongtinxuat"]["tulanxuat"] == full["id"]
    # "Since the last" (the one just made) is empty again; since the first it still carries the one.
    assert (await export(grades, board, since="last"))["students"] == 0
    assert (await export(grades, board, since=full["id"]))["students"] == 1


@pytest.mark.db
@pytest.mark.broker
async def test_only_the_board_and_the_office_export_and_a_bad_since_is_named(grades: GradesHarness) -> None:
    teacher = grades.headers(uuid.uuid4(), "Trần Văn Toán", ("subject_teacher", "homeroom_teacher"))
    refused = await grades.client.post("/national/exports", headers=teacher, json={})
    assert (refused.status_code, refused.json()["field"]) == (403, "role")
    assert refused.headers["content-type"] == "application/problem+json"
    parent = grades.headers(uuid.uuid4(), "Phụ huynh", ("parent",))
    assert (await grades.client.get("/national/exports", headers=parent)).status_code == 403
    me = office(grades)
    unknown = await grades.client.post("/national/exports", headers=me, json={"since": str(uuid.uuid4())})
    assert (unknown.status_code, unknown.json()["field"]) == (404, "since")
    garbled = await grades.client.post("/national/exports", headers=me, json={"since": "yesterday"})
    assert (garbled.status_code, garbled.json()["field"]) == (422, "since")
    made = await export(grades, me)
    # Another school's office does not see this school's export.
    elsewhere = grades.headers(uuid.uuid4(), "Văn phòng", ("office_admin",), school_id="thpt-khac")
    assert (await grades.client.get(made["xml_url"], headers=elsewhere)).status_code == 404
    assert (await grades.client.get(made["xml_url"], headers=teacher)).status_code == 403


@pytest.mark.db
@pytest.mark.broker
async def test_a_stored_export_tampered_out_of_its_schema_is_refused_not_sent(grades: GradesHarness) -> None:
    klass = SealedClass(grades)
    await klass.setup()
    await klass.seal()
    me = office(grades)
    made = await export(grades, me)
    async with grades.app.state.runtime.db.transaction() as session:
        row = await session.get(NationalExport, uuid.UUID(made["id"]))
        assert row is not None
        doc = json.loads(zlib.decompress(row.document))
        doc["danhsachhocsinh"][0]["cacnamhoc"][0]["hoctap"]["canam"] = "Giỏi"
        row.document = zlib.compress(json.dumps(doc, ensure_ascii=False).encode())
    for url in (made["xml_url"], made["json_url"]):
        served = await grades.client.get(url, headers=me)
        assert served.status_code == 500, served.text
        assert served.headers["content-type"] == "application/problem+json"
        assert served.json()["field"] == "document"
        assert "Giỏi" not in served.text


@pytest.mark.db
@pytest.mark.broker
async def test_a_record_reopened_under_a_correction_is_withdrawn_then_sent_whole_once_sealed_again(
    grades: GradesHarness,
) -> None:
    """Đ9: a sealed record corrected under minutes is no longer sealed: the changes since name the
    student in danhsachrutlai; signed again through steps 2–4, they come back as a new edition."""
    klass = SealedClass(grades)
    await klass.setup()
    await klass.seal()
    board = klass.as_head()
    full = await export(grades, board)
    first = str(klass.students[0])
    record = next(r for r in (await klass.records())["records"] if r["student_id"] == first)
    opened = await grades.client.post(
        f"/records/{record['id']}/corrections",
        headers=board,
        json={
            "expected_version": record["version"],
            "minutes_number": "09/BB-HĐ",
            "minutes_date": "2026-11-20",
            "reason": "Hội đồng xếp lại rèn luyện học kỳ II",
        },
    )
    assert opened.status_code == 201, opened.text
    _, before = await download(grades, full, board)
    code = next(
        s["mahocsinh"] for s in mine(before, klass) if s["cacnamhoc"][0]["madinhdanhhocba"] == record["id"]
    )

    withdrawn = await export(grades, board, since=full["id"])
    assert (withdrawn["students"], withdrawn["withdrawn"]) == (0, 1)
    tree, doc = await download(grades, withdrawn, board)
    etree.XMLSchema(etree.parse(str(XSD))).assertValid(tree)
    assert doc["danhsachrutlai"] == [{"mahocsinh": code}]
    assert tree.findtext("hb:danhsachrutlai/hb:rutlai/hb:mahocsinh", namespaces=NS) == code

    # Conduct lowered, then signed again from step 2: the student is sent whole, as edition 2.
    lower = {"rows": [{"student_id": first, "term": "HK2", "conduct": "K"}]}
    saved = await grades.client.put(
        f"/classes/{klass.class_name}/conduct", headers=klass.as_homeroom(), json=lower
    )
    assert saved.status_code == 200, saved.text
    for step, headers, signer, role in (
        ("homeroom", klass.as_homeroom(), klass.homeroom, "homeroom_teacher"),
        ("vice_principal", klass.as_vice(), klass.vice, "vice_principal"),
        ("principal", board, klass.head, "principal"),
    ):
        started = await klass.sign(step, headers)
        assert started.status_code == 202, started.text
        await klass.complete_records(signer, role)
    back = await export(grades, board, since=withdrawn["id"])
    assert (back["students"], back["withdrawn"]) == (1, 0)
    _, doc = await download(grades, back, board)
    (student,) = doc["danhsachhocsinh"]
    (year,) = student["cacnamhoc"]
    assert (student["mahocsinh"], year["lanban"], year["renluyen"]["hk2"]) == (code, 2, "K")
