"""Thông tư 22 results, clause by clause (DOMAIN.md §2). Each test names its clause."""

from __future__ import annotations

from decimal import Decimal

import pytest

from hbs_grades.results import (
    Level,
    PassMark,
    RulesConfig,
    ScoreError,
    Status,
    StudentYearInput,
    SubjectResult,
    SubjectYearInput,
    Title,
    comment_semester_result,
    comment_year_result,
    compute_student_year,
    format_score,
    learning_rating,
    parse_score,
    regular_count_for_periods,
    required_assessments,
    round1,
    semester_average,
    unadjusted_rating,
    year_average,
    year_conduct,
)
from hbs_shared.curriculum import Assessment

D = Decimal
T, K, DAT, CD = Level.tot, Level.kha, Level.dat, Level.chua_dat
SCORED = ("NGU_VAN", "TOAN", "NGOAI_NGU_1", "LICH_SU", "GDQPAN", "VAT_LI", "HOA_HOC", "SINH_HOC", "TIN_HOC")
COMMENT = ("GDTC", "HDTN_HN", "GD_DIA_PHUONG", "CHUYEN_DE")


def student(scores: list[str], marks: list[str] | None = None) -> list[SubjectResult]:
    """Nine scored subjects (in SCORED order) and four comment subjects (all Đạt by default)."""
    assert len(scores) == len(SCORED)
    marks = marks if marks is not None else ["Đ"] * len(COMMENT)
    return [
        *(SubjectResult(code, Assessment.scored, score=D(s)) for code, s in zip(SCORED, scores, strict=True)),
        *(
            SubjectResult(code, Assessment.comment, mark=PassMark(m))
            for code, m in zip(COMMENT, marks, strict=True)
        ),
    ]


# ---------------------------------------------------------------- numbers: scores and rounding


@pytest.mark.parametrize(
    ("raw", "rounded"),
    [("8.25", "8.3"), ("8.24", "8.2"), ("6.45", "6.5"), ("6.449", "6.4"), ("9.95", "10.0"), ("0.05", "0.1")],
)
def test_score_rounding_half_up_one_digit_in_decimal(raw: str, rounded: str) -> None:
    assert round1(D(raw)) == D(rounded)
    assert str(round1(D(raw))) == rounded


def test_score_rounding_is_not_binary_float_rounding() -> None:
    # round(8.25, 1) on floats gives 8.2 (banker's rounding of an exact binary value); TT22 wants 8.3.
    assert round(8.25, 1) == 8.2
    assert round1(D("8.25")) == D("8.3")


@pytest.mark.parametrize(
    ("typed", "value"),
    [
        ("8.5", "8.5"),
        ("8,5", "8.5"),
        (" 7 ", "7"),
        ("10", "10"),
        ("10.0", "10.0"),
        ("0", "0"),
        ("0,0", "0.0"),
    ],
)
def test_score_entry_accepts_0_to_10_with_one_decimal_comma_or_point(typed: str, value: str) -> None:
    assert parse_score(typed) == D(value)


@pytest.mark.parametrize("typed", ["8.55", "10.5", "11", "-1", "abc", "", "8.", ".5", "8,5,", "1e1", "８"])
def test_score_entry_refuses_anything_else(typed: str) -> None:
    with pytest.raises(ScoreError):
        parse_score(typed)


def test_score_canonical_text() -> None:
    assert [format_score(D(v)) for v in ("8", "8.0", "8.5", "10.0")] == ["8", "8", "8.5", "10"]


# ------------------------------------------------------ regular assessments by the period rule


@pytest.mark.parametrize(
    ("periods", "count"), [(35, 2), (36, 3), (52, 3), (70, 3), (71, 4), (105, 4), (140, 4)]
)
def test_regular_assessment_count_by_periods_2_3_4(periods: int, count: int) -> None:
    assert regular_count_for_periods(periods) == count


def test_comment_subject_has_regular_count_plus_midterm_and_final_comments() -> None:
    assert required_assessments(Assessment.comment, 2) == 4
    assert required_assessments(Assessment.scored, 4) == 6


# ---------------------------------------------------------------------------- ĐTBmhk, ĐTBmcn


