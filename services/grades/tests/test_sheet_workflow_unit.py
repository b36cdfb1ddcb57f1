"""Unit tests of the score sheet's workflow (Đ8 Step 1) and its signing-reply handlers, wired by
`bootstrap()` with in-memory repositories and outbox: no database, no broker. The same paths run
on a real database and broker in test_sheet_entry.py, test_workflow.py and the whole-system tests."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from hbs_grades.audit import AuditAction
from hbs_grades.bootstrap import bootstrap
from hbs_grades.models import ScoreSheet, SheetState, Student
from hbs_grades.settings import GradesSettings
from hbs_grades.sheets.cells import Cells
from hbs_grades.sheets.handlers import SheetSigningReplies
from hbs_grades.sheets.signing import SheetSigning
from hbs_shared.audit.store import pending_actions
from hbs_shared.auth import Principal
from hbs_shared.events.contracts import SheetSigningRequestedV2, SigningCompleted, SigningFailed
from hbs_shared.problems import Problem
from hbs_shared.school_facts import SchoolFacts

SCHOOL = "thpt-test"
YEAR = "2026-2027"


class FakeSession:
    """The services flush and queue audit entries, nothing else; the fakes hold the state."""

    def __init__(self) -> None:
        self.info: dict[str, Any] = {}

    async def flush(self) -> None:
        return None


class FakeRoster:
    def __init__(self) -> None:
        self.students: list[Student] = []

    async def class_list(self, _session: Any, _school: str, _year: str, _class_name: str) -> list[Student]:
        return list(self.students)


class FakeSheets:
    def __init__(self, roster: FakeRoster) -> None:
        self.roster = roster
        self.rows: dict[uuid.UUID, ScoreSheet] = {}
        self.lines: dict[uuid.UUID, dict[uuid.UUID, Cells]] = {}

    async def class_lines(self, _session: Any, sheet: ScoreSheet) -> list[tuple[Student, Cells | None]]:
        stored = self.lines.get(sheet.id, {})
        return [(student, stored.get(student.id)) for student in self.roster.students]

    async def get(self, _session: Any, school_id: str, sheet_id: uuid.UUID) -> ScoreSheet | None:
        sheet = self.rows.get(sheet_id)
        return sheet if sheet is not None and sheet.school_id == school_id else None

    async def cells(self, _session: Any, sheet_id: uuid.UUID) -> dict[uuid.UUID, Cells]:
        return self.lines.get(sheet_id, {})


class FakeOutbox:
    def __init__(self) -> None:
        self.sent: list[Any] = []

    async def add(self, _session: Any, event: Any, _school_id: str) -> None:
        self.sent.append(event)


class FakeSchool:
    """The school's facts as identity announced them (a table in the real service)."""

    async def get(self, _session: Any, school_id: str) -> SchoolFacts:
        return SchoolFacts(
            school_id=school_id,
            name="Trường THPT Chuyên Thái Bình",
            authority="Sở Giáo dục và Đào tạo Thái Bình",
            province="Thái Bình",
            principal_name="Trần Văn Minh",
            school_year="2026-2027",
        )

    async def require(self, session: Any, school_id: str) -> SchoolFacts:
        return await self.get(session, school_id)


class Wired:
    def __init__(self, tmp_path: Path) -> None:
        self.roster, self.outbox = FakeRoster(), FakeOutbox()
        self.sheets = FakeSheets(self.roster)
        settings = GradesSettings(data_dir=tmp_path, environment="test", school_id=SCHOOL)
        grades = bootstrap(
            settings,
            sheets=self.sheets,
            roster=self.roster,
            outbox=self.outbox,
            school=FakeSchool(),  # type: ignore[arg-type]
        )
        self.service: SheetSigning = grades.sheet_signing
        self.replies: SheetSigningReplies = grades.replies.sheets
        self.session: Any = FakeSession()
        self.teacher = principal("gv.toan", "Nguyễn Thị Hoa", "subject_teacher")
        self.sheet = ScoreSheet(
            id=uuid.uuid4(),
            school_id=SCHOOL,
            school_year=YEAR,
            class_name="10A1",
            subject="Toán",
            subject_code="TOAN",
            assessment="scored",
            regular_count=4,
            term="HK1",
            teacher_id=self.teacher.user_id,
            teacher_name=self.teacher.name,
            state=SheetState.open,
            version=3,
        )
        self.sheets.rows[self.sheet.id] = self.sheet
        for name in ("Lê Thị An", "Trần Văn Bình"):
            self.roster.students.append(
                Student(
                    id=uuid.uuid4(),
                    school_id=SCHOOL,
                    national_id="034100800100",
                    full_name=name,
                    date_of_birth=date(2011, 1, 1),
                    gender="female",
                    disability=False,
                )
            )

    def score_everyone(self, *, but_final_of: int | None = None) -> None:
        self.sheets.lines[self.sheet.id] = {
            student.id: Cells(["8", "7", "9", "6"], "7", None if index == but_final_of else "8")
            for index, student in enumerate(self.roster.students)
        }


