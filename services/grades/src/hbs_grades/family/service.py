"""What a parent or a student reads of their results (Đ9): only what teachers have signed.

Subject results come only from score sheets in state `signed`, so a family never sees a draft
score; ratings, promotion and title are computed from those alone (pending while a subject is
unsigned). Conduct, absences and the year-end results (summer training, re-examination) follow
the same rule: they are signed by the homeroom teacher with the year record (step 2), so a family
sees them only once that record has the homeroom signature (`homeroom_signed` or later).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from hbs_grades.conduct.repository import ConductRepository
from hbs_grades.models import Enrolment, RecordState, ScoreSheet, SheetState, Student, TermRecord, YearExtra
from hbs_grades.records.repository import YearRecordRepository
from hbs_grades.reports.service import ResultsService, StudentResults, SubjectColumn
from hbs_grades.results import RulesConfig
from hbs_grades.roster.repository import RosterRepository
from hbs_grades.sheets.repository import ScoreSheetRepository
from hbs_shared.names import name_key


class SignedSheetRepository(ScoreSheetRepository):
    """The school's score sheets as a family sees them: signed ones only."""

    async def for_school(
        self, session: AsyncSession, school_id: str, school_year: str | None = None
    ) -> list[ScoreSheet]:
        sheets = await super().for_school(session, school_id, school_year)
        return [s for s in sheets if s.state == SheetState.signed]

    async def for_class(
        self, session: AsyncSession, school_id: str, school_year: str, class_name: str
    ) -> list[ScoreSheet]:
        # One class's results read only its own sheets (ResultsService.for_class): signed ones here too.
        sheets = await super().for_class(session, school_id, school_year, class_name)
        return [s for s in sheets if s.state == SheetState.signed]


HOMEROOM_SIGNED = frozenset(
    {
        RecordState.homeroom_signed,
        RecordState.signing_vice_principal,
        RecordState.reviewed,
        RecordState.signing_principal,
        RecordState.approved,
    }
)
"""Year-record states that carry the homeroom teacher's signature on conduct and attendance."""


class SignedConductRepository(ConductRepository):
    """Conduct, attendance and year-end results as a family sees them: those of students whose
    year record the homeroom teacher has signed; nothing of the others."""

    def __init__(self, records: YearRecordRepository | None = None) -> None:
        self.records = records or YearRecordRepository()

    async def signed_students(
        self,
        session: AsyncSession,
        school_id: str,
        school_year: str,
        student_ids: Sequence[uuid.UUID] | None,
    ) -> set[uuid.UUID]:
        if student_ids is None:
            records = await self.records.for_school(session, school_id, school_year)
        else:
            records = list(
                (await self.records.for_students(session, school_id, school_year, student_ids)).values()
            )
        return {r.student_id for r in records if r.state in HOMEROOM_SIGNED}

    async def term_records(
        self,
        session: AsyncSession,
        school_id: str,
        school_year: str,
        student_ids: Sequence[uuid.UUID] | None = None,
    ) -> dict[tuple[uuid.UUID, str], TermRecord]:
        rows = await super().term_records(session, school_id, school_year, student_ids)
        signed = await self.signed_students(session, school_id, school_year, student_ids)
        return {key: row for key, row in rows.items() if key[0] in signed}

    async def year_extras(
        self,
        session: AsyncSession,
        school_id: str,
        school_year: str,
        student_ids: Sequence[uuid.UUID] | None = None,
    ) -> dict[uuid.UUID, YearExtra]:
        rows = await super().year_extras(session, school_id, school_year, student_ids)
        signed = await self.signed_students(session, school_id, school_year, student_ids)
        return {key: row for key, row in rows.items() if key in signed}


@dataclass(frozen=True)
class FamilyStudent:
    """A student as a family member sees them in the list: the current class of a year."""

    student: Student
    enrolment: Enrolment


@dataclass(frozen=True)
class FamilyResults:
    school_year: str
    grade_level: int | None
    subjects: list[SubjectColumn]
    signed_sheets: int
    """Signed score sheets of the class this year (HK1 and HK2 of every subject)."""
    total_sheets: int
    result: StudentResults
    conduct_signed: bool
    """Whether the homeroom teacher has signed this year's conduct and attendance (step 2)."""


class FamilyService:
    def __init__(self, rules: RulesConfig, roster: RosterRepository | None = None) -> None:
        self.roster = roster or RosterRepository()
        self.sheets = ScoreSheetRepository()
        self.conduct = SignedConductRepository()
        self.signed = ResultsService(
            rules, sheets=SignedSheetRepository(), roster=self.roster, conduct=self.conduct
        )

    async def students(
        self, session: AsyncSession, school_id: str, school_year: str, student_ids: list[uuid.UUID]
    ) -> list[FamilyStudent]:
        """The given students with their class this year, skipping any not in this school."""
        out = []
        for student_id in student_ids:
            student = await self.roster.student(session, school_id, student_id)
            enrolment = await self.roster.current_class(session, school_id, student_id, school_year)
            if student is None or enrolment is None:
                continue
            out.append(FamilyStudent(student, enrolment))
        return sorted(out, key=lambda f: (f.enrolment.grade_level, name_key(f.student.full_name)))

    async def results(
        self, session: AsyncSession, school_id: str, school_year: str, student_id: uuid.UUID
    ) -> FamilyResults | None:
        enrolment = await self.roster.current_class(session, school_id, student_id, school_year)
        if enrolment is None:
            return None
        klass = await self.signed.for_class(session, school_id, school_year, enrolment.class_name)
        found = next((s for s in klass.students if s.student.id == student_id), None)
        if found is None:
            return None
        sheets = [
            s
            for s in await self.sheets.for_school(session, school_id, school_year)
            if s.class_name == found.class_name
        ]
        return FamilyResults(
            school_year=school_year,
            grade_level=klass.grade_level,
            subjects=klass.subjects,
            signed_sheets=sum(1 for s in sheets if s.state == SheetState.signed),
            total_sheets=len(sheets),
            result=found,
            conduct_signed=bool(
                await self.conduct.signed_students(session, school_id, school_year, [student_id])
            ),
        )