@pytest.mark.parametrize(
    ("regular", "midterm", "final", "average"),
    [
        (["8", "8", "8"], "9", "8", "8.3"),  # 66 / 8 = 8.25 → 8.3
        (["6", "6", "6"], "6.3", "7", "6.5"),  # 51.6 / 8 = 6.45 → 6.5
        (["6", "6", "6"], "6.3", "6.9", "6.4"),  # 51.3 / 8 = 6.4125 → 6.4
        (["7", "8"], "6", "9", "7.7"),  # (15 + 12 + 27) / 7 = 7.714 → 7.7
        (["5.5", "7", "8", "9"], "6.5", "7.5", "7.2"),  # (29.5 + 13 + 22.5) / 9 = 7.222 → 7.2
        (["10", "10", "10", "10"], "10", "10", "10.0"),
        (["0", "0"], "0", "0", "0.0"),
    ],
)
def test_semester_average_dtbmhk_formula(regular: list[str], midterm: str, final: str, average: str) -> None:
    assert semester_average([D(r) for r in regular], D(midterm), D(final)) == D(average)


@pytest.mark.parametrize(
    ("one", "two", "year"),
    [
        ("6.0", "7.0", "6.7"),
        ("8.0", "8.1", "8.1"),
        ("7.3", "8.0", "7.8"),
        ("5.0", "4.9", "4.9"),
        ("6.4", "6.5", "6.5"),
    ],
)
def test_year_average_dtbmcn_semester_two_counts_double(one: str, two: str, year: str) -> None:
    # (7.3 + 16.0) / 3 = 7.7666… → 7.8; (6.4 + 13.0) / 3 = 6.4666… → 6.5
    assert year_average(D(one), D(two)) == D(year)


def test_year_average_of_a_subject_exempt_in_one_semester_is_the_other_semester() -> None:
    assert year_average(None, D("7.5")) == D("7.5")
    assert year_average(D("6.5"), None) == D("6.5")
    assert year_average(None, None) is None


# ------------------------------------------------------------------------ comment subjects


@pytest.mark.parametrize(
    ("marks", "required", "result"),
    [
        (["Đ", "Đ", "Đ", "Đ"], 4, "Đ"),
        (["Đ", "Đ", "Đ", "CĐ"], 4, "CĐ"),
        (["Đ", "Đ", None, "Đ"], 4, "CĐ"),  # a required assessment missing: not Đạt
        (["Đ", "Đ", "Đ"], 4, "CĐ"),
        (["Đ", "Đ", "Đ", "Đ", "Đ"], 5, "Đ"),
    ],
)
def test_comment_subject_semester_dat_only_if_every_required_assessment_given_and_all_dat(
    marks: list[str | None], required: int, result: str
) -> None:
    given = [PassMark(m) if m else None for m in marks]
    assert comment_semester_result(given, required) is PassMark(result)


def test_comment_subject_year_result_equals_semester_two() -> None:
    assert comment_year_result(PassMark.chua_dat, PassMark.dat) is PassMark.dat
    assert comment_year_result(PassMark.dat, PassMark.chua_dat) is PassMark.chua_dat


# ------------------------------------------------------- learning rating, Điều 9 khoản 1–2


LEARNING_CASES = [
    # (case, nine scores, four comment marks, expected)
    ("tot all above 8", ["8"] * 9, None, T),
    ("tot exactly six >= 8.0", ["8.0"] * 6 + ["6.5"] * 3, None, T),
    ("kha only five >= 8.0", ["8.0"] * 5 + ["7.9"] + ["6.5"] * 3, None, K),
    ("kha one scored 6.4 < 6.5", ["9"] * 8 + ["6.4"], None, K),
    ("tot the same subject at 6.5", ["9"] * 8 + ["6.5"], None, T),
    ("kha exactly six >= 6.5", ["6.5"] * 6 + ["5.0"] * 3, None, K),
    ("dat only five >= 6.5", ["6.5"] * 5 + ["5.0"] * 4, None, DAT),
    ("dat one scored 4.9 in a kha student", ["7"] * 8 + ["4.9"], None, DAT),
    ("dat exactly six >= 5.0 none < 3.5", ["5.0"] * 6 + ["3.5"] * 3, None, DAT),
    ("chua dat only five >= 5.0", ["5.0"] * 5 + ["4.9"] * 4, None, CD),
    ("chua dat two scored < 3.5", ["6"] * 7 + ["3.4", "3.4"], None, CD),
    ("dat one comment chua dat, scores of a dat student", ["5"] * 9, ["CĐ", "Đ", "Đ", "Đ"], DAT),
    ("chua dat two comments chua dat", ["9"] * 9, ["CĐ", "CĐ", "Đ", "Đ"], CD),
]


