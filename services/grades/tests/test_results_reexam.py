"""Re-examination (kiểm tra lại), the absence limit and the engine's own input checks: issue 11 §8,
Thông tư 22 as DOMAIN.md §2 restates it. Pure unit tests of the results engine; each case names
its rule."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal

import pytest

from hbs_grades.results import (
    AssessmentCountError,
    Level,
    PassMark,
    RulesConfig,
    ScoreError,
    StudentYearInput,
    SubjectYearInput,
    comment_semester_result,
    compute_student_year,
    semester_average,
)
from hbs_shared.curriculum import Assessment

D = Decimal
T, K, DAT, CD = Level.tot, Level.kha, Level.dat, Level.chua_dat
SCORED = ("NGU_VAN", "TOAN", "NGOAI_NGU_1", "LICH_SU", "GDQPAN", "VAT_LI", "HOA_HOC", "SINH_HOC", "TIN_HOC")
COMMENT = ("GDTC", "HDTN_HN", "GD_DIA_PHUONG", "CHUYEN_DE")


def subjects(
    scores: Sequence[str], marks: Sequence[str] = ("Đ",) * 4, reexam: dict[str, str] | None = None
) -> list[SubjectYearInput]:
    """Nine scored subjects (SCORED order) and four comment subjects with both semesters equal, so
    the year result is the value given; `reexam` holds re-examination results by subject code."""
    reexam = reexam or {}

    def again(code: str, assessment: Assessment) -> Decimal | PassMark | None:
        text = reexam.get(code)
        if text is None:
            return None
        return D(text) if assessment is Assessment.scored else PassMark(text)

    return [
        *(
            SubjectYearInput(code, Assessment.scored, D(s), D(s), reexam=again(code, Assessment.scored))
            for code, s in zip(SCORED, scores, strict=True)
        ),
        *(
            SubjectYearInput(
                code, Assessment.comment, PassMark(m), PassMark(m), reexam=again(code, Assessment.comment)
            )
            for code, m in zip(COMMENT, marks, strict=True)
        ),
    ]


# Two failed subjects: Vật lí 3.0 (below 3.5) and Hoá học 4.0. Year learning Chưa đạt, and no
# one-subject adjustment (with Vật lí at its best, Hoá học 4.0 still keeps the student below Khá).
TWO_FAILED = ["6"] * 5 + ["3.0", "4.0"] + ["6"] * 2


@dataclass(frozen=True)
class Case:
    rule: str
    scores: Sequence[str]
    choice: Sequence[str] | None
    reexam: dict[str, str]
    learning_after: Level | None
    promoted: bool | None
    marks: Sequence[str] = ("Đ",) * 4


CASES = [
    Case(
        "one of two failed subjects retaken and passed: rated on the mix (Hoá học keeps 4.0) → Đạt",
        TWO_FAILED, ["VAT_LI"], {"VAT_LI": "5.0"}, DAT, True,
    ),
    Case(
        "the other one retaken: Vật lí keeps 3.0, below 3.5 → still Chưa đạt, not promoted",
        TWO_FAILED, ["HOA_HOC"], {"HOA_HOC": "9.0"}, CD, False,
    ),
    Case(
        "both retaken and passed → Đạt", TWO_FAILED, ["VAT_LI", "HOA_HOC"],
        {"VAT_LI": "5.0", "HOA_HOC": "5.0"}, DAT, True,
    ),
    Case(
        "a retaken result replaces the year result even when lower (4.0 → 3.0) → Chưa đạt",
        ["6"] * 5 + ["5.0", "4.0"] + ["2.0", "6"], ["SINH_HOC", "HOA_HOC"],
        {"SINH_HOC": "5.0", "HOA_HOC": "3.0"}, CD, False,
    ),
    Case(
        "mix rated with the adjustment, Điều 9 khoản 3: would-be Tốt held by Hoá học 4.0 → Khá",
        ["9"] * 5 + ["3.0", "4.0"] + ["9"] * 2, ["VAT_LI"], {"VAT_LI": "9.0"}, K, True,
    ),
    Case(
        "a comment subject retaken: Giáo dục thể chất Chưa đạt → Đạt",
        ["6"] * 5 + ["3.0"] + ["6"] * 3, ["GDTC", "VAT_LI"], {"GDTC": "Đ", "VAT_LI": "5.0"}, DAT, True,
        ("CĐ", "CĐ", "Đ", "Đ"),
    ),
    Case(
        "a chosen subject waits for its result: pending, not the unchosen one's",
        TWO_FAILED, ["VAT_LI"], {"HOA_HOC": "9.0"}, None, None,
    ),
    Case(
        "a result for a subject not chosen is not used: Hoá học keeps its year result",
        TWO_FAILED, ["VAT_LI"], {"VAT_LI": "5.0", "HOA_HOC": "2.0"}, DAT, True,
    ),
    Case(
        "a chosen subject that was not failed is not retaken (Toán passed)",
        TWO_FAILED, ["TOAN"], {"TOAN": "2.0"}, None, False,
    ),
    Case("no subject chosen: the year result (Chưa đạt) stands, final", TWO_FAILED, [], {}, None, False),
    Case("choice not recorded yet: pending", TWO_FAILED, None, {"VAT_LI": "5.0"}, None, None),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=[c.rule for c in CASES])
def test_reexamination_kiem_tra_lai_student_chooses_subjects_rated_on_the_mix(case: Case) -> None:
    """DOMAIN §2 re-examination: the student chooses one or several failed subjects to retake; a
    retaken subject's result replaces its year result, the others keep theirs; the learning result
    is rated again on the mix with the same rules, adjustment included, and decides promotion."""
    inputs = StudentYearInput(subjects(case.scores, case.marks, case.reexam), K, K, reexam_choice=case.choice)
    result = compute_student_year(inputs)
    assert (result.learning_year, result.reexam_required) == (CD, True)
    assert (result.learning_after_reexam, result.promoted) == (case.learning_after, case.promoted)
    retaken = {s.code for s in result.subjects if s.retaken}
    assert retaken == set(case.choice or ()) & set(result.reexam_subjects)
    for outcome in result.subjects:
        if outcome.code not in retaken:
            assert outcome.after_reexam is None  # not retaken: keeps its year result only


def test_reexamination_no_subject_chosen_says_why_not_promoted() -> None:
    """DOMAIN §2: retaking none is a final state; the year's Chưa đạt decides (repeats the year)."""
    result = compute_student_year(StudentYearInput(subjects(TWO_FAILED), K, K, reexam_choice=[]))
    assert (result.reexam_choice, result.promoted) == ((), False)
    assert result.reasons == ("học tập cả năm Chưa đạt, không kiểm tra lại môn nào",)


