"""A student's whole year: subject results, ratings, conduct, promotion, re-examination, summer
conduct training, titles (Thông tư 22 as DOMAIN.md §2 restates it).

Re-examination (kiểm tra lại): the student is sent to it in every failed subject, chooses one or
several of them to retake, and the learning result is rated again on the mix — retaken subjects
with their new result, the others with their year result — with the same rules, adjustment
included. A student over the absence limit repeats the year: no re-examination, no summer training.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

from hbs_grades.results.conduct import year_conduct
from hbs_grades.results.config import DEFAULT_RULES, RulesConfig
from hbs_grades.results.learning import FIVE, SubjectResult, learning_rating
from hbs_grades.results.numbers import check_score
from hbs_grades.results.subjects import comment_year_result, year_average
from hbs_grades.results.types import Level, PassMark, Status
from hbs_shared.curriculum import Assessment

NINE = Decimal("9.0")
EXCELLENT_SUBJECTS = 6
"""Học sinh Xuất sắc: at least 6 scored subjects with ĐTBmcn ≥ 9.0."""


class Title(StrEnum):
    xuat_sac = "Học sinh Xuất sắc"
    gioi = "Học sinh Giỏi"


@dataclass(frozen=True)
class SubjectYearInput:
    """One subject for one student: each semester's ĐTBmhk (scored) or Đ/CĐ (comment).

    A semester's status says whether it counts: an exempt or not-assessed semester has no result.
    `reexam` is the re-assessed result (a score or Đ/CĐ) once the re-examination was held.
    """

    code: str
    assessment: Assessment
    semester1: Decimal | PassMark | None = None
    semester2: Decimal | PassMark | None = None
    status1: Status = Status.assessed
    status2: Status = Status.assessed
    reexam: Decimal | PassMark | None = None

    @property
    def year_status(self) -> Status:
        """Assessed if either semester is; exempt/not-assessed only when both are."""
        if Status.assessed in (self.status1, self.status2):
            return Status.assessed
        return self.status2


@dataclass(frozen=True)
class SubjectYearOutcome:
    code: str
    assessment: Assessment
    status: Status
    semester1: Decimal | PassMark | None
    semester2: Decimal | PassMark | None
    year: Decimal | PassMark | None
    needs_reexam: bool = False
    """Sent to re-examination in this subject (it failed the year)."""
    after_reexam: Decimal | PassMark | None = None
    """The re-examination result, for a subject the student chose to retake."""
    retaken: bool = False
    """The student chose to retake it: its result after re-examination replaces the year's."""


@dataclass(frozen=True)
class StudentYearInput:
    subjects: Sequence[SubjectYearInput]
    conduct1: Level | None = None
    conduct2: Level | None = None
    absent_sessions: int = 0
    """Sessions (buổi) absent in the whole year, excused or not, continuous or not."""
    summer_training: Level | None = None
    """The re-evaluated conduct after summer conduct training, once done."""
    reexam_choice: Collection[str] | None = None
    """Subject codes the student chose to retake among those sent to re-examination: None while
    the choice is not recorded, empty when they retake none (then the year result stands)."""


@dataclass(frozen=True)
class StudentYearResult:
    subjects: tuple[SubjectYearOutcome, ...]
    learning1: Level | None
    learning2: Level | None
    learning_year: Level | None
    conduct1: Level | None
    conduct2: Level | None
    conduct_year: Level | None
    absent_sessions: int
    summer_training_required: bool
    conduct_final: Level | None
    """Year conduct after summer conduct training replaced it (if it did)."""
    reexam_required: bool
    reexam_subjects: tuple[str, ...]
    learning_after_reexam: Level | None
    promoted: bool | None
    """None while a result it depends on (conduct, learning, summer training, re-exam) is missing."""
    title: Title | None
    reasons: tuple[str, ...] = field(default_factory=tuple)
    """Why the student is not promoted (Vietnamese), empty otherwise."""
    reexam_choice: tuple[str, ...] | None = None
    """The subjects retaken (those chosen that were sent to re-examination), in subject order;
    None while the choice is not recorded or no re-examination is due."""
    over_absence_limit: bool = False
    """More sessions absent than the limit: repeats the year, no re-examination or summer training."""


