"""All SQL on score sheets, their entries and the audit of changes."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import cast

from sqlalchemy import Table, and_, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hbs_grades.models import Enrolment, EntryChange, ScoreSheet, SheetEntry, Student
from hbs_grades.results import Status
from hbs_grades.roster.repository import vietnamese_order
from hbs_grades.sheets import bulk
from hbs_grades.sheets.cells import Cells

_ENTRIES = cast(Table, SheetEntry.__table__)
_CHANGES = cast(Table, EntryChange.__table__)
_ONE_PER_SAVE = (
    "sheet_id",
    "changed_by",
    "changed_by_name",
    "changed_at",
    "sheet_state",
    "sheet_version",
    "reason",
    "correction_id",
)
"""The change log's columns that one save writes alike on every row (sent once on PostgreSQL)."""
_ORDER = (ScoreSheet.class_name, ScoreSheet.subject, ScoreSheet.term)


class ScoreSheetRepository:
    async def get(self, session: AsyncSession, school_id: str, sheet_id: uuid.UUID) -> ScoreSheet | None:
        """The school's sheet: an id of another school's is not found. By primary key, so a sheet
        the request has already loaded is not read again (a save reads its sheet once, issue 12)."""
        sheet = await session.get(ScoreSheet, sheet_id)
        return sheet if sheet is not None and sheet.school_id == school_id else None

    async def for_school(
        self, session: AsyncSession, school_id: str, school_year: str | None = None
    ) -> list[ScoreSheet]:
        query = select(ScoreSheet).where(ScoreSheet.school_id == school_id)
        if school_year is not None:
            query = query.where(ScoreSheet.school_year == school_year)
        result = await session.execute(query.order_by(*_ORDER))
        return list(result.scalars())

    async def for_teacher(
        self, session: AsyncSession, school_id: str, teacher_id: uuid.UUID
    ) -> list[ScoreSheet]:
        result = await session.execute(
            select(ScoreSheet)
            .where(ScoreSheet.school_id == school_id, ScoreSheet.teacher_id == teacher_id)
            .order_by(*_ORDER)
        )
        return list(result.scalars())

    async def for_sign_batch(
        self, session: AsyncSession, school_id: str, batch_id: uuid.UUID
    ) -> list[ScoreSheet]:
        result = await session.execute(
            select(ScoreSheet)
            .where(ScoreSheet.school_id == school_id, ScoreSheet.sign_batch_id == batch_id)
            .order_by(*_ORDER)
        )
        return list(result.scalars())

    async def for_class(
        self, session: AsyncSession, school_id: str, school_year: str, class_name: str
    ) -> list[ScoreSheet]:
        result = await session.execute(
            select(ScoreSheet)
            .where(
                ScoreSheet.school_id == school_id,
                ScoreSheet.school_year == school_year,
                ScoreSheet.class_name == class_name,
            )
            .order_by(*_ORDER)
        )
        return list(result.scalars())

    async def find(
        self,
        session: AsyncSession,
        school_id: str,
        school_year: str,
        class_name: str,
        subject: str,
        term: str,
    ) -> ScoreSheet | None:
        result = await session.execute(
            select(ScoreSheet).where(
                ScoreSheet.school_id == school_id,
                ScoreSheet.school_year == school_year,
                ScoreSheet.class_name == class_name,
                ScoreSheet.subject == subject,
                ScoreSheet.term == term,
            )
        )
        return result.scalar_one_or_none()

    def add(self, session: AsyncSession, sheet: ScoreSheet | SheetEntry | EntryChange) -> None:
        session.add(sheet)

    async def entries(self, session: AsyncSession, sheet_id: uuid.UUID) -> dict[uuid.UUID, SheetEntry]:
        result = await session.execute(select(SheetEntry).where(SheetEntry.sheet_id == sheet_id))
        return {entry.student_id: entry for entry in result.scalars()}

    async def entries_of_sheets(
        self, session: AsyncSession, sheet_ids: Sequence[uuid.UUID]
    ) -> dict[uuid.UUID, dict[uuid.UUID, SheetEntry]]:
        by_sheet: dict[uuid.UUID, dict[uuid.UUID, SheetEntry]] = {sheet_id: {} for sheet_id in sheet_ids}
        ids = list(sheet_ids)
        for start in range(0, len(ids), 500):
            result = await session.execute(
                select(SheetEntry).where(SheetEntry.sheet_id.in_(ids[start : start + 500]))
            )
            for entry in result.scalars():
                by_sheet[entry.sheet_id][entry.student_id] = entry
        return by_sheet

    async def changes(self, session: AsyncSession, sheet_id: uuid.UUID) -> list[EntryChange]:
        result = await session.execute(
            select(EntryChange).where(EntryChange.sheet_id == sheet_id).order_by(EntryChange.id)
        )
        return list(result.scalars())

    async def cells(self, session: AsyncSession, sheet_id: uuid.UUID) -> dict[uuid.UUID, Cells]:
        """The sheet's stored lines as plain values (no mapped objects: a save rewrites them)."""
        rows = await session.execute(
            select(
                SheetEntry.student_id,
                SheetEntry.regular,
                SheetEntry.midterm,
                SheetEntry.final,
                SheetEntry.comment,
                SheetEntry.status,
            ).where(SheetEntry.sheet_id == sheet_id)
        )
        return {
            student_id: Cells(list(regular), midterm, final, comment, Status(status))
            for student_id, regular, midterm, final, comment, status in rows.all()
        }

    async def class_lines(
        self, session: AsyncSession, sheet: ScoreSheet
    ) -> list[tuple[Student, Cells | None]]:
        """The class list (the students now in the class, in class-list order), each with its
        stored cells on this sheet or None: one query where a save used to make two."""
        rows = await session.execute(
            select(
                Student,
                SheetEntry.student_id,
                SheetEntry.regular,
                SheetEntry.midterm,
                SheetEntry.final,
                SheetEntry.comment,
                SheetEntry.status,
            )
            .join(Enrolment, Enrolment.student_id == Student.id)
            .outerjoin(SheetEntry, and_(SheetEntry.sheet_id == sheet.id, SheetEntry.student_id == Student.id))
            .where(
                Enrolment.school_id == sheet.school_id,
                Enrolment.school_year == sheet.school_year,
                Enrolment.class_name == sheet.class_name,
                Enrolment.left_on.is_(None),
            )
        )
        found = [
            (student, None if line is None else Cells(list(regular), midterm, final, comment, Status(status)))
            for student, line, regular, midterm, final, comment, status in rows.all()
        ]
        return sorted(found, key=lambda pair: vietnamese_order(pair[0]))

    async def write_lines(
        self, session: AsyncSession, new: list[dict[str, object]], changed: list[dict[str, object]]
    ) -> None:
        """Insert new lines and rewrite existing ones: on PostgreSQL one statement for both (rows
        as arrays, `INSERT … SELECT FROM unnest … ON CONFLICT DO UPDATE`), elsewhere an
        executemany each."""
        if bulk.on_postgresql(session):
            if new or changed:
                await session.execute(*bulk.upsert(_ENTRIES, [*new, *changed], shared=("sheet_id",)))
            return
        if new:
            await session.execute(insert(_ENTRIES), new)
        if changed:
            await session.execute(update(SheetEntry), changed)

    async def add_changes(self, session: AsyncSession, changes: list[dict[str, object]]) -> None:
        """The change log of a save, hundreds of rows: on PostgreSQL one INSERT of arrays (an
        executemany there is one server round of parse-bind-execute per row), elsewhere an
        executemany of the table (not the mapped class)."""
        if not changes:
            return
        if bulk.on_postgresql(session):
            await session.execute(*bulk.insert_rows(_CHANGES, changes, shared=_ONE_PER_SAVE))
        else:
            await session.execute(insert(_CHANGES), changes)