def test_reexamination_subjects_are_the_failed_ones_in_subject_order() -> None:
    """DOMAIN §2: eligible are the comment subjects at Chưa đạt and the scored ones with ĐTBmcn < 5.0."""
    result = compute_student_year(
        StudentYearInput(
            subjects(TWO_FAILED, ("Đ", "CĐ", "Đ", "Đ")), K, K, reexam_choice=["HDTN_HN", "VAT_LI"]
        )
    )
    assert result.reexam_subjects == ("VAT_LI", "HOA_HOC", "HDTN_HN")
    assert result.reexam_choice == ("VAT_LI", "HDTN_HN")


# ------------------------------------------------------------------------ the absence limit


@pytest.mark.parametrize(
    ("absent", "over"), [(45, False), (46, True), (120, True)], ids=["45 at the limit", "46 over", "120 over"]
)
def test_absence_limit_over_45_sessions_repeats_no_reexamination(absent: int, over: bool) -> None:
    """DOMAIN §2: absent more than 45 sessions (excused or not) repeats the year whatever the other
    results: no re-examination is offered for promotion."""
    result = compute_student_year(
        StudentYearInput(subjects(TWO_FAILED, reexam={"VAT_LI": "9"}), K, K, absent, reexam_choice=["VAT_LI"])
    )
    assert result.over_absence_limit is over
    assert result.reexam_required is not over
    if over:
        assert (result.reexam_subjects, result.reexam_choice, result.learning_after_reexam) == (
            (),
            None,
            None,
        )
        assert result.promoted is False
        assert f"nghỉ {absent} buổi, quá 45 buổi" in result.reasons
    else:
        assert (result.learning_after_reexam, result.promoted) == (DAT, True)


def test_absence_limit_over_45_sessions_no_summer_conduct_training() -> None:
    """DOMAIN §2: over the limit no summer conduct training is offered either; the year conduct
    (Chưa đạt) stands even if a re-evaluation was entered."""
    good = subjects(["8"] * 9)
    within = compute_student_year(StudentYearInput(good, DAT, CD, 45, summer_training=T))
    assert (within.summer_training_required, within.conduct_final, within.promoted) == (True, T, True)
    over = compute_student_year(StudentYearInput(good, DAT, CD, 46, summer_training=T))
    assert (over.summer_training_required, over.conduct_final, over.promoted) == (False, CD, False)
    assert "rèn luyện cả năm Chưa đạt" in over.reasons


