"""The Thông tư 22/2021/TT-BGDĐT results engine: pure functions over Decimal, no I/O.

Everything here is computed, never typed (DOMAIN.md §2): averages are rounded half up to one
digit in decimal arithmetic, ratings use the national codes T / K / Đ / CĐ.
"""

from hbs_grades.results.conduct import year_conduct
from hbs_grades.results.config import DEFAULT_RULES, RulesConfig
from hbs_grades.results.learning import SubjectResult, learning_rating, unadjusted_rating
from hbs_grades.results.numbers import ScoreError, check_score, format_score, parse_score, round1
from hbs_grades.results.subjects import (
    AssessmentCountError,
    comment_semester_result,
    comment_year_result,
    regular_count_for_periods,
    required_assessments,
    semester_average,
    year_average,
)
from hbs_grades.results.types import Level, PassMark, Status
from hbs_grades.results.year import (
    StudentYearInput,
    StudentYearResult,
    SubjectYearInput,
    SubjectYearOutcome,
    Title,
    compute_student_year,
)

__all__ = [
    "DEFAULT_RULES",
    "AssessmentCountError",
    "Level",
    "PassMark",
    "RulesConfig",
    "ScoreError",
    "Status",
    "StudentYearInput",
    "StudentYearResult",
    "SubjectResult",
    "SubjectYearInput",
    "SubjectYearOutcome",
    "Title",
    "check_score",
    "comment_semester_result",
    "comment_year_result",
    "compute_student_year",
    "format_score",
    "learning_rating",
    "parse_score",
    "regular_count_for_periods",
    "required_assessments",
    "round1",
    "semester_average",
    "unadjusted_rating",
    "year_average",
    "year_conduct",
]
