"""The compliance report (Đ10) from grades' own data: sheets and records, the moments their steps
were done (`step_marks`), the windows in force for each person or class, returns and corrections."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hbs_grades.compliance.report import Filters, Item, PersonKey, Row, compile_rows
from hbs_grades.models import RecordState, ScoreSheet, SheetCorrection, SheetState
from hbs_grades.progress.departments import RECORDS, department_of_step
from hbs_grades.records.repository import YearRecordRepository
from hbs_grades.roster.repository import NO_TEACHER, RosterRepository
from hbs_grades.sheets.repository import ScoreSheetRepository
from hbs_grades.windows.models import StepMark
from hbs_grades.windows.repository import WindowRepository
from hbs_grades.windows.rules import Period
from hbs_grades.windows.service import YearWindows, require_board
from hbs_shared.auth import Principal
from hbs_shared.roles import Role

READY_FOR: dict[int, RecordState] = {3: RecordState.homeroom_signed, 4: RecordState.reviewed}
"""A record waits on the board's step only once the step before is signed."""
BOARD_STEP_ROLE: dict[int, Role] = {3: Role.vice_principal, 4: Role.principal}


class ComplianceService:
    def __init__(self, clock: Callable[[], datetime] | None = None) -> None:
        self.windows = WindowRepository()
        self.sheets = ScoreSheetRepository()
        self.records = YearRecordRepository()
        self.roster = RosterRepository()
        self.clock = clock or (lambda: datetime.now(UTC))

    async def report(
        self, session: AsyncSession, principal: Principal, school_year: str, filters: Filters | None = None
    ) -> tuple[list[Row], datetime, dict[uuid.UUID, str]]:
        """The rows, the moment they were counted at (still-open items are late until then), and
        every person of the year's report by id (the choices of the teacher filter)."""
        filters = filters or Filters()
        require_board(principal, "Chỉ Ban Giám hiệu xem được báo cáo chấp hành thời hạn")
        school_id, now = principal.school_id, self.clock()
        year = YearWindows(
            school_year,
            await self.windows.windows(session, school_id, school_year),
            await self.windows.extensions(session, school_id, school_year),
        )
        marks = await self.windows.marks(session, school_id, school_year)
        finished: dict[tuple[uuid.UUID, int], StepMark] = {}
        for mark in marks:
            if mark.kind == "done" and mark.done_at is not None:
                key = (mark.item_id, mark.step)
                # The first time the step was done counts; a re-signature after a correction does not.
                if key not in finished or mark.done_at < (finished[key].done_at or mark.done_at):
                    finished[key] = mark
        items = [
            *self._sheet_items(await self.sheets.for_school(session, school_id, school_year), year, finished)
        ]
        items += await self._record_items(session, school_id, school_year, year, finished)
        people = {i.person_id: i.person_name for i in items if i.person_id is not None}
        returns = [
            ((m.person_id, m.person_name, m.step, m.period), department_of_step(m.step, None))
            for m in marks
            if m.kind == "returned"
        ]
        corrections = await self._corrections(session, school_id, school_year)
        rows = compile_rows(
            [i for i in (filters.item(item) for item in items) if i is not None],
            [k for k in (filters.key(key, dept) for key, dept in returns) if k is not None],
            [k for k in (filters.key(key, dept) for key, dept in corrections) if k is not None],
            now,
            by_department=filters.by_department,
        )
        return rows, now, people

    def _sheet_items(
        self,
        sheets: list[ScoreSheet],
        year: YearWindows,
        finished: dict[tuple[uuid.UUID, int], StepMark],
    ) -> list[Item]:
        items: list[Item] = []
        for sheet in sheets:
            if sheet.term not in (Period.hk1, Period.hk2) or sheet.teacher_id == NO_TEACHER:
                continue
            state = SheetState(sheet.state)
            for step in (0, 1):
                mark = finished.get((sheet.id, step))
                done_at = mark.done_at if mark is not None else None
                if done_at is None and (
                    sheet.correction_id is not None
                    or state is SheetState.signed
                    or (step == 0 and state is not SheetState.open)
                ):
                    # Done before moments were kept (or under a correction): not counted as late.
                    continue
                window = year.for_(sheet.term, step, teacher_id=sheet.teacher_id, class_name=sheet.class_name)
                department = department_of_step(step, sheet.subject_code)
                items.append(
                    Item(sheet.teacher_id, sheet.teacher_name, step, sheet.term, window, done_at, department)
                )
        return items

    async def _record_items(
        self,
        session: AsyncSession,
        school_id: str,
        school_year: str,
        year: YearWindows,
        finished: dict[tuple[uuid.UUID, int], StepMark],
    ) -> list[Item]:
        items: list[Item] = []
        homeroom: dict[str, tuple[uuid.UUID | None, str]] = {}
        for assignment in await self.roster.active_assignments(session, school_id, school_year):
            if assignment.kind == "homeroom_teacher":
                homeroom.setdefault(assignment.class_name, (assignment.teacher_id, assignment.teacher_name))
        period = Period.year.value
        for record in await self.records.for_school(session, school_id, school_year):
            state = RecordState(record.state)
            for step in (2, 3, 4):
                mark = finished.get((record.id, step))
                if mark is not None:
                    person: tuple[uuid.UUID | None, str] = (mark.person_id, mark.person_name)
                elif step == 2 and state in (RecordState.draft, RecordState.signing_homeroom):
                    person = homeroom.get(record.class_name, (None, f"GVCN lớp {record.class_name}"))
                elif step in READY_FOR and state in (READY_FOR[step], _signing(step)):
                    person = (None, BOARD_STEP_ROLE[step].formal_label)
                else:
                    continue  # not yet this step's turn, or done before moments were kept
                teacher_id = person[0] if step == 2 else None
                window = year.for_(period, step, teacher_id=teacher_id, class_name=record.class_name)
                done_at = mark.done_at if mark is not None else None
                items.append(Item(person[0], person[1], step, period, window, done_at, RECORDS))
        return items

    async def _corrections(
        self, session: AsyncSession, school_id: str, school_year: str
    ) -> list[tuple[PersonKey, str]]:
        """Each correction of a signed sheet counts against the teacher who signed it (step 1)."""
        result = await session.execute(
            select(ScoreSheet.teacher_id, ScoreSheet.teacher_name, ScoreSheet.term, ScoreSheet.subject_code)
            .join(SheetCorrection, SheetCorrection.sheet_id == ScoreSheet.id)
            .where(ScoreSheet.school_id == school_id, ScoreSheet.school_year == school_year)
        )
        return [((tid, name, 1, term), department_of_step(1, code)) for tid, name, term, code in result.all()]


def _signing(step: int) -> RecordState:
    return RecordState.signing_vice_principal if step == 3 else RecordState.signing_principal
