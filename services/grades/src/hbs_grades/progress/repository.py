"""All SQL of the progress view: a few grouped queries over a whole school, never one per sheet."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hbs_grades.models import Assignment, Enrolment, RecordState, ScoreSheet, YearRecord


@dataclass(frozen=True)
class SheetRow:
    id: uuid.UUID
    class_name: str
    subject: str
    subject_code: str
    term: str
    teacher_id: uuid.UUID
    teacher_name: str
    state: str
    updated_at: datetime


@dataclass(frozen=True)
class Homeroom:
    teacher_id: uuid.UUID
    teacher_name: str


class ProgressRepository:
    async def sheets(
        self, session: AsyncSession, school_id: str, school_year: str, term: str | None
    ) -> list[SheetRow]:
        """Every sheet of the year (or of one semester): one query, only the columns shown."""
        query = select(
            ScoreSheet.id,
            ScoreSheet.class_name,
            ScoreSheet.subject,
            ScoreSheet.subject_code,
            ScoreSheet.term,
            ScoreSheet.teacher_id,
            ScoreSheet.teacher_name,
            ScoreSheet.state,
            ScoreSheet.updated_at,
        ).where(ScoreSheet.school_id == school_id, ScoreSheet.school_year == school_year)
        if term is not None:
            query = query.where(ScoreSheet.term == term)
        rows = (await session.execute(query)).all()
        return [SheetRow(*row) for row in rows]

    async def record_counts(
        self, session: AsyncSession, school_id: str, school_year: str
    ) -> dict[str, dict[str, int]]:
        """Per class, its current students' year records by state; a student whose record was
        never opened counts as a draft (records are made on the class's first look)."""
        current = (
            Enrolment.school_id == school_id,
            Enrolment.school_year == school_year,
            Enrolment.left_on.is_(None),
        )
        students = await session.execute(
            select(Enrolment.class_name, func.count()).where(*current).group_by(Enrolment.class_name)
        )
        sizes = {str(name): int(count) for name, count in students.all()}
        counted = await session.execute(
            select(Enrolment.class_name, YearRecord.state, func.count())
            .join(
                YearRecord,
                (YearRecord.student_id == Enrolment.student_id)
                & (YearRecord.school_year == Enrolment.school_year)
                & (YearRecord.school_id == Enrolment.school_id),
            )
            .where(*current)
            .group_by(Enrolment.class_name, YearRecord.state)
        )
        out: dict[str, dict[str, int]] = {name: {} for name in sizes}
        for name, state, count in counted.all():
            out.setdefault(str(name), {})[str(state)] = int(count)
        for name, size in sizes.items():
            unopened = size - sum(out[name].values())
            if unopened > 0:
                draft = RecordState.draft.value
                out[name][draft] = out[name].get(draft, 0) + unopened
        return out

    async def homerooms(self, session: AsyncSession, school_id: str, school_year: str) -> dict[str, Homeroom]:
        """Each class's active homeroom teacher."""
        rows = await session.execute(
            select(Assignment.class_name, Assignment.teacher_id, Assignment.teacher_name).where(
                Assignment.school_id == school_id,
                Assignment.school_year == school_year,
                Assignment.kind == "homeroom_teacher",
                Assignment.active.is_(True),
            )
        )
        return {str(name): Homeroom(tid, str(tname)) for name, tid, tname in rows.all()}
