"""Score sheet use cases. Services never commit: the endpoint or handler does, once."""

from __future__ import annotations

import random
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from hbs_grades.models import EntryChange, ScoreSheet, SheetState, Student, Term
from hbs_grades.plan.service import PlanService
from hbs_grades.results import Status, format_score, regular_count_for_periods
from hbs_grades.roster.repository import RosterRepository
from hbs_grades.sheets.cells import (
    CellError,
    Cells,
    assessment_keys,
    column_label,
    missing,
    normalise_cell,
    parse_status,
    semester_result,
)
from hbs_grades.sheets.repository import ScoreSheetRepository
from hbs_grades.sheets.workflow import SheetAction, next_state, state_label
from hbs_shared.auth import Principal
from hbs_shared.curriculum import Assessment, subject
from hbs_shared.demo import demo_person
from hbs_shared.events.contracts import (
    SheetSigningRequestedV2,
    SigningCompleted,
    SigningFailed,
)
from hbs_shared.logging import get_logger
from hbs_shared.messaging.outbox import OutboxRepository
from hbs_shared.problems import Problem
from hbs_shared.records import ScoreSheetContent, SheetRow
from hbs_shared.roles import OVERSEERS
from hbs_shared.school_facts import SchoolFactsStore

log = get_logger(__name__)

OVERSIGHT_ROLES = tuple(OVERSEERS)
NOT_FOUND = Problem(404, "Không tìm thấy sổ điểm", "no such score sheet", field="sheet_id")
EDITABLE = (SheetState.open, SheetState.submitted)
DEMO_PLAN = (
    ("gv.toan", "10A1", "TOAN"),
    ("gv.toan", "10A2", "TOAN"),
    ("gv.toan", "11 Toán chuyên", "TOAN"),
    ("gv.van", "10A1", "NGU_VAN"),
)
"""The demo school's class-subjects the end-to-end flow signs (development seed only)."""


def stale(expected: int, current: int) -> Problem:
    return Problem(
        409,
        "Sổ điểm vừa được thay đổi ở nơi khác, hãy tải lại",
        f"expected version {expected}, current version {current}",
        field="expected_version",
        extra={"current_version": current},
    )


@dataclass(frozen=True)
class CellProblem:
    """One refused cell: which student, which column, what was typed, why."""

    row: int
    student_id: uuid.UUID | None
    full_name: str
    column: str
    value: str | None
    message: str

    def field_path(self) -> str:
        if self.column.startswith("regular_"):
            return f"rows[{self.row}].regular[{int(self.column.removeprefix('regular_')) - 1}]"
        return f"rows[{self.row}].{self.column}"

    def as_dict(self) -> dict[str, object]:
        return {
            "field": self.field_path(),
            "row": self.row,
            "student_id": str(self.student_id) if self.student_id else None,
            "full_name": self.full_name,
            "column": self.column,
            "column_label": column_label(self.column),
            "value": self.value,
            "message": self.message,
        }


def cells_problem(problems: Sequence[CellProblem]) -> Problem:
    first = problems[0]
    return Problem(
        422,
        "Có ô không hợp lệ, chưa lưu gì",
        "; ".join(f"{p.full_name or p.student_id} – {p.column}: {p.message}" for p in problems[:20]),
        field=first.field_path(),
        extra={"errors": [p.as_dict() for p in problems]},
    )


@dataclass(frozen=True)
class RowChange:
    """What a save asks for one student: column key → typed text (None or "" erases)."""

    student_id: uuid.UUID
    cells: Mapping[str, str | None]


@dataclass
class SheetLine:
    student: Student
    cells: Cells
    result: str | None
    missing: list[str]


@dataclass
class SheetView:
    sheet: ScoreSheet
    lines: list[SheetLine] = field(default_factory=list)
    stored: set[uuid.UUID] = field(default_factory=set)
    """Students who have a stored line on this sheet."""

    @property
    def assessment(self) -> Assessment:
        return Assessment(self.sheet.assessment)


