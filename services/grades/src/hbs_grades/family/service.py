"""What a parent or a student reads of their results (Đ9): only what teachers have signed.

Subject results come only from score sheets in state `signed`, so a family never sees a draft
score; ratings, promotion and title are computed from those alone (pending while a subject is
unsigned). Conduct and absences are shown as the homeroom teacher entered them.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from hbs_grades.models import Enrolment, ScoreSheet, SheetState, Student
from hbs_grades.reports.service import ResultsService, StudentResults, SubjectColumn
from hbs_grades.results import RulesConfig
from hbs_grades.roster.repository import RosterRepository
from hbs_grades.sheets.repository import ScoreSheetRepository


class SignedSheetRepository(ScoreSheetRepository):
    """The school's score sheets as a family sees them: signed ones only."""

    async def for_school(
        self, session: AsyncSession, school_id: str, school_year: str | None = None
    ) -> list[ScoreSheet]:
        sheets = await super().for_school(session, school_id, school_year)
        return [s for s in sheets if s.state == SheetState.signed]


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


class FamilyService:
    def __init__(self, rules: RulesConfig, roster: RosterRepository | None = None) -> None:
        self.roster = roster or RosterRepository()
        self.sheets = ScoreSheetRepository()
        self.signed = ResultsService(rules, sheets=SignedSheetRepository(), roster=self.roster)

    async def students(
        self, session: AsyncSession, school_id: str, school_year: str, student_ids: list[uuid.UUID]
    ) -> list[FamilyStudent]:
        """The given students with their class this year, skipping any not in this school."""
        out = []
        for student_id in student_ids:
            student = await self.roster.student(session, student_id)
            enrolment = await self.roster.current_class(session, student_id, school_year)
            if student is None or enrolment is None or student.school_id != school_id:
                continue
            out.append(FamilyStudent(student, enrolment))
        return sorted(out, key=lambda f: (f.enrolment.grade_level, f.student.full_name))

    async def results(
        self, session: AsyncSession, school_id: str, school_year: str, student_id: uuid.UUID
    ) -> FamilyResults | None:
        enrolment = await self.roster.current_class(session, student_id, school_year)
        if enrolment is None or enrolment.school_id != school_id:
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
        )