_SEMESTER_LABELS = {"semester1": "học kỳ I", "semester2": "học kỳ II", "reexam": "kiểm tra lại"}


def _check(subject: SubjectYearInput) -> None:
    """Scores entering the engine are 0–10 in tenths; a wrong one is named, never averaged."""
    for name, label in _SEMESTER_LABELS.items():
        value = getattr(subject, name)
        if subject.assessment is Assessment.scored and value is not None and not isinstance(value, PassMark):
            check_score(value, f"{subject.code}.{name}", f"{subject.code}, {label}")


def _semester_result(subject: SubjectYearInput, semester: int) -> SubjectResult:
    value = subject.semester1 if semester == 1 else subject.semester2
    status = subject.status1 if semester == 1 else subject.status2
    return _as_result(subject.code, subject.assessment, value, status)


def _as_result(
    code: str, assessment: Assessment, value: Decimal | PassMark | None, status: Status
) -> SubjectResult:
    if assessment is Assessment.scored:
        if isinstance(value, PassMark):
            raise ValueError(f"{code}: a scored subject's result must be a score")
        return SubjectResult(code, assessment, score=value, status=status)
    if isinstance(value, Decimal):
        raise ValueError(f"{code}: a comment subject's result must be Đ or CĐ")
    return SubjectResult(code, assessment, mark=value, status=status)


def _year_value(subject: SubjectYearInput) -> Decimal | PassMark | None:
    one = subject.semester1 if subject.status1 is Status.assessed else None
    two = subject.semester2 if subject.status2 is Status.assessed else None
    if subject.assessment is Assessment.scored:
        assert not isinstance(one, PassMark)
        assert not isinstance(two, PassMark)
        if subject.status1 is Status.assessed and one is None:
            return None
        if subject.status2 is Status.assessed and two is None:
            return None
        return year_average(one, two)
    assert not isinstance(one, Decimal)
    assert not isinstance(two, Decimal)
    if subject.status2 is Status.assessed:
        return two
    return comment_year_result(one, None)


def _fails(assessment: Assessment, value: Decimal | PassMark | None) -> bool:
    """Re-examined subjects: comment subject Chưa đạt, scored ĐTBmcn < 5.0."""
    if assessment is Assessment.scored:
        return isinstance(value, Decimal) and value < FIVE
    return value is PassMark.chua_dat


def _title(conduct: Level | None, learning: Level | None, years: Mapping[str, SubjectResult]) -> Title | None:
    if conduct is not Level.tot or learning is not Level.tot:
        return None
    excellent = sum(
        1 for result in years.values() if result.counts and result.score is not None and result.score >= NINE
    )
    return Title.xuat_sac if excellent >= EXCELLENT_SUBJECTS else Title.gioi


