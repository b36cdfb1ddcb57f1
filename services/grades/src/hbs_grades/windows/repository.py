"""All SQL of time windows, extensions and step marks."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import and_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hbs_grades.windows.models import StepMark, TimeWindow, WindowExtension


class WindowRepository:
    async def windows(self, session: AsyncSession, school_id: str, school_year: str) -> list[TimeWindow]:
        result = await session.execute(
            select(TimeWindow)
            .where(TimeWindow.school_id == school_id, TimeWindow.school_year == school_year)
            .order_by(TimeWindow.step, TimeWindow.period)
        )
        return list(result.scalars())

    async def window(
        self, session: AsyncSession, school_id: str, school_year: str, period: str, step: int
    ) -> TimeWindow | None:
        result = await session.execute(
            select(TimeWindow).where(
                TimeWindow.school_id == school_id,
                TimeWindow.school_year == school_year,
                TimeWindow.period == period,
                TimeWindow.step == step,
            )
        )
        return result.scalar_one_or_none()

    async def window_with_extensions(
        self, session: AsyncSession, school_id: str, school_year: str, period: str, step: int
    ) -> tuple[TimeWindow | None, list[WindowExtension]]:
        """One step's window and its extensions (oldest first) in one query: every score save
        asks this, so it is one round trip where it was two."""
        result = await session.execute(
            select(TimeWindow, WindowExtension)
            .outerjoin(
                WindowExtension,
                and_(
                    WindowExtension.school_id == TimeWindow.school_id,
                    WindowExtension.school_year == TimeWindow.school_year,
                    WindowExtension.period == TimeWindow.period,
                    WindowExtension.step == TimeWindow.step,
                ),
            )
            .where(
                TimeWindow.school_id == school_id,
                TimeWindow.school_year == school_year,
                TimeWindow.period == period,
                TimeWindow.step == step,
            )
            .order_by(WindowExtension.granted_at)
        )
        rows = result.all()
        if not rows:
            return None, []
        return rows[0][0], [extension for _, extension in rows if extension is not None]

    async def extensions(
        self,
        session: AsyncSession,
        school_id: str,
        school_year: str,
        period: str | None = None,
        step: int | None = None,
    ) -> list[WindowExtension]:
        query = select(WindowExtension).where(
            WindowExtension.school_id == school_id, WindowExtension.school_year == school_year
        )
        if period is not None:
            query = query.where(WindowExtension.period == period)
        if step is not None:
            query = query.where(WindowExtension.step == step)
        result = await session.execute(query.order_by(WindowExtension.granted_at))
        return list(result.scalars())

    def add(self, session: AsyncSession, row: TimeWindow | WindowExtension | StepMark) -> None:
        session.add(row)

    async def delete_window(self, session: AsyncSession, row: TimeWindow) -> None:
        await session.delete(row)

    async def complete(
        self, session: AsyncSession, school_id: str, request_id: uuid.UUID, done_at: datetime
    ) -> None:
        """Signing's reply for a request of the school: its mark is done at the signature's moment."""
        await session.execute(
            update(StepMark)
            .where(
                StepMark.school_id == school_id, StepMark.request_id == request_id, StepMark.done_at.is_(None)
            )
            .values(done_at=done_at)
        )

    async def marks(
        self, session: AsyncSession, school_id: str, school_year: str, periods: Sequence[str] | None = None
    ) -> list[StepMark]:
        query = select(StepMark).where(StepMark.school_id == school_id, StepMark.school_year == school_year)
        if periods is not None:
            query = query.where(StepMark.period.in_(list(periods)))
        result = await session.execute(query.order_by(StepMark.id))
        return list(result.scalars())