@pytest.mark.parametrize(
    ("case", "scores", "marks", "expected"), LEARNING_CASES, ids=[c[0] for c in LEARNING_CASES]
)
def test_learning_rating_dieu_9_khoan_1_2(
    case: str, scores: list[str], marks: list[str] | None, expected: Level
) -> None:
    assert learning_rating(student(scores, marks)) is expected


def test_learning_rating_boundary_6_45_rounds_to_6_5_and_is_tot() -> None:
    weakest = semester_average([D(6), D(6), D(6)], D("6.3"), D(7))  # raw 6.45
    results = student(["9"] * 8 + [str(weakest)])
    assert learning_rating(results) is T
    below = semester_average([D(6), D(6), D(6)], D("6.3"), D("6.9"))  # raw 6.4125
    assert learning_rating(student(["9"] * 8 + [str(below)])) is K


def test_learning_rating_boundary_one_comment_subject_chua_dat_is_at_most_dat_before_adjustment() -> None:
    results = student(["9"] * 9, ["Đ", "Đ", "Đ", "CĐ"])
    assert unadjusted_rating(results) is DAT


def test_learning_rating_pending_while_a_counted_subject_has_no_result() -> None:
    results = student(["9"] * 9)
    results[0] = SubjectResult("NGU_VAN", Assessment.scored, score=None)
    assert learning_rating(results) is None


# --------------------------------------------------------- one-subject adjustment, khoản 3


ADJUSTMENT_CASES = [
    ("would be tot, one subject 4.0 lands on dat -> kha", ["9"] * 8 + ["4.0"], None, DAT, K),
    ("would be tot, one subject 3.0 lands on chua dat -> dat", ["9"] * 8 + ["3.0"], None, CD, DAT),
    ("would be tot, one comment chua dat lands on dat -> kha", ["9"] * 9, ["Đ", "CĐ", "Đ", "Đ"], DAT, K),
    ("would be kha, one subject 3.0 lands on chua dat -> dat", ["7"] * 8 + ["3.0"], None, CD, DAT),
    ("would be kha, one subject 4.0 is one level below: no change", ["7"] * 8 + ["4.0"], None, DAT, DAT),
    ("would be tot, one subject 6.0 is one level below: no change", ["9"] * 8 + ["6.0"], None, K, K),
    ("two subjects pull it down: no change", ["9"] * 7 + ["4.0", "4.0"], None, DAT, DAT),
    ("two subjects under 3.5: no change", ["9"] * 7 + ["3.0", "3.0"], None, CD, CD),
    ("one low subject and a failed comment: no change", ["9"] * 8 + ["4.0"], ["CĐ", "Đ", "Đ", "Đ"], DAT, DAT),
    ("too few subjects >= 5.0 is not one subject: no change", ["9"] * 4 + ["4"] * 5, None, CD, CD),
    ("would be tot, five >= 8.0 and the sixth at 4.0 -> kha", ["9"] * 5 + ["7"] * 3 + ["4"], None, DAT, K),
    ("would be kha, five >= 6.5 and the sixth at 3.0 -> dat", ["7"] * 5 + ["5"] * 3 + ["3"], None, CD, DAT),
]


@pytest.mark.parametrize(
    ("case", "scores", "marks", "before", "after"), ADJUSTMENT_CASES, ids=[c[0] for c in ADJUSTMENT_CASES]
)
def test_one_subject_adjustment_dieu_9_khoan_3(
    case: str, scores: list[str], marks: list[str] | None, before: Level, after: Level
) -> None:
    results = student(scores, marks)
    assert unadjusted_rating(results) is before
    assert learning_rating(results) is after


