"""Reading score sheets: which ones a caller sees (`grades/access.py` decides), each with its
class list, every line's cells and result, and the change log."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from hbs_grades.access import OVERSIGHT_ROLES, require_sheet_reader, require_sheet_teacher
from hbs_grades.models import EntryChange, ScoreSheet, Student
from hbs_grades.roster.repository import RosterRepository
from hbs_grades.sheets.cells import Cells, missing, semester_result
from hbs_grades.sheets.repository import ScoreSheetRepository
from hbs_grades.workflow import stale_version
from hbs_shared.auth import Principal
from hbs_shared.curriculum import Assessment
from hbs_shared.problems import Problem


def stale(expected: int, current: int) -> Problem:
    return stale_version(
        "Sổ điểm vừa được thay đổi ở nơi khác, hãy tải lại", "expected_version", expected, current
    )


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
    """Students of the class list who have a stored line on this sheet."""

    @property
    def assessment(self) -> Assessment:
        return Assessment(self.sheet.assessment)


class SheetReader:
    def __init__(
        self, sheets: ScoreSheetRepository | None = None, roster: RosterRepository | None = None
    ) -> None:
        self.sheets = sheets or ScoreSheetRepository()
        self.roster = roster or RosterRepository()

    async def visible_to(self, session: AsyncSession, principal: Principal) -> list[ScoreSheet]:
        if principal.has_role(*OVERSIGHT_ROLES):
            return await self.sheets.for_school(session, principal.school_id)
        return await self.sheets.for_teacher(session, principal.school_id, principal.user_id)

    async def get_visible(
        self, session: AsyncSession, principal: Principal, sheet_id: uuid.UUID
    ) -> ScoreSheet:
        return require_sheet_reader(principal, await self.sheets.get(session, principal.school_id, sheet_id))

    async def owned(
        self, session: AsyncSession, principal: Principal, sheet_id: uuid.UUID, expected: int
    ) -> ScoreSheet:
        """The caller's own sheet at the version they saw (entry, submit, signing)."""
        sheet = await self.get_visible(session, principal, sheet_id)
        require_sheet_teacher(principal, sheet)
        if sheet.version != expected:
            raise stale(expected, sheet.version)
        return sheet

    async def view(self, session: AsyncSession, sheet: ScoreSheet) -> SheetView:
        """The sheet with its class list (current students), each line's cells and result."""
        assessment = Assessment(sheet.assessment)
        view = SheetView(sheet)
        for student, stored in await self.sheets.class_lines(session, sheet):
            if stored is not None:
                view.stored.add(student.id)
            cells = stored or Cells()
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