def compute_student_year(inputs: StudentYearInput, rules: RulesConfig = DEFAULT_RULES) -> StudentYearResult:
    """Every result of one student's year from the entered data; pure and deterministic.

    Raises ScoreError (naming the field, e.g. "TOAN.semester2") for a score outside 0–10 or not
    in tenths."""
    for subject in inputs.subjects:
        _check(subject)
    semester1 = [_semester_result(s, 1) for s in inputs.subjects]
    semester2 = [_semester_result(s, 2) for s in inputs.subjects]
    year_values = {s.code: _year_value(s) for s in inputs.subjects}
    years = {
        s.code: _as_result(s.code, s.assessment, year_values[s.code], s.year_status) for s in inputs.subjects
    }
    learning1 = learning_rating(semester1)
    learning2 = learning_rating(semester2)
    learning_year = learning_rating(list(years.values()))
    conduct = (
        year_conduct(inputs.conduct1, inputs.conduct2)
        if inputs.conduct1 is not None and inputs.conduct2 is not None
        else None
    )

    # Absent more than the limit: the year is repeated whatever else (DOMAIN §2), so neither
    # summer training nor re-examination is offered.
    over_limit = inputs.absent_sessions > rules.max_absent_sessions

    # Summer conduct training: when year conduct is Chưa đạt, its re-evaluation replaces it.
    summer_required = conduct is Level.chua_dat and not over_limit
    conduct_final: Level | None = conduct
    if summer_required:
        conduct_final = inputs.summer_training

    # Re-examination: year conduct ≥ Đạt and year learning Chưa đạt.
    conduct_for_reexam = conduct_final if rules.reexam_after_summer_training else conduct
    reexam_required = (
        not over_limit
        and learning_year is Level.chua_dat
        and conduct_for_reexam is not None
        and conduct_for_reexam >= Level.dat
    )
    failing = (
        tuple(
            s.code
            for s in inputs.subjects
            if years[s.code].counts and _fails(s.assessment, year_values[s.code])
        )
        if reexam_required
        else ()
    )
    # The student retakes the subjects they chose among the failed ones; the others keep their
    # year result. Rated again (adjustment included) once every retaken subject has its result.
    chosen: tuple[str, ...] | None = None
    if reexam_required and inputs.reexam_choice is not None:
        wanted = set(inputs.reexam_choice)
        chosen = tuple(code for code in failing if code in wanted)
    learning_after: Level | None = None
    retaken = set(chosen or ())
    by_code = {s.code: s for s in inputs.subjects}
    if retaken and all(by_code[code].reexam is not None for code in retaken):
        mix = [
            _as_result(r.code, r.assessment, s.reexam, r.status) if s.code in retaken else r
            for s, r in zip(inputs.subjects, years.values(), strict=True)
        ]
        learning_after = learning_rating(mix)

    outcomes = tuple(
        SubjectYearOutcome(
            code=s.code,
            assessment=s.assessment,
            status=years[s.code].status,
            semester1=s.semester1 if s.status1 is Status.assessed else None,
            semester2=s.semester2 if s.status2 is Status.assessed else None,
            year=year_values[s.code],
            needs_reexam=s.code in failing,
            after_reexam=s.reexam if s.code in retaken else None,
            retaken=s.code in retaken,
        )
        for s in inputs.subjects
    )

    # Promotion (DOMAIN §2): conduct ≥ Đạt, learning ≥ Đạt, ≤ 45 sessions absent.
    reasons: list[str] = []
    pending = False
    if over_limit:
        reasons.append(f"nghỉ {inputs.absent_sessions} buổi, quá {rules.max_absent_sessions} buổi")
    if conduct_final is None:
        pending = True
    elif conduct_final < Level.dat:
        reasons.append("rèn luyện cả năm Chưa đạt")
    if learning_year is None:
        pending = True
    elif learning_year < Level.dat:
        if not reexam_required:
            reasons.append("học tập cả năm Chưa đạt")
        elif chosen is None:
            pending = True  # waits for the student's choice of subjects to retake
        elif not chosen:
            reasons.append("học tập cả năm Chưa đạt, không kiểm tra lại môn nào")
        elif learning_after is None:
            pending = True
        elif learning_after < Level.dat:
            reasons.append("học tập Chưa đạt sau kiểm tra lại")
    promoted: bool | None
    if reasons:
        promoted = False
    elif pending:
        promoted = None
    else:
        promoted = True

    return StudentYearResult(
        subjects=outcomes,
        learning1=learning1,
        learning2=learning2,
        learning_year=learning_year,
        conduct1=inputs.conduct1,
        conduct2=inputs.conduct2,
        conduct_year=conduct,
        absent_sessions=inputs.absent_sessions,
        summer_training_required=summer_required,
        conduct_final=conduct_final,
        reexam_required=reexam_required,
        reexam_subjects=failing,
        learning_after_reexam=learning_after,
        promoted=promoted,
        title=_title(conduct, learning_year, years),
        reasons=tuple(reasons),
        reexam_choice=chosen,
        over_absence_limit=over_limit,
    )
