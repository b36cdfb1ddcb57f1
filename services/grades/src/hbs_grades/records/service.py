"""Year record use cases (Đ8 Steps 2–4). Services never commit: the endpoint or handler does, once."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from hbs_grades import audit
from hbs_grades.access import BOARD_ROLES, OVERSIGHT_ROLES, require_class_reader, require_homeroom
from hbs_grades.conduct.repository import ConductRepository
from hbs_grades.models import RecordState, ScoreSheet, SheetState, Student, Term, YearRecord
from hbs_grades.plan.repository import PlanRepository
from hbs_grades.records.content import RecordContext, assemble, subject_teachers
from hbs_grades.records.repository import YearRecordRepository
from hbs_grades.records.workflow import (
    RECORDS,
    SIGNING,
    STEP_ACTION,
    STEP_NUMBER,
    STEP_READY,
    STEP_ROLE,
    RecordAction,
    Step,
    awaiting_review,
    new_edition,
)
from hbs_grades.reports.service import ResultsService
from hbs_grades.review.samples import outstanding
from hbs_grades.review.verification import PersonalDataChecks
from hbs_grades.roster.repository import RosterRepository
from hbs_grades.sheets.repository import ScoreSheetRepository
from hbs_grades.sheets.workflow import SHEETS
from hbs_grades.windows.rules import Period
from hbs_grades.windows.service import WindowsService
from hbs_grades.workflow import stale_version
from hbs_shared.auth import Principal
from hbs_shared.display import school_today
from hbs_shared.events.contracts import RecordSigningRequested
from hbs_shared.events.envelope import EventPayload
from hbs_shared.labels import TERM_LABELS
from hbs_shared.logging import get_logger
from hbs_shared.messaging.outbox import OutboxRepository
from hbs_shared.problems import Problem
from hbs_shared.records import YearRecordContent
from hbs_shared.school_facts import SchoolFacts, SchoolFactsStore

log = get_logger(__name__)

NOT_FOUND = Problem(404, "Không tìm thấy học bạ", "no such year record", field="record_id")


def stale(field_name: str, expected: int, current: int) -> Problem:
    return stale_version("Học bạ vừa được thay đổi ở nơi khác, hãy tải lại", field_name, expected, current)


@dataclass
class ClassRecords:
    school_year: str
    class_name: str
    lines: list[tuple[YearRecord, Student]]
    missing: list[str]
    """Why step 2 cannot open yet (Vietnamese); empty when it can."""

    @property
    def counts(self) -> dict[str, int]:
        return dict(Counter(RecordState(r.state).value for r, _ in self.lines))


@dataclass(frozen=True)
class _ClassStep:
    """One class of a signing request, read once: its lines, sheets and the records ready now."""

    class_name: str
    lines: list[tuple[YearRecord, Student]]
    sheets: list[ScoreSheet]
    ready: list[YearRecord]


@dataclass(frozen=True)
class BatchProgress:
    counts: dict[str, int]
    """Records per state."""
    failed: list[tuple[uuid.UUID, str]]
    """(record, reason) of each record whose signature failed."""

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def done(self) -> bool:
        return not any(RecordState(state) in SIGNING for state in self.counts)


@dataclass
class BatchStarted:
    batch_id: uuid.UUID
    step: Step
    records: list[YearRecord] = field(default_factory=list)


class YearRecordService:
    def __init__(
        self,
        results: ResultsService,
        school: SchoolFactsStore | None = None,
        windows: WindowsService | None = None,
    ) -> None:
        self.results = results
        self.windows = windows
        """Đ5: each step is signed within the school's window (none: always open)."""
        self.school = school or SchoolFactsStore()
        """The school's name, province and principal, as identity announced them."""
        self.records = YearRecordRepository()
        self.sheets = ScoreSheetRepository()
        self.roster = RosterRepository()
        self.plans = PlanRepository()
        self.conduct = ConductRepository()
        self.outbox = OutboxRepository()
        self.checks = PersonalDataChecks(self.roster)

    # ------------------------------------------------------------------ reading, access

    async def _ensure(
        self,
        session: AsyncSession,
        school_id: str,
        school_year: str,
        class_name: str,
        students: Sequence[Student] | None = None,
    ) -> list[tuple[YearRecord, Student]]:
        """Every current student of the class has a record (created on first look); `students`:
        the class's current list in class-list order, when the caller has read it already."""
        if students is None:
            students = await self.roster.class_list(session, school_id, school_year, class_name)
        found = await self.records.for_students(session, school_id, school_year, [s.id for s in students])
        lines: list[tuple[YearRecord, Student]] = []
        for student in students:
            record = found.get(student.id)
            if record is None:
                record = YearRecord(
                    id=uuid.uuid4(),
                    school_id=school_id,
                    school_year=school_year,
                    class_name=class_name,
                    student_id=student.id,
                    state=RecordState.draft,
                    edition=1,
                    remarks="",
                    edition_signed=False,
                )
                self.records.add(session, record)
            elif record.class_name != class_name and RecordState(record.state) is RecordState.draft:
                record.class_name = class_name  # moved class before anyone signed it
            lines.append((record, student))
        await session.flush()
        return lines

    async def class_records(
        self, session: AsyncSession, principal: Principal, school_year: str, class_name: str
    ) -> ClassRecords:
        await require_class_reader(session, self.roster, principal, school_year, class_name)
        lines = await self._ensure(session, principal.school_id, school_year, class_name)
        if not lines:
            raise Problem(404, "Không tìm thấy lớp", "no student in this class", field="class_name")
        missing = await self.missing_for_step2(session, principal.school_id, school_year, class_name, lines)
        return ClassRecords(school_year, class_name, lines, missing)

    async def school_summary(
        self, session: AsyncSession, principal: Principal, school_year: str
    ) -> dict[str, dict[str, int]]:
        """Per class, the number of records in each state (the board's overview)."""
        if not principal.has_role(*OVERSIGHT_ROLES):
            raise Problem(
                403, "Chỉ Ban Giám hiệu xem được học bạ toàn trường", "overseers only", field="role"
            )
        # The school's lists read once; each class's records made or read from them.
        lists = await self.roster.school_lists(session, principal.school_id, school_year)
        summary: dict[str, Counter[str]] = {}
        for class_name, students in sorted(lists.items()):
            for record, _ in await self._ensure(
                session, principal.school_id, school_year, class_name, students
            ):
                summary.setdefault(record.class_name, Counter())[RecordState(record.state).value] += 1
        return {name: dict(counts) for name, counts in sorted(summary.items())}

    async def homeroom_classes(
        self, session: AsyncSession, principal: Principal, school_year: str
    ) -> list[str]:
        """The classes the caller is homeroom teacher of this year (Đ6)."""
        assignments = await self.roster.active_assignments(
            session, principal.school_id, school_year, principal.user_id
        )
        return sorted({a.class_name for a in assignments if a.kind == "homeroom_teacher"})

    async def get_visible(
        self, session: AsyncSession, principal: Principal, record_id: uuid.UUID
    ) -> tuple[YearRecord, Student]:
        record = await self.records.get(session, principal.school_id, record_id)
        # Another school's record, or one of a class the caller does not teach, is "not found".
        if record is None:
            raise NOT_FOUND
        try:
            await require_class_reader(session, self.roster, principal, record.school_year, record.class_name)
        except Problem:
            raise NOT_FOUND from None
        student = await self.roster.student(session, record.school_id, record.student_id)
        if student is None:
            raise NOT_FOUND
        return record, student

    async def contents(
        self,
        session: AsyncSession,
        school_id: str,
        school_year: str,
        class_name: str,
        records: Sequence[YearRecord],
        *,
        students: Sequence[Student] | None = None,
        sheets: Sequence[ScoreSheet] | None = None,
        school: SchoolFacts | None = None,
    ) -> dict[uuid.UUID, YearRecordContent]:
        """The content of each record as it would be signed now. A caller that holds the class's
        current list (class-list order), its sheets or the school's facts passes them: the year end
        computes a class's results once per class and step, reading roster and sheets once."""
        if not records:
            return {}
        if sheets is None:
            sheets = await self.sheets.for_class(session, school_id, school_year, class_name)
        columns = await self.results.for_class(
            session, school_id, school_year, class_name, students=students, sheets=sheets
        )
        by_student = {s.student.id: s for s in columns.students}
        homeroom = await self.roster.homeroom_teachers(session, school_id, school_year, class_name)
        school = school or await self.school.require(session, school_id)
        context = RecordContext(
            school_name=school.name,
            province=school.require_province(),
            school_year=school_year,
            class_name=class_name,
            homeroom_teacher_name=homeroom[0].teacher_name if homeroom else "",
            principal_name=school.principal_name,
            teachers=subject_teachers(sheets),
            on=school_today(),
        )
        places = await self.records.correction_places(
            session, school_id, school_year, [r.student_id for r in records]
        )
        out: dict[uuid.UUID, YearRecordContent] = {}
        for record in records:
            results = by_student.get(record.student_id)
            if results is not None:
                out[record.id] = assemble(record, results, columns, context, places)
        return out

    async def content(self, session: AsyncSession, record: YearRecord) -> YearRecordContent:
        found = await self.contents(
            session, record.school_id, record.school_year, record.class_name, [record]
        )
        if record.id not in found:
            raise Problem(
                409, "Học sinh không còn trong lớp", "the student left the class", field="record_id"
            )
        return found[record.id]

    async def missing_for_step2(
        self,
        session: AsyncSession,
        school_id: str,
        school_year: str,
        class_name: str,
        lines: Sequence[tuple[YearRecord, Student]],
        class_sheets: Sequence[ScoreSheet] | None = None,
    ) -> list[str]:
        """Step 2 opens only when every sheet of both semesters is signed and conduct is complete."""
        missing: list[str] = []
        if class_sheets is None:
            class_sheets = await self.sheets.for_class(session, school_id, school_year, class_name)
        sheets = {(s.subject_code, s.term): s for s in class_sheets}
        codes = {
            p.subject_code: p for p in await self.plans.for_class(session, school_id, school_year, class_name)
        }
        names = {code: sheet.subject for (code, _), sheet in sheets.items()}
        # Each missing sheet names the subject teacher who must act on it (Đ4.1, Đ5).
        teachers = {
            a.subject_code: a.teacher_name
            for a in await self.roster.active_assignments(
                session, school_id, school_year, class_name=class_name
            )
            if a.kind == "subject_teacher"
        }
        for code in sorted(set(codes) | {code for code, _ in sheets}):
            for term in (Term.hk1.value, Term.hk2.value):
                sheet = sheets.get((code, term))
                name = names.get(code, code)
                teacher = teachers.get(code)
                who = f" (GV bộ môn: {teacher})" if teacher else " (chưa phân công giáo viên)"
                if sheet is None:
                    missing.append(f"Môn {name} – {TERM_LABELS[term]}: chưa có sổ điểm{who}")
                elif SheetState(sheet.state) is not SheetState.signed:
                    label = SHEETS.label(SheetState(sheet.state))
                    missing.append(f"Môn {name} – {TERM_LABELS[term]}: sổ điểm {label}, chưa ký{who}")
        if not codes and not sheets:
            missing.append("Lớp chưa có môn học nào trong kế hoạch")
        records = await self.conduct.term_records(session, school_id, school_year, [s.id for _, s in lines])
        for term in (Term.hk1.value, Term.hk2.value):
            without = [
                s.full_name for _, s in lines if (r := records.get((s.id, term))) is None or r.conduct is None
            ]
            if without:
                shown = ", ".join(without[:10]) + (
                    f" và {len(without) - 10} học sinh khác" if len(without) > 10 else ""
                )
                missing.append(f"Kết quả rèn luyện {TERM_LABELS[term]} còn thiếu: {shown}")
        # Đ6.1: every current student's personal data checked by the homeroom teacher, still current.
        missing += await self.checks.missing(session, school_id, school_year, [s for _, s in lines])
        return missing

    # -------------------------------------------------------------------------- writing

    async def edit_remarks(
        self, session: AsyncSession, principal: Principal, record_id: uuid.UUID, expected: int, remarks: str
    ) -> YearRecord:
        """Nhận xét của GVCN: editable by the homeroom teacher until the record is signed."""
        record, _ = await self.get_visible(session, principal, record_id)
        await require_homeroom(session, self.roster, principal, record.school_year, record.class_name)
        if record.version != expected:
            raise stale("expected_version", expected, record.version)
        if RecordState(record.state) is not RecordState.draft:
            label = RECORDS.label(RecordState(record.state))
            raise Problem(
                409,
                f"Học bạ đang ở trạng thái “{label}”, không sửa nhận xét được",
                "remarks change only while the record is a draft",
                field="state",
            )
        record.remarks = remarks
        try:
            await session.flush()
        except StaleDataError:
            raise stale("expected_version", expected, expected + 1) from None
        return record

    async def _authorise_step(
        self, session: AsyncSession, principal: Principal, step: Step, school_year: str, class_name: str
    ) -> None:
        if step is Step.homeroom:
            await require_homeroom(session, self.roster, principal, school_year, class_name)
            return
        if not principal.has_role(STEP_ROLE[step]):
            title = (
                f"Chỉ Phó Hiệu trưởng ký duyệt học bạ (bước {STEP_NUMBER[step]})"
                if step is Step.vice_principal
                else f"Chỉ Hiệu trưởng ký phê duyệt học bạ (bước {STEP_NUMBER[step]})"
            )
            raise Problem(403, title, f"the {step.value} step needs the {STEP_ROLE[step]} role", field="step")

    async def sign(
        self,
        session: AsyncSession,
        principal: Principal,
        *,
        school_year: str,
        step: Step,
        class_names: Sequence[str],
        activation_id: uuid.UUID,
        batch_id: uuid.UUID,
        expected: Mapping[uuid.UUID, int] | None = None,
    ) -> BatchStarted:
        """One signature request per ready record of the classes, all under one activation.

        Per class, its roster, records and sheets are read once and its results computed once; the
        requests of every class go to the outbox in one INSERT (the principal's step 4 names the
        whole school: ~1,500 records in one request)."""
        started = BatchStarted(batch_id, step)
        per_class: list[_ClassStep] = []
        for class_name in dict.fromkeys(class_names):
            await self._authorise_step(session, principal, step, school_year, class_name)
            if self.windows is not None:
                await self.windows.require_open(
                    session,
                    principal.school_id,
                    school_year,
                    Period.year,
                    STEP_NUMBER[step],
                    teacher_id=principal.user_id,
                    class_name=class_name,
                    field="class_names",
                )
            lines = await self._ensure(session, principal.school_id, school_year, class_name)
            if not lines:
                raise Problem(404, "Không tìm thấy lớp", "no student in this class", field="class_names")
            sheets = await self.sheets.for_class(session, principal.school_id, school_year, class_name)
            if step is Step.homeroom:
                missing = await self.missing_for_step2(
                    session, principal.school_id, school_year, class_name, lines, sheets
                )
                if missing:
                    raise Problem(
                        422,
                        f"Lớp {class_name} chưa ký học bạ được: " + "; ".join(missing),
                        "; ".join(missing),
                        field="class_names",
                        extra={"class_name": class_name, "missing": missing},
                    )
            if step is Step.vice_principal:
                # Đ4.2: the class's random sample checked and passed before the review signature.
                left = await outstanding(session, principal.school_id, school_year, class_name)
                if left:
                    raise Problem(
                        409,
                        f"Lớp {class_name} chưa qua kiểm tra mẫu: " + "; ".join(left),
                        f"class {class_name}: the review sample has not passed",
                        field="class_names",
                        extra={"class_name": class_name, "outstanding": left},
                    )
            records = [r for r, _ in lines]
            if step is Step.principal:
                # Đ3: the principal approves only after every earlier signature exists.
                waiting = awaiting_review(RecordState(r.state) for r in records)
                if waiting:
                    detail = ", ".join(f"{n} học bạ {label}" for label, n in waiting.items())
                    raise Problem(
                        409,
                        f"Lớp {class_name} chưa đủ chữ ký GVCN và PHT: {detail}",
                        f"class {class_name} has records not yet reviewed",
                        field="class_names",
                        extra={"class_name": class_name, "waiting": dict(waiting)},
                    )
            ready = [r for r in records if RecordState(r.state) is STEP_READY[step]]
            per_class.append(_ClassStep(class_name, lines, sheets, ready))
        if not any(c.ready for c in per_class):
            raise Problem(
                409,
                "Không có học bạ nào chờ ký ở bước này",
                f"no record ready for the {step.value} step",
                field="step",
            )
        if expected is not None:
            for c in per_class:
                for record in c.ready:
                    wanted = expected.get(record.id)
                    if wanted != record.version:
                        raise stale(f"expected[{record.id}]", wanted or 0, record.version)
        school = await self.school.require(session, principal.school_id)
        # Every class's contents first, then every record's change: no flush between classes
        # (on PostgreSQL each autoflushed record is its own UPDATE round trip mid-read).
        contents: dict[uuid.UUID, YearRecordContent] = {}
        for c in per_class:
            contents.update(
                await self.contents(
                    session,
                    principal.school_id,
                    school_year,
                    c.class_name,
                    c.ready,
                    students=[student for _, student in c.lines],
                    sheets=c.sheets,
                    school=school,
                )
            )
        requests: list[tuple[EventPayload, str]] = []
        for c in per_class:
            for record in c.ready:
                if record.id not in contents:
                    continue
                record.state = RECORDS.next(RecordState(record.state), STEP_ACTION[step])
                record.request_id = uuid.uuid4()
                record.batch_id = batch_id
                record.batch_by = principal.user_id
                record.last_error = None
                record.returned_reason = None if step is Step.homeroom else record.returned_reason
                requests.append(
                    (
                        RecordSigningRequested(
                            request_id=record.request_id,
                            activation_id=activation_id,
                            batch_id=batch_id,
                            signer_user_id=principal.user_id,
                            signer_name=principal.name,
                            signer_role=STEP_ROLE[step],
                            base_document_id=None if step is Step.homeroom else record.document_id,
                            record=contents[record.id],
                        ),
                        principal.school_id,
                    )
                )
                await audit.record(
                    session,
                    school_id=record.school_id,
                    actor=principal,
                    action=audit.AuditAction.record_signing_requested,
                    subject=("record", record.id),
                    details={
                        "student_name": contents[record.id].student.full_name,
                        "class_name": record.class_name,
                        "school_year": record.school_year,
                        "step": STEP_NUMBER[step],
                        "edition": record.edition,
                        "batch_id": batch_id,
                    },
                )
                started.records.append(record)
        await self.outbox.add_many(session, requests)
        try:
            await session.flush()
        except StaleDataError:
            # Another request changed one of these records between our read and this write.
            raise Problem(
                409, "Học bạ vừa được thay đổi ở nơi khác, hãy tải lại", "concurrent change", field="expected"
            ) from None
        return started

    async def give_back(
        self,
        session: AsyncSession,
        principal: Principal,
        *,
        school_year: str,
        reason: str,
        record_id: uuid.UUID | None = None,
        class_name: str | None = None,
        expected: int | None = None,
    ) -> list[YearRecord]:
        """Trả lại GVCN: a signed record (or a class's) goes back to a draft, to be signed again."""
        if not principal.has_role(*BOARD_ROLES):
            raise Problem(403, "Chỉ Ban Giám hiệu trả lại học bạ được", "board only", field="role")
        if record_id is not None:
            record, _ = await self.get_visible(session, principal, record_id)
            if expected is not None and record.version != expected:
                raise stale("expected_version", expected, record.version)
            records = [record]
        else:
            assert class_name is not None
            lines = await self._ensure(session, principal.school_id, school_year, class_name)
            records = [
                r
                for r, _ in lines
                if RecordState(r.state) in (RecordState.homeroom_signed, RecordState.reviewed)
            ]
            if not records:
                raise Problem(
                    409, "Lớp không có học bạ nào đã ký để trả lại", "nothing to return", field="class_name"
                )
        for record in records:
            record.state = RECORDS.next(RecordState(record.state), RecordAction.give_back)
            new_edition(record, reason)
        await session.flush()
        for record in records:
            await audit.record(
                session,
                school_id=record.school_id,
                actor=principal,
                action=audit.AuditAction.record_returned,
                subject=("record", record.id),
                details=await audit.record_details(session, record, reason=reason, edition=record.edition),
            )
        return records

    async def reopen_class(
        self,
        session: AsyncSession,
        school_id: str,
        school_year: str,
        class_name: str,
        reason: str,
        actor: Principal | audit.Actor = audit.SYSTEM,
    ) -> int:
        """A sheet of the class is corrected (Đ9): each record is signed again as a new edition."""
        reopened: list[YearRecord] = []
        for record in await self.records.for_class(session, school_id, school_year, class_name):
            state = RecordState(record.state)
            if (state is RecordState.draft and not record.edition_signed) or state is RecordState.revoked:
                continue  # a revoked record is final: a sheet's correction does not bring it back
            record.state = RECORDS.next(state, RecordAction.reopen)
            new_edition(record, reason)
            reopened.append(record)
        await session.flush()
        for record in reopened:
            await audit.record(
                session,
                school_id=school_id,
                actor=actor,
                action=audit.AuditAction.record_reopened,
                subject=("record", record.id),
                details=await audit.record_details(session, record, reason=reason, edition=record.edition),
            )
        return len(reopened)

    async def batch(self, session: AsyncSession, principal: Principal, batch_id: uuid.UUID) -> BatchProgress:
        """How far a batch got, counted in the database (a page polls it every few seconds)."""
        by, counts, failed = await self.records.batch_counts(session, principal.school_id, batch_id)
        if not counts or (principal.user_id not in by and not principal.has_role(*OVERSIGHT_ROLES)):
            raise Problem(404, "Không tìm thấy lô ký", "no such batch", field="batch_id")
        return BatchProgress({RecordState(s).value: n for s, n in counts.items()}, failed)
