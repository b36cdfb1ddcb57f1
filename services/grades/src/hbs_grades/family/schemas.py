"""HTTP shapes of the family views."""

from __future__ import annotations

import uuid

from pydantic import BaseModel

from hbs_grades.family.service import FamilyResults, FamilyStudent
from hbs_grades.reports.schemas import StudentResultOut, SubjectOut


class FamilyStudentOut(BaseModel):
    student_id: uuid.UUID
    full_name: str
    class_name: str
    grade_level: int
    school_year: str

    @classmethod
    def of(cls, item: FamilyStudent) -> FamilyStudentOut:
        return cls(
            student_id=item.student.id,
            full_name=item.student.full_name,
            class_name=item.enrolment.class_name,
            grade_level=item.enrolment.grade_level,
            school_year=item.enrolment.school_year,
        )


class FamilyResultsOut(BaseModel):
    """A student's results of one school year as the family sees them (signed sheets only)."""

    school_year: str
    grade_level: int | None
    subjects: list[SubjectOut]
    signed_sheets: int
    total_sheets: int
    conduct_signed: bool
    """Conduct, absences and year-end results are shown once the homeroom teacher signed them."""
    result: StudentResultOut

    @classmethod
    def of(cls, found: FamilyResults) -> FamilyResultsOut:
        return cls(
            school_year=found.school_year,
            grade_level=found.grade_level,
            subjects=[SubjectOut.of(c) for c in found.subjects],
            signed_sheets=found.signed_sheets,
            total_sheets=found.total_sheets,
            conduct_signed=found.conduct_signed,
            result=_family_view(StudentResultOut.of(found.result), found.conduct_signed),
        )


def _family_view(result: StudentResultOut, conduct_signed: bool) -> StudentResultOut:
    """Absences are a count, not a rating: unsigned, they read "Chưa có" (None), never 0."""
    return result if conduct_signed else result.model_copy(update={"absent_sessions": None})
