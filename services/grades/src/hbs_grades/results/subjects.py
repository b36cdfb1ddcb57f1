"""One subject's results: required assessments, ĐTBmhk, ĐTBmcn, comment-subject results."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from hbs_grades.results.numbers import check_score, round1
from hbs_grades.results.types import PassMark
from hbs_shared.curriculum import Assessment

REGULAR_COUNTS = (2, 3, 4)
"""The only numbers of ĐĐGtx a semester can have, whatever the periods."""


class AssessmentCountError(ValueError):
    """A wrong number of assessments for the subject; `field` names the list ("regular")."""

    def __init__(self, message: str, field: str = "regular") -> None:
        super().__init__(message)
        self.field = field


def regular_count_for_periods(periods_per_year: int) -> int:
    """ĐĐGtx per semester: 2 for 35 periods a year, 3 for more than 35 up to 70, 4 above 70."""
    if periods_per_year <= 0:
        raise ValueError("periods per year must be positive")
    if periods_per_year <= 35:
        return 2
    if periods_per_year <= 70:
        return 3
    return 4


def required_assessments(assessment: Assessment, regular_count: int) -> int:
    """Assessments a student needs per semester: the regular ones plus mid-term and end-of-term
    (for a comment subject those two are comments too, so the count is the same)."""
    return regular_count + 2


def semester_average(
    regular: Sequence[Decimal],
    midterm: Decimal,
    final: Decimal,
    *,
    periods_per_year: int | None = None,
    regular_count: int | None = None,
) -> Decimal:
    """ĐTBmhk = (ΣĐĐGtx + 2·ĐĐGgk + 3·ĐĐGck) / (number of ĐĐGtx + 5), half up to one digit.

    The engine checks its own input rather than averaging nonsense: every score 0–10 in tenths
    (ScoreError naming the field), and 2, 3 or 4 ĐĐGtx — exactly the number the period rule gives
    when `periods_per_year` is known, or `regular_count` when the caller holds the subject's
    count already (AssessmentCountError).
    """
    if periods_per_year is not None:
        expected = regular_count_for_periods(periods_per_year)
        if len(regular) != expected:
            raise AssessmentCountError(
                f"ĐĐGtx: môn {periods_per_year} tiết/năm cần đúng {expected} điểm đánh giá thường "
                f"xuyên, nhận {len(regular)}"
            )
    if regular_count is not None and len(regular) != regular_count:
        raise AssessmentCountError(
            f"ĐĐGtx: môn này cần đúng {regular_count} điểm đánh giá thường xuyên, nhận {len(regular)}"
        )
    if len(regular) not in REGULAR_COUNTS:
        raise AssessmentCountError(
            f"ĐĐGtx: mỗi học kỳ có 2, 3 hoặc 4 điểm đánh giá thường xuyên, nhận {len(regular)}"
        )
    for index, score in enumerate(regular, start=1):
        check_score(score, f"regular_{index}", f"ĐĐGtx {index}")
    check_score(midterm, "midterm", "ĐĐGgk")
    check_score(final, "final", "ĐĐGck")
    total = sum(regular, Decimal(0)) + 2 * midterm + 3 * final
    return round1(total / (len(regular) + 5))


def year_average(semester1: Decimal | None, semester2: Decimal | None) -> Decimal | None:
    """ĐTBmcn = (ĐTBmhkI + 2·ĐTBmhkII) / 3, half up to one digit.

    A semester the student was exempt from (None) leaves the other semester's average as the
    year's; both None gives None.
    """
    if semester1 is None or semester2 is None:
        return semester2 if semester1 is None else semester1
    return round1((semester1 + 2 * semester2) / 3)


def comment_semester_result(marks: Sequence[PassMark | None], required: int) -> PassMark:
    """Đạt if every required assessment was given and all are Đạt; otherwise Chưa đạt.

    More marks than the subject requires is an input error, not a result (AssessmentCountError)."""
    if len(marks) > required:
        raise AssessmentCountError(
            f"Môn đánh giá bằng nhận xét cần {required} lần đánh giá mỗi học kỳ, nhận {len(marks)}"
        )
    given = [mark for mark in marks if mark is not None]
    if len(given) >= required and all(mark is PassMark.dat for mark in given):
        return PassMark.dat
    return PassMark.chua_dat


def comment_year_result(semester1: PassMark | None, semester2: PassMark | None) -> PassMark | None:
    """The year result of a comment subject equals semester II's (semester I's if exempt in II)."""
    return semester2 if semester2 is not None else semester1
