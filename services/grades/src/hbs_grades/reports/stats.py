"""Subject statistics: distribution and average of one subject's results, per class and grade;
and the learning and conduct ratings of every class (the board's chart of ratings per class)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

from pydantic import BaseModel

from hbs_grades.reports.schemas import StudentResultOut
from hbs_grades.reports.service import ClassResults
from hbs_grades.results import PassMark, Status

Period = Literal["HK1", "HK2", "year"]
BANDS: tuple[tuple[str, Decimal, Decimal], ...] = (
    ("0–<3.5", Decimal(0), Decimal("3.5")),
    ("3.5–<5.0", Decimal("3.5"), Decimal("5.0")),
    ("5.0–<6.5", Decimal("5.0"), Decimal("6.5")),
    ("6.5–<8.0", Decimal("6.5"), Decimal("8.0")),
    ("8.0–10", Decimal("8.0"), Decimal("10.1")),
)


class SubjectStats(BaseModel):
    scope: str
    """A class name, or "Khối 10" for a grade level."""
    students: int
    assessed: int
    exempt: int
    pending: int
    average: str | None
    """Mean of the results (scored subjects), two digits, half up."""
    distribution: dict[str, int]
    """Score bands (scored) or Đ / CĐ (comment)."""


@dataclass
class _Tally:
    scope: str
    students: int = 0
    exempt: int = 0
    pending: int = 0
    scores: list[Decimal] = field(default_factory=list)
    marks: list[PassMark] = field(default_factory=list)

    def out(self, comment: bool) -> SubjectStats:
        if comment:
            distribution = {m.value: sum(1 for x in self.marks if x is m) for m in PassMark}
        else:
            distribution = {
                label: sum(1 for s in self.scores if low <= s < high) for label, low, high in BANDS
            }
        average = None
        if self.scores:
            mean = sum(self.scores, Decimal(0)) / len(self.scores)
            average = str(mean.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))
        return SubjectStats(
            scope=self.scope,
            students=self.students,
            assessed=len(self.scores) + len(self.marks),
            exempt=self.exempt,
            pending=self.pending,
            average=average,
            distribution=distribution,
        )


def subject_statistics(
    classes: Sequence[ClassResults], subject_code: str, period: Period
) -> tuple[bool, list[SubjectStats], list[SubjectStats]]:
    """(is comment subject, per class, per grade level) for the classes that study the subject."""
    per_class: list[_Tally] = []
    per_grade: dict[int, _Tally] = {}
    comment = False
    for results in classes:
        column = next((c for c in results.subjects if c.code == subject_code), None)
        if column is None:
            continue
        comment = column.assessment.value == "comment"
        tally = _Tally(results.class_name)
        grade = per_grade.setdefault(results.grade_level or 0, _Tally(f"Khối {results.grade_level or '?'}"))
        for student in results.students:
            outcome = next(s for s in student.result.subjects if s.code == subject_code)
            value = {"HK1": outcome.semester1, "HK2": outcome.semester2, "year": outcome.year}[period]
            for target in (tally, grade):
                target.students += 1
                if outcome.status is not Status.assessed:
                    target.exempt += 1
                elif value is None:
                    target.pending += 1
                elif isinstance(value, PassMark):
                    target.marks.append(value)
                else:
                    target.scores.append(value)
        per_class.append(tally)
    return (
        comment,
        [t.out(comment) for t in per_class],
        [per_grade[g].out(comment) for g in sorted(per_grade)],
    )


RATING_CODES = ("T", "K", "Đ", "CĐ")
"""Tốt, Khá, Đạt, Chưa đạt (Thông tư 22, Điều 8 and 9), by their code in national data."""
_COLUMN = {"HK1": "semester1", "HK2": "semester2", "year": "year"}


class ClassRatings(BaseModel):
    """Xếp loại of one class for one period: how many students at each level."""

    class_name: str
    grade_level: int | None
    students: int
    learning: dict[str, int]
    """T / K / Đ / CĐ, and "pending" for the students without a learning result yet."""
    conduct: dict[str, int]
    """T / K / Đ / CĐ, and "pending" for the students without a conduct rating yet."""


def class_ratings(classes: Sequence[ClassResults], period: Period) -> list[ClassRatings]:
    """Every class's learning and conduct ratings for the period, counted as each student's
    results say (the same values as the class's result sheet)."""
    column = _COLUMN[period]
    out = []
    for results in classes:
        students = [StudentResultOut.of(s) for s in results.students]
        counts = {}
        for kind in ("learning", "conduct"):
            tally = dict.fromkeys((*RATING_CODES, "pending"), 0)
            for student in students:
                value = getattr(student, f"{kind}_{column}")
                tally[value if value in RATING_CODES else "pending"] += 1
            counts[kind] = tally
        out.append(
            ClassRatings(
                class_name=results.class_name,
                grade_level=results.grade_level,
                students=len(students),
                learning=counts["learning"],
                conduct=counts["conduct"],
            )
        )
    return out