def test_one_subject_adjustment_dieu_9_khoan_3_never_produces_tot() -> None:
    # Would-be Tốt held to Khá by one subject at 6.4 is one level down: stays Khá, never Tốt.
    assert learning_rating(student(["10"] * 8 + ["6.4"])) is K


# ------------------------------------------------------------------------- conduct of the year


CONDUCT_TABLE = {
    # (semester I, semester II): year
    (T, T): T, (K, T): T, (DAT, T): K, (CD, T): K,
    (T, K): K, (K, K): K, (DAT, K): K, (CD, K): DAT,
    (T, DAT): K, (K, DAT): DAT, (DAT, DAT): DAT, (CD, DAT): DAT,
    (T, CD): CD, (K, CD): CD, (DAT, CD): CD, (CD, CD): CD,
}  # fmt: skip


@pytest.mark.parametrize(("one", "two"), list(CONDUCT_TABLE))
def test_year_conduct_from_two_semesters_ren_luyen(one: Level, two: Level) -> None:
    assert year_conduct(one, two) is CONDUCT_TABLE[(one, two)]


# ------------------------------------------------------------- the year: promotion and after


def year_subjects(scores: list[str], marks: list[str] | None = None) -> list[SubjectYearInput]:
    """Both semesters equal (so ĐTBmcn = the score given)."""
    marks = marks if marks is not None else ["Đ"] * len(COMMENT)
    return [
        *(
            SubjectYearInput(code, Assessment.scored, D(s), D(s))
            for code, s in zip(SCORED, scores, strict=True)
        ),
        *(
            SubjectYearInput(code, Assessment.comment, PassMark(m), PassMark(m))
            for code, m in zip(COMMENT, marks, strict=True)
        ),
    ]


def test_promotion_lenlop_conduct_and_learning_at_least_dat() -> None:
    result = compute_student_year(StudentYearInput(year_subjects(["6"] * 9), DAT, DAT, absent_sessions=3))
    assert (result.learning_year, result.conduct_year, result.promoted) == (DAT, DAT, True)


@pytest.mark.parametrize(("absent", "promoted"), [(0, True), (45, True), (46, False), (80, False)])
def test_promotion_lenlop_absence_limit_45_sessions(absent: int, promoted: bool) -> None:
    result = compute_student_year(StudentYearInput(year_subjects(["9"] * 9), T, T, absent_sessions=absent))
    assert result.promoted is promoted
    if not promoted:
        assert "45" in result.reasons[0]


def test_promotion_lenlop_absence_limit_is_configurable() -> None:
    rules = RulesConfig(max_absent_sessions=40)
    result = compute_student_year(StudentYearInput(year_subjects(["9"] * 9), T, T, absent_sessions=41), rules)
    assert result.promoted is False


def test_promotion_pending_until_conduct_is_set() -> None:
    assert compute_student_year(StudentYearInput(year_subjects(["9"] * 9), T, None)).promoted is None


def test_summer_conduct_training_ren_luyen_he_required_when_year_conduct_chua_dat() -> None:
    subjects = year_subjects(["7"] * 9)
    waiting = compute_student_year(StudentYearInput(subjects, DAT, CD))
    assert waiting.conduct_year is CD
    assert waiting.summer_training_required
    assert waiting.promoted is None
    done = compute_student_year(StudentYearInput(subjects, DAT, CD, summer_training=DAT))
    assert (done.conduct_final, done.promoted) == (DAT, True)
    failed = compute_student_year(StudentYearInput(subjects, DAT, CD, summer_training=CD))
    assert failed.promoted is False


