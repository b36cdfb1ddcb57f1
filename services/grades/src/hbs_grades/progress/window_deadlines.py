"""The progress view's deadlines from the school's time windows (hbs_grades.windows, Đ5).

Lateness follows the windows' rule: it counts from the school's closing day (`base_closes_on`),
even for a teacher or class given an extension (an extension permits, it does not excuse), so
the board's view and the compliance report (Đ10) agree."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from hbs_grades.progress.deadlines import DeadlineBook
from hbs_grades.progress.steps import SHEET_STEPS, ProgressStep
from hbs_grades.windows.rules import Period, deadline
from hbs_grades.windows.service import WindowsService, YearWindows

WINDOW_STEP: dict[ProgressStep, int] = {
    ProgressStep.score_entry: 0,
    ProgressStep.sheet_signing: 1,
    ProgressStep.homeroom: 2,
    ProgressStep.review: 3,
    ProgressStep.approval: 4,
}


class WindowBook:
    def __init__(self, year: YearWindows) -> None:
        self.year = year

    def due(
        self, step: ProgressStep, term: str | None, class_name: str, person_id: uuid.UUID | None
    ) -> datetime | None:
        period = term if step in SHEET_STEPS else Period.year.value
        if period is None:
            return None
        window = self.year.for_(period, WINDOW_STEP[step], teacher_id=person_id, class_name=class_name)
        return deadline(window.base_closes_on) if window is not None else None


class WindowDeadlines:
    def __init__(self, windows: WindowsService) -> None:
        self.windows = windows

    async def book(self, session: AsyncSession, school_id: str, school_year: str) -> DeadlineBook:
        return WindowBook(await self.windows.year(session, school_id, school_year))
