"""Invariants of the Thông tư 22 engine, checked on generated students (hypothesis)."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from hbs_grades.results import (
    Level,
    PassMark,
    StudentYearInput,
    SubjectResult,
    SubjectYearInput,
    compute_student_year,
    learning_rating,
    parse_score,
    round1,
    semester_average,
    unadjusted_rating,
    year_average,
    year_conduct,
)
from hbs_shared.curriculum import Assessment

scores = st.integers(min_value=0, max_value=100).map(lambda n: Decimal(n) / 10)
marks = st.sampled_from([PassMark.dat, PassMark.chua_dat])
levels = st.sampled_from(list(Level))


@st.composite
def students(draw: st.DrawFn) -> list[SubjectResult]:
    scored = draw(st.lists(scores, min_size=0, max_size=12))
    comment = draw(st.lists(marks, min_size=0, max_size=5))
    return [
        *(SubjectResult(f"S{i}", Assessment.scored, score=s) for i, s in enumerate(scored)),
        *(SubjectResult(f"C{i}", Assessment.comment, mark=m) for i, m in enumerate(comment)),
    ]


@given(students(), st.data())
@settings(max_examples=400)
def test_raising_any_score_never_lowers_the_learning_rating(
    results: list[SubjectResult], data: st.DataObject
) -> None:
    scored = [i for i, r in enumerate(results) if r.assessment is Assessment.scored]
    if not scored:
        return
    index = data.draw(st.sampled_from(scored))
    before = results[index].score
    assert before is not None
    raised = data.draw(scores.filter(lambda s: s >= before))
    changed = list(results)
    changed[index] = SubjectResult(results[index].code, Assessment.scored, score=raised)
    old, new = learning_rating(results), learning_rating(changed)
    assert old is not None
    assert new is not None
    assert new >= old


@given(students(), st.data())
def test_turning_a_comment_subject_to_dat_never_lowers_the_learning_rating(
    results: list[SubjectResult], data: st.DataObject
) -> None:
    comments = [i for i, r in enumerate(results) if r.assessment is Assessment.comment]
    if not comments:
        return
    index = data.draw(st.sampled_from(comments))
    changed = list(results)
    changed[index] = SubjectResult(results[index].code, Assessment.comment, mark=PassMark.dat)
    assert (learning_rating(changed) or 0) >= (learning_rating(results) or 0)


@given(students())
@settings(max_examples=400)
def test_dieu_9_khoan_3_raises_by_at_most_one_level_and_never_to_tot(results: list[SubjectResult]) -> None:
    before = unadjusted_rating(results)
    after = learning_rating(results)
    assert after is not None
    assert after in (before, Level(min(before + 1, Level.tot)))
    if after != before:
        assert after <= Level.kha
        assert before <= Level.dat


@given(st.lists(scores, min_size=2, max_size=4), scores, scores)
def test_semester_average_lies_between_the_lowest_and_highest_assessment(
    regular: list[Decimal], midterm: Decimal, final: Decimal
) -> None:
    average = semester_average(regular, midterm, final)
    every = [*regular, midterm, final]
    assert min(every) <= average <= max(every)
    assert average == average.quantize(Decimal("0.1"))


@given(st.lists(scores, min_size=2, max_size=4), scores, scores, st.data())
def test_raising_an_assessment_never_lowers_the_semester_average(
    regular: list[Decimal], midterm: Decimal, final: Decimal, data: st.DataObject
) -> None:
    higher = data.draw(scores.filter(lambda s: s >= final))
    assert semester_average(regular, midterm, higher) >= semester_average(regular, midterm, final)


@given(scores, scores)
def test_year_average_between_the_semesters(one: Decimal, two: Decimal) -> None:
    year = year_average(one, two)
    assert year is not None
    assert min(one, two) <= year <= max(one, two)


@given(st.integers(min_value=0, max_value=100_000))
def test_round_half_up_matches_integer_arithmetic(hundredths: int) -> None:
    # value = hundredths / 100; half up to tenths = floor((hundredths + 5) / 10) / 10
    assert round1(Decimal(hundredths) / 100) == Decimal((hundredths + 5) // 10) / 10


@given(scores)
def test_every_score_parses_back_from_its_text_with_comma_or_point(score: Decimal) -> None:
    text = f"{score:f}"
    assert parse_score(text) == score
    assert parse_score(text.replace(".", ",")) == score


@given(levels, levels, levels)
def test_year_conduct_is_monotone_in_each_semester(one: Level, two: Level, other: Level) -> None:
    if other >= one:
        assert year_conduct(other, two) >= year_conduct(one, two)
    if other >= two:
        assert year_conduct(one, other) >= year_conduct(one, two)


@given(
    st.lists(scores, min_size=9, max_size=9),
    levels,
    levels,
    st.integers(min_value=0, max_value=60),
    st.integers(min_value=0, max_value=60),
)
def test_more_absences_never_turn_a_student_promoted(
    year_scores: list[Decimal], one: Level, two: Level, absent: int, more: int
) -> None:
    subjects = [SubjectYearInput(f"S{i}", Assessment.scored, s, s) for i, s in enumerate(year_scores)]
    few = compute_student_year(StudentYearInput(subjects, one, two, absent_sessions=absent))
    many = compute_student_year(StudentYearInput(subjects, one, two, absent_sessions=absent + more))
    if few.promoted is False:
        assert many.promoted is False
    if absent + more > 45:
        assert many.promoted is False


def reference_adjusted(results: list[SubjectResult]) -> Level:
    """Điều 9 khoản 3 by brute force: give each subject in turn its best result, re-rate."""
    actual = unadjusted_rating(results)
    for index, result in enumerate(results):
        best = (
            SubjectResult(result.code, Assessment.comment, mark=PassMark.dat)
            if result.assessment is Assessment.comment
            else SubjectResult(result.code, Assessment.scored, score=Decimal(10))
        )
        would_be = unadjusted_rating([*results[:index], best, *results[index + 1 :]])
        for target in (Level.tot, Level.kha):
            if would_be >= target and target - actual >= 2:
                return Level(actual + 1)
    return actual


@given(students())
@settings(max_examples=600)
def test_dieu_9_khoan_3_matches_the_brute_force_reading(results: list[SubjectResult]) -> None:
    assert learning_rating(results) is reference_adjusted(results)
