"""When each step is due: the plug between the progress view and the time windows (Đ5).

The progress view asks one `DeadlineBook` per school and year; until the windows are known it
gets `NO_DEADLINES` (nothing is due, so nothing is late). `hbs_grades.windows` supplies the real
one (see `WindowDeadlines`)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from hbs_grades.progress.steps import ProgressStep


class DeadlineBook(Protocol):
    def due(
        self, step: ProgressStep, term: str | None, class_name: str, person_id: uuid.UUID | None
    ) -> datetime | None:
        """The closing moment (aware) of this step for this class and person, extensions
        included; None when no window is set."""
        ...


class Deadlines(Protocol):
    async def book(self, session: AsyncSession, school_id: str, school_year: str) -> DeadlineBook: ...


class _Nothing:
    def due(
        self, step: ProgressStep, term: str | None, class_name: str, person_id: uuid.UUID | None
    ) -> datetime | None:
        return None


class NoDeadlines:
    async def book(self, session: AsyncSession, school_id: str, school_year: str) -> DeadlineBook:
        return _Nothing()