def test_reexamination_kiem_tra_lai_replaces_the_failed_subjects_year_results() -> None:
    subjects = year_subjects(["6"] * 4 + ["4"] * 5, ["CĐ", "Đ", "Đ", "Đ"])
    before = compute_student_year(StudentYearInput(subjects, K, K))
    assert before.learning_year is CD
    assert before.reexam_required
    assert set(before.reexam_subjects) == {"GDQPAN", "VAT_LI", "HOA_HOC", "SINH_HOC", "TIN_HOC", "GDTC"}
    assert before.promoted is None  # waits for the re-examination

    def with_reexam(score: str, mark: PassMark) -> list[SubjectYearInput]:
        out = []
        for s in subjects:
            if s.code in before.reexam_subjects:
                value: Decimal | PassMark = mark if s.assessment is Assessment.comment else D(score)
                s = SubjectYearInput(s.code, s.assessment, s.semester1, s.semester2, reexam=value)
            out.append(s)
        return out

    every = before.reexam_subjects  # the student retakes every subject they were sent to
    passed = compute_student_year(
        StudentYearInput(with_reexam("5.0", PassMark.dat), K, K, reexam_choice=every)
    )
    assert (passed.learning_after_reexam, passed.promoted) == (DAT, True)
    assert passed.learning_year is CD  # the year result stays on record; the re-exam one is beside it
    failed = compute_student_year(
        StudentYearInput(with_reexam("4.0", PassMark.dat), K, K, reexam_choice=every)
    )
    assert failed.promoted is False


def test_reexamination_kiem_tra_lai_only_when_year_conduct_at_least_dat() -> None:
    subjects = year_subjects(["4"] * 9)
    result = compute_student_year(StudentYearInput(subjects, CD, CD, summer_training=DAT))
    assert not result.reexam_required
    assert result.promoted is False


def test_reexamination_after_summer_training_is_configurable() -> None:
    subjects = year_subjects(["4"] * 9)
    rules = RulesConfig(reexam_after_summer_training=True)
    result = compute_student_year(StudentYearInput(subjects, CD, CD, summer_training=DAT), rules)
    assert result.reexam_required
    assert result.promoted is None


@pytest.mark.parametrize(
    ("scores", "conduct", "title"),
    [
        (["9.0"] * 6 + ["8.0"] * 3, T, Title.xuat_sac),  # exactly six ≥ 9.0
        (["9.0"] * 5 + ["8.9"] * 4, T, Title.gioi),
        (["9.0"] * 9, K, None),  # conduct Khá: no title
        (["9.0"] * 8 + ["6.4"], T, None),  # learning Khá: no title
    ],
)
def test_titles_hoc_sinh_xuat_sac_and_gioi(scores: list[str], conduct: Level, title: Title | None) -> None:
    assert compute_student_year(StudentYearInput(year_subjects(scores), conduct, conduct)).title is title


# ----------------------------------------------------------- exemptions and not assessed


def test_exemption_mien_hoc_gdtc_is_left_out_of_the_rating() -> None:
    results = student(["9"] * 9, ["CĐ", "Đ", "Đ", "Đ"])
    results[9] = SubjectResult("GDTC", Assessment.comment, mark=None, status=Status.exempt)
    assert learning_rating(results) is T


def test_not_assessed_subject_of_a_student_with_a_disability_is_left_out_of_the_rating() -> None:
    results = student(["9"] * 8 + ["2"])
    results[8] = SubjectResult("TIN_HOC", Assessment.scored, score=None, status=Status.not_assessed)
    assert learning_rating(results) is T


def test_exemption_for_one_semester_uses_the_other_for_the_year() -> None:
    subjects = year_subjects(["9"] * 9)
    subjects[9] = SubjectYearInput("GDTC", Assessment.comment, None, PassMark.dat, status1=Status.exempt)
    subjects[4] = SubjectYearInput("GDQPAN", Assessment.scored, D("7.0"), None, status2=Status.exempt)
    result = compute_student_year(StudentYearInput(subjects, T, T))
    by_code = {s.code: s for s in result.subjects}
    assert by_code["GDTC"].year is PassMark.dat
    assert by_code["GDQPAN"].year == D("7.0")
    assert result.learning_year is T


# ------------------------------------------------------------------- the "(check)" rules


def test_gdqpan_scored_by_default_check_rule_is_configurable() -> None:
    """DOMAIN §2: “Giáo dục quốc phòng và an ninh: scored (check)”."""
    assert RulesConfig().assessment_of("GDQPAN", Assessment.scored) is Assessment.scored
    commented = RulesConfig(gdqpan_assessment=Assessment.comment)
    assert commented.assessment_of("GDQPAN", Assessment.scored) is Assessment.comment
    assert commented.assessment_of("TOAN", Assessment.scored) is Assessment.scored
