"""One subject's results: required assessments, ĐTBmhk, ĐTBmcn, comment-subject results."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from hbs_grades.results.numbers import round1
from hbs_grades.results.types import PassMark
from hbs_shared.curriculum import Assessment


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


def semester_average(regular: Sequence[Decimal], midterm: Decimal, final: Decimal) -> Decimal:
    """ĐTBmhk = (ΣĐĐGtx + 2·ĐĐGgk + 3·ĐĐGck) / (number of ĐĐGtx + 5), half up to one digit."""
    if not regular:
        raise ValueError("a semester average needs the regular assessments")
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
    """Đạt if every required assessment was given and all are Đạt; otherwise Chưa đạt."""
    given = [mark for mark in marks if mark is not None]
    if len(given) >= required and all(mark is PassMark.dat for mark in given):
        return PassMark.dat
    return PassMark.chua_dat


def comment_year_result(semester1: PassMark | None, semester2: PassMark | None) -> PassMark | None:
    """The year result of a comment subject equals semester II's (semester I's if exempt in II)."""
    return semester2 if semester2 is not None else semester1
