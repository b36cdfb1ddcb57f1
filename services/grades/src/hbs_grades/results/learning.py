"""The learning rating of a semester (on ĐTBmhk) or a year (on ĐTBmcn): TT22 Điều 9.

Khoản 1–2 set the four levels; khoản 3 raises by one level a result pulled two or more levels
below Tốt or Khá by one single subject.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from hbs_grades.results.types import Level, PassMark, Status
from hbs_shared.curriculum import Assessment

EIGHT = Decimal("8.0")
SIX_FIVE = Decimal("6.5")
FIVE = Decimal("5.0")
THREE_FIVE = Decimal("3.5")
AT_LEAST = 6
"""“At least 6 subjects” in each level's rule."""

TEN = Decimal("10.0")


@dataclass(frozen=True)
class SubjectResult:
    """One subject's result entering a rating: a score for scored subjects, Đ/CĐ otherwise."""

    code: str
    assessment: Assessment
    score: Decimal | None = None
    mark: PassMark | None = None
    status: Status = Status.assessed

    @property
    def counts(self) -> bool:
        """Exempt and not-assessed subjects are left out of the rating."""
        return self.status is Status.assessed

    @property
    def known(self) -> bool:
        if self.assessment is Assessment.scored:
            return self.score is not None
        return self.mark is not None


@dataclass(frozen=True)
class _Counts:
    """All a rating depends on: how many counted results sit on each side of each bar."""

    failed_comments: int = 0
    below_6_5: int = 0
    below_5: int = 0
    below_3_5: int = 0
    at_least_8: int = 0
    at_least_6_5: int = 0
    at_least_5: int = 0

    def rating(self) -> Level:
        """Điều 9 khoản 1–2."""
        return _rate(
            self.failed_comments,
            self.below_6_5,
            self.below_5,
            self.below_3_5,
            self.at_least_8,
            self.at_least_6_5,
            self.at_least_5,
        )

    def rating_at_best(self, result: SubjectResult) -> Level:
        """The rating had this one subject the best result it could have (10.0, or Đạt)."""
        if result.assessment is Assessment.comment:
            failed = self.failed_comments - (result.mark is PassMark.chua_dat)
            return _rate(
                failed,
                self.below_6_5,
                self.below_5,
                self.below_3_5,
                self.at_least_8,
                self.at_least_6_5,
                self.at_least_5,
            )
        score = result.score
        assert score is not None
        return _rate(
            self.failed_comments,
            self.below_6_5 - (score < SIX_FIVE),
            self.below_5 - (score < FIVE),
            self.below_3_5 - (score < THREE_FIVE),
            self.at_least_8 + (score < EIGHT),
            self.at_least_6_5 + (score < SIX_FIVE),
            self.at_least_5 + (score < FIVE),
        )


def _rate(
    failed_comments: int,
    below_6_5: int,
    below_5: int,
    below_3_5: int,
    at_least_8: int,
    at_least_6_5: int,
    at_least_5: int,
) -> Level:
    if failed_comments == 0 and below_6_5 == 0 and at_least_8 >= AT_LEAST:
        return Level.tot
    if failed_comments == 0 and below_5 == 0 and at_least_6_5 >= AT_LEAST:
        return Level.kha
    if failed_comments <= 1 and at_least_5 >= AT_LEAST and below_3_5 == 0:
        return Level.dat
    return Level.chua_dat


def _counts(results: Sequence[SubjectResult]) -> _Counts:
    failed = below_6_5 = below_5 = below_3_5 = ge_8 = ge_6_5 = ge_5 = 0
    for result in results:
        if result.status is not Status.assessed:
            continue
        if result.assessment is Assessment.comment:
            assert result.mark is not None
            failed += result.mark is PassMark.chua_dat
            continue
        score = result.score
        assert score is not None
        if score >= FIVE:
            ge_5 += 1
            if score >= SIX_FIVE:
                ge_6_5 += 1
                if score >= EIGHT:
                    ge_8 += 1
            else:
                below_6_5 += 1
        else:
            below_5 += 1
            below_6_5 += 1
            if score < THREE_FIVE:
                below_3_5 += 1
    return _Counts(failed, below_6_5, below_5, below_3_5, ge_8, ge_6_5, ge_5)


def unadjusted_rating(results: Sequence[SubjectResult]) -> Level:
    """Điều 9 khoản 1–2, before the one-subject adjustment. Every counted result must be known."""
    return _counts(results).rating()


def learning_rating(results: Sequence[SubjectResult]) -> Level | None:
    """The rating with Điều 9 khoản 3 applied; None while a counted subject has no result yet.

    The result is "two or more levels below Tốt or Khá only because of one single subject" when
    some single subject, had it met the criteria (read: had it the best result, 10.0 or Đạt),
    would make the student that level. Then the result is raised by exactly one level, so the
    adjustment never produces Tốt: would-be Tốt on Đạt → Khá, on Chưa đạt → Đạt; would-be Khá
    on Chưa đạt → Đạt.
    """
    if any(result.counts and not result.known for result in results):
        return None
    counts = _counts(results)
    actual = counts.rating()
    if actual > Level.dat:
        return actual  # at most one level below Tốt: nothing to adjust
    for result in results:
        if not result.counts:
            continue
        best = counts.rating_at_best(result)
        if best >= Level.kha and best - actual >= 2:
            return Level(actual + 1)
    return actual