def principal(username: str, name: str, *roles: str) -> Principal:
    return Principal(
        user_id=uuid.uuid4(),
        username=username,
        name=name,
        roles=frozenset(roles),
        school_id=SCHOOL,
        token="t",
    )


@pytest.fixture
def wired(tmp_path: Path) -> Wired:
    return Wired(tmp_path)


async def test_submit_names_each_student_with_a_missing_assessment_and_changes_nothing(wired: Wired) -> None:
    wired.score_everyone(but_final_of=1)
    with pytest.raises(Problem) as refused:
        await wired.service.submit(wired.session, wired.teacher, wired.sheet.id, 3)
    assert refused.value.status == 422
    assert "Trần Văn Bình: ĐĐGck" in str(refused.value.detail)
    assert wired.sheet.state == SheetState.open


async def test_a_complete_sheet_is_submitted_then_a_stale_version_is_a_conflict(wired: Wired) -> None:
    wired.score_everyone()
    submitted = await wired.service.submit(wired.session, wired.teacher, wired.sheet.id, 3)
    assert submitted.state == SheetState.submitted
    assert pending_actions(wired.session) == [AuditAction.sheet_submitted]
    with pytest.raises(Problem) as stale:
        await wired.service.request_signature(wired.session, wired.teacher, wired.sheet.id, 2, uuid.uuid4())
    assert (stale.value.status, stale.value.field) == (409, "expected_version")


async def test_only_the_assigned_teacher_acts_and_a_colleague_does_not_see_the_sheet(wired: Wired) -> None:
    wired.score_everyone()
    colleague = principal("gv.van", "Phạm Quốc Dũng", "subject_teacher")
    with pytest.raises(Problem) as hidden:
        await wired.service.submit(wired.session, colleague, wired.sheet.id, 3)
    assert hidden.value.status == 404
    board = principal("hieutruong", "Trần Văn Minh", "principal")
    with pytest.raises(Problem) as refused:
        await wired.service.submit(wired.session, board, wired.sheet.id, 3)
    assert refused.value.status == 403


async def test_requesting_a_signature_sends_the_sheet_as_it_is_with_the_activation(wired: Wired) -> None:
    wired.score_everyone()
    await wired.service.submit(wired.session, wired.teacher, wired.sheet.id, 3)
    activation = uuid.uuid4()
    sheet = await wired.service.request_signature(wired.session, wired.teacher, wired.sheet.id, 3, activation)
    assert sheet.state == SheetState.signing
    [request] = wired.outbox.sent
    assert isinstance(request, SheetSigningRequestedV2)
    assert (request.request_id, request.activation_id) == (sheet.signing_request_id, activation)
    assert [row.full_name for row in request.sheet.rows] == ["Lê Thị An", "Trần Văn Bình"]
    assert request.sheet.rows[0].final == "8"


async def signing(wired: Wired) -> uuid.UUID:
    wired.score_everyone()
    await wired.service.submit(wired.session, wired.teacher, wired.sheet.id, 3)
    await wired.service.request_signature(wired.session, wired.teacher, wired.sheet.id, 3, uuid.uuid4())
    assert wired.sheet.signing_request_id is not None
    return wired.sheet.signing_request_id


async def test_signing_completed_signs_the_sheet_and_a_reply_to_an_older_request_changes_nothing(
    wired: Wired,
) -> None:
    current = await signing(wired)
    old = SigningCompleted(
        request_id=uuid.uuid4(),
        subject_id=wired.sheet.id,
        document_id=uuid.uuid4(),
        sha256="a" * 64,
        signer_user_id=wired.teacher.user_id,
        signer_role="subject_teacher",
        certificate_sha256="b" * 64,
        signed_at=datetime.now(UTC),
    )
    await wired.replies.on_completed(wired.session, SCHOOL, old)
    assert wired.sheet.state == SheetState.signing
    done = old.model_copy(update={"request_id": current})
    await wired.replies.on_completed(wired.session, "thpt-khac", done)
    assert wired.sheet.state == SheetState.signing  # another school's reply finds no sheet of its own
    await wired.replies.on_completed(wired.session, SCHOOL, done)
    assert (wired.sheet.state, wired.sheet.document_id) == (SheetState.signed, done.document_id)


async def test_signing_failed_returns_the_sheet_to_submitted_with_the_reason(wired: Wired) -> None:
    current = await signing(wired)
    failed = SigningFailed(
        request_id=current,
        subject_id=wired.sheet.id,
        signer_user_id=wired.teacher.user_id,
        reason="chứng thư số đã bị thu hồi",
        failed_at=datetime.now(UTC),
    )
    await wired.replies.on_failed(wired.session, SCHOOL, failed)
    assert (wired.sheet.state, wired.sheet.last_error) == (SheetState.submitted, "chứng thư số đã bị thu hồi")