def test_absence_limit_is_the_configured_one() -> None:
    """RulesConfig.max_absent_sessions: the limit the school set applies to re-examination too."""
    rules = RulesConfig(max_absent_sessions=30)
    result = compute_student_year(StudentYearInput(subjects(TWO_FAILED), K, K, 31), rules)
    assert (result.over_absence_limit, result.reexam_required, result.promoted) == (True, False, False)


# ------------------------------------------------------ the engine checks its own input


@pytest.mark.parametrize(
    ("regular", "midterm", "final", "field"),
    [
        (["8", "10.5"], "8", "8", "regular_2"),
        (["8", "8"], "-1", "8", "midterm"),
        (["8", "8"], "8", "8.25", "final"),
        (["8", "8", "NaN"], "8", "8", "regular_3"),
        (["8", "8"], "8", "11", "final"),
    ],
    ids=["above 10", "negative", "two decimals", "not a number", "11"],
)
def test_engine_rejects_scores_outside_0_10_in_tenths(
    regular: list[str], midterm: str, final: str, field: str
) -> None:
    """DOMAIN §2: a score is 0–10 with one digit after the point (what the sheets accept); the
    engine refuses anything else, naming the field, instead of averaging it."""
    with pytest.raises(ScoreError) as refused:
        semester_average([D(r) for r in regular], D(midterm), D(final))
    assert refused.value.field == field


def test_engine_rejects_binary_floats() -> None:
    """DOMAIN §2: never binary floats (8.25 must round to 8.3)."""
    with pytest.raises(ScoreError) as refused:
        semester_average([D(8), 8.25], D(8), D(8))  # type: ignore[list-item]
    assert refused.value.field == "regular_2"


@pytest.mark.parametrize(
    ("periods", "given"),
    [(35, 3), (70, 2), (70, 4), (105, 3), (None, 1), (None, 5), (None, 0)],
    ids=["35 periods needs 2", "70 needs 3 not 2", "70 needs 3 not 4", "105 needs 4", "1", "5", "none"],
)
def test_engine_rejects_a_wrong_number_of_regular_assessments_dtbmhk(periods: int | None, given: int) -> None:
    """DOMAIN §2: ĐĐGtx per semester — 2 for 35 periods a year, 3 for 36–70, 4 above 70."""
    with pytest.raises(AssessmentCountError) as refused:
        semester_average([D(8)] * given, D(8), D(8), periods_per_year=periods)
    assert refused.value.field == "regular"
    assert "ĐĐGtx" in str(refused.value)


def test_engine_rejects_a_count_other_than_the_subjects_regular_count() -> None:
    """DOMAIN §2: a caller holding the subject's ĐĐGtx count (a sheet) has it checked too."""
    with pytest.raises(AssessmentCountError):
        semester_average([D(8)] * 3, D(8), D(8), regular_count=4)
    assert semester_average([D(8)] * 4, D(8), D(9), regular_count=4) == D("8.3")


@pytest.mark.parametrize(("periods", "given", "average"), [(35, 2, "8.0"), (70, 3, "8.0"), (105, 4, "8.0")])
def test_engine_accepts_the_period_rules_count(periods: int, given: int, average: str) -> None:
    """DOMAIN §2: the right number of ĐĐGtx for the periods is averaged as before."""
    assert semester_average([D(8)] * given, D(8), D(8), periods_per_year=periods) == D(average)


def test_engine_rejects_more_comment_assessments_than_required() -> None:
    """DOMAIN §2: a comment subject has the period rule's count plus two assessments, no more."""
    with pytest.raises(AssessmentCountError):
        comment_semester_result([PassMark.dat] * 5, 4)


@pytest.mark.parametrize(
    ("code", "field", "value"),
    [("TOAN", "semester1", "10.1"), ("VAT_LI", "semester2", "-0.5"), ("HOA_HOC", "reexam", "7.25")],
)
def test_engine_rejects_out_of_range_year_inputs_naming_the_field(code: str, field: str, value: str) -> None:
    """The year computation refuses a semester average or a re-examination score outside 0–10 in
    tenths; the error names the subject and the field."""
    bad = [replace(s, **{field: D(value)}) if s.code == code else s for s in subjects(TWO_FAILED)]
    with pytest.raises(ScoreError) as refused:
        compute_student_year(StudentYearInput(bad, K, K, reexam_choice=["VAT_LI", "HOA_HOC"]))
    assert refused.value.field == f"{code}.{field}"