class ScoreSheetService:
    def __init__(
        self,
        sheets: ScoreSheetRepository | None = None,
        outbox: OutboxRepository | None = None,
        roster: RosterRepository | None = None,
        plan: PlanService | None = None,
        *,
        school: SchoolFactsStore | None = None,
    ) -> None:
        self.sheets = sheets or ScoreSheetRepository()
        self.outbox = outbox or OutboxRepository()
        self.roster = roster or RosterRepository()
        self.plan = plan or PlanService()
        self.school = school or SchoolFactsStore()

    # ------------------------------------------------------------------ reading, access

    async def visible_to(self, session: AsyncSession, principal: Principal) -> list[ScoreSheet]:
        if principal.has_role(*OVERSIGHT_ROLES):
            return await self.sheets.for_school(session, principal.school_id)
        return await self.sheets.for_teacher(session, principal.school_id, principal.user_id)

    async def get_visible(
        self, session: AsyncSession, principal: Principal, sheet_id: uuid.UUID
    ) -> ScoreSheet:
        sheet = await self.sheets.get(session, sheet_id)
        # Another school's sheet, or a colleague's, is "not found": its existence is not disclosed.
        if sheet is None or sheet.school_id != principal.school_id:
            raise NOT_FOUND
        if sheet.teacher_id != principal.user_id and not principal.has_role(*OVERSIGHT_ROLES):
            raise NOT_FOUND
        return sheet

    async def _owned(
        self, session: AsyncSession, principal: Principal, sheet_id: uuid.UUID, expected: int
    ) -> ScoreSheet:
        sheet = await self.get_visible(session, principal, sheet_id)
        if sheet.teacher_id != principal.user_id:
            raise Problem(
                403,
                "Chỉ giáo viên bộ môn được phân công mới thao tác được sổ điểm này",
                "only the assigned subject teacher may do this",
                field="sheet_id",
            )
        if sheet.version != expected:
            raise stale(expected, sheet.version)
        return sheet

    async def view(self, session: AsyncSession, sheet: ScoreSheet) -> SheetView:
        """The sheet with its class list (current students), each line's cells and result."""
        students = await self.roster.class_list(session, sheet.school_id, sheet.school_year, sheet.class_name)
        stored = await self.sheets.cells(session, sheet.id)
        assessment = Assessment(sheet.assessment)
        view = SheetView(sheet, stored=set(stored))
        for student in students:
            cells = stored.get(student.id) or Cells()
            view.lines.append(
                SheetLine(
                    student,
                    cells,
                    semester_result(cells, assessment, sheet.regular_count),
                    missing(cells, sheet.regular_count),
                )
            )
        return view

    async def visible_view(
        self, session: AsyncSession, principal: Principal, sheet_id: uuid.UUID
    ) -> SheetView:
        return await self.view(session, await self.get_visible(session, principal, sheet_id))

    async def changes(
        self, session: AsyncSession, principal: Principal, sheet_id: uuid.UUID
    ) -> list[EntryChange]:
        sheet = await self.get_visible(session, principal, sheet_id)
        return await self.sheets.changes(session, sheet.id)

    # ------------------------------------------------------------------------ creating

    async def ensure_class_subject_sheets(
        self,
        session: AsyncSession,
        *,
        school_id: str,
        school_year: str,
        class_name: str,
        subject_code: str,
        teacher_id: uuid.UUID,
        teacher_name: str,
        class_id: uuid.UUID | None = None,
        terms: Sequence[Term] = (Term.hk1, Term.hk2),
    ) -> int:
        """The class-subject's sheets for `terms` (idempotent). An existing sheet not yet sent to
        signing follows the assignment to its current teacher."""
        planned = await self.plan.ensure(session, school_id, school_year, class_name, subject_code)
        created = 0
        for term in terms:
            sheet = await self.sheets.find(
                session, school_id, school_year, class_name, planned.name, term.value
            )
            if sheet is None:
                self.sheets.add(
                    session,
                    ScoreSheet(
                        school_id=school_id,
                        school_year=school_year,
                        class_name=class_name,
                        class_id=class_id,
                        subject=planned.name,
                        subject_code=planned.code,
                        assessment=planned.assessment.value,
                        regular_count=planned.regular_count,
                        term=term.value,
                        teacher_id=teacher_id,
                        teacher_name=teacher_name,
                        state=SheetState.open,
                    ),
                )
                created += 1
                continue
            if class_id is not None and sheet.class_id is None:
                sheet.class_id = class_id
            if sheet.teacher_id != teacher_id and SheetState(sheet.state) in EDITABLE:
                sheet.teacher_id = teacher_id
                sheet.teacher_name = teacher_name
        await session.flush()
        return created

    async def seed_demo(self, session: AsyncSession, school_id: str, school_year: str) -> int:
        """The demo school's four class-subjects, HK1 (until identity publishes the assignments)."""
        created = 0
        for username, class_name, code in DEMO_PLAN:
            teacher = demo_person(username)
            created += await self.ensure_class_subject_sheets(
                session,
                school_id=school_id,
                school_year=school_year,
                class_name=class_name,
                subject_code=code,
                teacher_id=teacher.user_id,
                teacher_name=teacher.full_name,
                terms=(Term.hk1,),
            )
        return created

    async def recompute(self, session: AsyncSession, sheet: ScoreSheet) -> None:
        """Rewrite every line's stored result (after the sheet's regular count changed)."""
        assessment = Assessment(sheet.assessment)
        lines: list[dict[str, object]] = [
            {
                "sheet_id": sheet.id,
                "student_id": student_id,
                "regular": cells.regular_slots(sheet.regular_count),
                "result": semester_result(cells, assessment, sheet.regular_count),
            }
            for student_id, cells in (await self.sheets.cells(session, sheet.id)).items()
        ]
        await self.sheets.write_lines(session, [], lines)

    async def require_no_regular_beyond(
        self, session: AsyncSession, sheets: Sequence[ScoreSheet], periods_per_year: int
    ) -> None:
        """Fewer regular assessments must not drop scores already entered in the columns cut."""
        count = regular_count_for_periods(periods_per_year)
        for sheet in sheets:
            for entry in (await self.sheets.entries(session, sheet.id)).values():
                if any(value is not None for value in entry.regular[count:]):
                    raise Problem(
                        409,
                        "Đã có điểm ở cột ĐĐGtx sẽ bị bỏ, không giảm được số tiết",
                        f"sheet {sheet.id} has regular scores beyond {count}",
                        field="periods_per_year",
                    )

    async def fill_demo(
        self, session: AsyncSession, school_id: str, school_year: str, class_name: str
    ) -> int:
        """Development only (the demo school): every current student of the class gets complete,
        made-up scores on each open sheet where they have no line yet, so the demo's sheets can be
        submitted and signed at once. Not audited: it is seed data, not a teacher's entry."""
        if class_name not in {class_name for _, class_name, _ in DEMO_PLAN}:
            return 0
        students = await self.roster.class_list(session, school_id, school_year, class_name)
        written = 0
        for sheet in await self.sheets.for_class(session, school_id, school_year, class_name):
            if SheetState(sheet.state) is not SheetState.open:
                continue
            stored = await self.sheets.cells(session, sheet.id)
            lines: list[dict[str, object]] = []
            for student in students:
                if student.id in stored:
                    continue
                rng = random.Random(f"{sheet.id}/{student.id}")

                def value(rng: random.Random = rng, assessment: str = sheet.assessment) -> str:
                    if assessment == Assessment.comment.value:
                        return "Đ"
                    return format_score(Decimal(rng.randint(10, 20)) / 2)

                cells = Cells([value() for _ in range(sheet.regular_count)], value(), value())
                lines.append(
                    {
                        "sheet_id": sheet.id,
                        "student_id": student.id,
                        "regular": cells.regular,
                        "midterm": cells.midterm,
                        "final": cells.final,
                        "comment": "",
                        "status": Status.assessed.value,
                        "result": semester_result(cells, Assessment(sheet.assessment), sheet.regular_count),
                    }
                )
            await self.sheets.write_lines(session, lines, [])
            written += len(lines)
        return written

    # ------------------------------------------------------------------------- entering

    async def save(
        self,
        session: AsyncSession,
        principal: Principal,
        sheet_id: uuid.UUID,
        expected: int,
        rows: Sequence[RowChange],
        reason: str | None = None,
    ) -> SheetView:
        """Store the changed cells of a sheet, all or nothing, each change audited."""
        sheet = await self._owned(session, principal, sheet_id, expected)
        state = SheetState(sheet.state)
        if state not in EDITABLE:
            raise Problem(
                409,
                "Sổ điểm đã gửi ký, không sửa được (cần thủ tục điều chỉnh có biên bản)",
                f"cannot change a sheet that is {state.value} ({state_label(state)})",
                field="state",
            )
        reason = (reason or "").strip() or None
        if state is SheetState.submitted and reason is None:
            raise Problem(
                422,
                "Sổ điểm đã nộp: cần ghi lý do sửa",
                "a change to a submitted sheet needs a reason",
                field="reason",
            )
        view = await self.view(session, sheet)
        by_student = {line.student.id: line for line in view.lines}
        assessment = Assessment(sheet.assessment)
        allowed = {*assessment_keys(sheet.regular_count), "comment", "status"}

        problems: list[CellProblem] = []
        planned: list[tuple[SheetLine, dict[str, str | None]]] = []
        seen: set[uuid.UUID] = set()
        for index, row in enumerate(rows):
            line = by_student.get(row.student_id)
            if line is None or row.student_id in seen:
                message = "học sinh không có trong lớp" if line is None else "học sinh xuất hiện hai lần"
                problems.append(
                    CellProblem(index, row.student_id, "", "student_id", str(row.student_id), message)
                )
                continue
            seen.add(row.student_id)
            name = line.student.full_name
            normalised: dict[str, str | None] = {}
            for key, text in row.cells.items():
                if key not in allowed:
                    problems.append(
                        CellProblem(index, row.student_id, name, key, text, "cột không có trong sổ điểm")
                    )
                    continue
                try:
                    if key == "comment":
                        normalised[key] = (text or "").strip()[:2000] or None
                    elif key == "status":
                        status = parse_status(text)
                        if status is Status.not_assessed and not line.student.disability:
                            raise CellError("“Không đánh giá” chỉ dành cho học sinh khuyết tật theo quy định")
                        normalised[key] = status.value
                    else:
                        normalised[key] = normalise_cell(assessment, text)
                except CellError as error:
                    problems.append(CellProblem(index, row.student_id, name, key, text, str(error)))
            planned.append((line, normalised))
        if problems:
            raise cells_problem(problems)

        now = datetime.now(UTC)
        audit: list[dict[str, object]] = []
        inserts: list[dict[str, object]] = []
        updates: list[dict[str, object]] = []
        for line, normalised in planned:
            cells = line.cells
            new = Cells(
                cells.regular_slots(sheet.regular_count),
                cells.midterm,
                cells.final,
                cells.comment,
                cells.status,
            )
            touched = False
            for key, value in normalised.items():
                old_value = cells.value(key)
                if old_value == value:
                    continue
                touched = True
                if key.startswith("regular_"):
                    new.regular[int(key.removeprefix("regular_")) - 1] = value
                elif key == "midterm":
                    new.midterm = value
                elif key == "final":
                    new.final = value
                elif key == "comment":
                    new.comment = value or ""
                else:
                    new.status = Status(value or Status.assessed.value)
                audit.append(
                    {
                        "sheet_id": sheet.id,
                        "student_id": line.student.id,
                        "column": key,
                        "old_value": old_value,
                        "new_value": value,
                        "changed_by": principal.user_id,
                        "changed_by_name": principal.name,
                        "changed_at": now,
                        "sheet_state": state.value,
                        "sheet_version": sheet.version + 1,
                        "reason": reason,
                        "correction_id": sheet.correction_id,
                    }
                )
            if not touched:
                continue
            values: dict[str, object] = {
                "sheet_id": sheet.id,
                "student_id": line.student.id,
                "regular": list(new.regular),
                "midterm": new.midterm,
                "final": new.final,
                "comment": new.comment,
                "status": new.status.value,
                "result": semester_result(new, assessment, sheet.regular_count),
            }
            (updates if line.student.id in view.stored else inserts).append(values)
            view.stored.add(line.student.id)
            line.cells = new
            line.result = semester_result(new, assessment, sheet.regular_count)
            line.missing = missing(new, sheet.regular_count)
        changed = len(audit)
        await self.sheets.write_lines(session, inserts, updates)
        await self.sheets.add_changes(session, audit)
        if changed:
            # Every save that changed something is a new version of the sheet; a concurrent save
            # of the same version loses here (UPDATE … WHERE version = expected).
            sheet.updated_at = now
            try:
                await session.flush()
            except StaleDataError:
                raise stale(expected, expected + 1) from None
        return view

    # ------------------------------------------------------------------------- workflow

    async def submit(
        self, session: AsyncSession, principal: Principal, sheet_id: uuid.UUID, expected: int
    ) -> ScoreSheet:
        sheet = await self._owned(session, principal, sheet_id, expected)
        if SheetState(sheet.state) is SheetState.open:
            view = await self.view(session, sheet)
            gaps = [line for line in view.lines if line.missing]
            if gaps:
                raise Problem(
                    422,
                    "Sổ điểm còn thiếu đánh giá, chưa nộp được",
                    "; ".join(
                        f"{line.student.full_name}: {', '.join(column_label(k) for k in line.missing)}"
                        for line in gaps[:20]
                    ),
                    field="rows",
                    extra={
                        "missing": [
                            {
                                "student_id": str(line.student.id),
                                "full_name": line.student.full_name,
                                "columns": line.missing,
                                "column_labels": [column_label(k) for k in line.missing],
                            }
                            for line in gaps
                        ]
                    },
                )
        sheet.state = next_state(SheetState(sheet.state), SheetAction.submit)
        await session.flush()
        return sheet

    async def content(self, session: AsyncSession, sheet: ScoreSheet) -> ScoreSheetContent:
        """What the subject teacher signs: the sheet as it is now."""
        view = await self.view(session, sheet)
        return ScoreSheetContent(
            sheet_id=sheet.id,
            sheet_version=sheet.version,
            school_name=(await self.school.require(session, sheet.school_id)).name,
            school_year=sheet.school_year,
            term="HK2" if sheet.term == Term.hk2.value else "HK1",
            class_name=sheet.class_name,
            subject_code=sheet.subject_code,
            subject_name=subject(sheet.subject_code).name
            if sheet.subject_code != "UNKNOWN"
            else sheet.subject,
            assessment="comment" if sheet.assessment == Assessment.comment.value else "scored",
            regular_count=sheet.regular_count,
            teacher_name=sheet.teacher_name,
            rows=[
                SheetRow(
                    student_id=line.student.id,
                    national_id=line.student.national_id,
                    full_name=line.student.full_name,
                    regular=[v for v in line.cells.regular_slots(sheet.regular_count) if v is not None],
                    midterm=line.cells.midterm,
                    final=line.cells.final,
                    average=line.result,
                    comment=line.cells.comment,
                    status=line.cells.status.value,
                )
                for line in view.lines
            ],
        )

    async def request_signature(
        self,
        session: AsyncSession,
        principal: Principal,
        sheet_id: uuid.UUID,
        expected: int,
        activation_id: uuid.UUID,
    ) -> ScoreSheet:
        sheet = await self._owned(session, principal, sheet_id, expected)
        sheet.state = next_state(SheetState(sheet.state), SheetAction.request_signature)
        sheet.signing_request_id = uuid.uuid4()
        sheet.last_error = None
        await session.flush()
        await self.outbox.add(
            session,
            SheetSigningRequestedV2(
                request_id=sheet.signing_request_id,
                activation_id=activation_id,
                signer_user_id=principal.user_id,
                signer_name=principal.name,
                signer_role="subject_teacher",
                sheet=await self.content(session, sheet),
            ),
            sheet.school_id,
        )
        return sheet

    async def _signing_sheet(
        self, session: AsyncSession, subject_id: uuid.UUID, request_id: uuid.UUID
    ) -> ScoreSheet | None:
        sheet = await self.sheets.get(session, subject_id)
        if sheet is None or sheet.signing_request_id != request_id:
            # A reply to a request superseded or unknown here: recorded in the inbox, no effect.
            log.warning("signing reply for no current request", request_id=str(request_id))
            return None
        return sheet

    async def on_signing_completed(self, session: AsyncSession, event: SigningCompleted) -> None:
        sheet = await self._signing_sheet(session, event.subject_id, event.request_id)
        if sheet is None:
            return
        sheet.state = next_state(SheetState(sheet.state), SheetAction.signature_completed)
        sheet.document_id = event.document_id
        sheet.document_sha256 = event.sha256

    async def on_signing_failed(self, session: AsyncSession, event: SigningFailed) -> None:
        sheet = await self._signing_sheet(session, event.subject_id, event.request_id)
        if sheet is None:
            return
        sheet.state = next_state(SheetState(sheet.state), SheetAction.signature_failed)
        sheet.last_error = event.reason
