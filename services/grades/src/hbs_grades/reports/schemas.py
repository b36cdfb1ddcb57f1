"""HTTP shapes of results and reports."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel

from hbs_grades.reports.service import ClassResults, StudentResults, SubjectColumn
from hbs_grades.results import Level, PassMark


def _text(value: Decimal | PassMark | None) -> str | None:
    if value is None:
        return None
    return value.value if isinstance(value, PassMark) else str(value)


def _code(level: Level | None) -> str | None:
    return None if level is None else level.code


class SubjectOut(BaseModel):
    code: str
    name: str
    assessment: Literal["scored", "comment"]

    @classmethod
    def of(cls, column: SubjectColumn) -> SubjectOut:
        return cls(code=column.code, name=column.name, assessment=column.assessment.value)


class SubjectResultOut(BaseModel):
    code: str
    status: Literal["assessed", "exempt", "not_assessed"]
    semester1: str | None
    semester2: str | None
    year: str | None
    """ĐTBmcn, or the comment subject's year result (semester II's)."""
    needs_reexam: bool
    """Sent to re-examination in this subject."""
    retaken: bool = False
    """The student chose to retake it (issue 11 §8)."""
    after_reexam: str | None


class StudentResultOut(BaseModel):
    student_id: uuid.UUID
    national_id: str
    full_name: str
    class_name: str
    subjects: list[SubjectResultOut]
    learning_semester1: str | None
    learning_semester2: str | None
    learning_year: str | None
    conduct_semester1: str | None
    conduct_semester2: str | None
    conduct_year: str | None
    absent_sessions: int | None
    """None on a family's page while the homeroom teacher has not signed attendance."""
    summer_training_required: bool
    conduct_after_summer_training: str | None
    reexam_required: bool
    reexam_subjects: list[str]
    reexam_choice: list[str] | None = None
    """The subjects the student retakes among `reexam_subjects`; None while not recorded."""
    learning_after_reexam: str | None
    over_absence_limit: bool = False
    """Absent more than the limit: repeats the year, no re-examination or summer training."""
    promoted: bool | None
    """None while a result it depends on is missing."""
    not_promoted_reasons: list[str]
    title: str | None

    @classmethod
    def of(cls, item: StudentResults) -> StudentResultOut:
        r = item.result
        return cls(
            student_id=item.student.id,
            national_id=item.student.national_id,
            full_name=item.student.full_name,
            class_name=item.class_name,
            subjects=[
                SubjectResultOut(
                    code=s.code,
                    status=s.status.value,
                    semester1=_text(s.semester1),
                    semester2=_text(s.semester2),
                    year=_text(s.year),
                    needs_reexam=s.needs_reexam,
                    retaken=s.retaken,
                    after_reexam=_text(s.after_reexam),
                )
                for s in r.subjects
            ],
            learning_semester1=_code(r.learning1),
            learning_semester2=_code(r.learning2),
            learning_year=_code(r.learning_year),
            conduct_semester1=_code(r.conduct1),
            conduct_semester2=_code(r.conduct2),
            conduct_year=_code(r.conduct_year),
            absent_sessions=r.absent_sessions,
            summer_training_required=r.summer_training_required,
            conduct_after_summer_training=_code(r.conduct_final) if r.summer_training_required else None,
            reexam_required=r.reexam_required,
            reexam_subjects=list(r.reexam_subjects),
            reexam_choice=None if r.reexam_choice is None else list(r.reexam_choice),
            over_absence_limit=r.over_absence_limit,
            learning_after_reexam=_code(r.learning_after_reexam),
            promoted=r.promoted,
            not_promoted_reasons=list(r.reasons),
            title=r.title.value if r.title else None,
        )


class ClassResultsOut(BaseModel):
    """Bảng tổng hợp kết quả of one class."""

    school_year: str
    class_name: str
    grade_level: int | None
    subjects: list[SubjectOut]
    students: list[StudentResultOut]
    summary: dict[str, dict[str, int]]
    """Counts per rating: learning_year, conduct_year; promoted / not / pending; titles."""

    @classmethod
    def of(cls, results: ClassResults) -> ClassResultsOut:
        students = [StudentResultOut.of(s) for s in results.students]
        return cls(
            school_year=results.school_year,
            class_name=results.class_name,
            grade_level=results.grade_level,
            subjects=[SubjectOut.of(c) for c in results.subjects],
            students=students,
            summary=summarise(students),
        )


def summarise(students: list[StudentResultOut]) -> dict[str, dict[str, int]]:
    def count(values: list[str | None]) -> dict[str, int]:
        out = {code: 0 for code in ("T", "K", "Đ", "CĐ")}
        out["pending"] = 0
        for value in values:
            out[value or "pending"] += 1
        return out

    promotion = {"promoted": 0, "not_promoted": 0, "pending": 0}
    titles = {"Học sinh Xuất sắc": 0, "Học sinh Giỏi": 0}
    for s in students:
        promotion["pending" if s.promoted is None else "promoted" if s.promoted else "not_promoted"] += 1
        if s.title:
            titles[s.title] += 1
    return {
        "learning_year": count([s.learning_year for s in students]),
        "conduct_year": count([s.conduct_year for s in students]),
        "promotion": promotion,
        "titles": titles,
    }
