"""The board's school overview of step 3's preconditions: per class, the state of its current
review sample (Đ4.2) and how many students' personal data the homeroom teacher verified (Đ6.1).
A constant number of queries for the whole school (grouped, never one per class)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Literal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hbs_grades.models import PersonalDataCheck, ReviewItem, ReviewSample
from hbs_grades.review.verification import status_of
from hbs_grades.roster.repository import RosterRepository
from hbs_grades.windows.service import require_board
from hbs_shared.auth import Principal

SampleState = Literal["none", "open", "returned", "passed"]


@dataclass
class ClassReview:
    class_name: str
    sample_items: Counter[str] = field(default_factory=Counter)
    """The current sample's items by verdict (pending, correct, returned); empty: no sample."""
    has_sample: bool = False
    checks: Counter[str] = field(default_factory=Counter)
    """The class's students by check status (unchecked, verified, discrepancy, stale)."""

    @property
    def sample_state(self) -> SampleState:
        if not self.has_sample:
            return "none"
        if self.sample_items["returned"]:
            return "returned"
        return "open" if self.sample_items["pending"] or not self.sample_items.total() else "passed"

    @property
    def students(self) -> int:
        return self.checks.total()

    @property
    def ready_for_step3(self) -> bool:
        """The sample passed and every student is verified (step 2 needed that too)."""
        return self.sample_state == "passed" and self.checks["verified"] == self.students > 0


async def school_overview(
    session: AsyncSession, principal: Principal, school_year: str, roster: RosterRepository | None = None
) -> list[ClassReview]:
    require_board(principal, "Chỉ Ban Giám hiệu xem được tình hình kiểm tra mẫu của các lớp")
    school_id = principal.school_id
    classes: dict[str, ClassReview] = {}

    def of(name: str) -> ClassReview:
        return classes.setdefault(name, ClassReview(name))

    # Each class's current sample (a new draw supersedes the old), its items counted by verdict.
    result = await session.execute(
        select(ReviewSample.class_name, ReviewItem.verdict, func.count(ReviewItem.record_id))
        .outerjoin(ReviewItem, ReviewItem.sample_id == ReviewSample.id)
        .where(
            ReviewSample.school_id == school_id,
            ReviewSample.school_year == school_year,
            ReviewSample.superseded.is_(False),
        )
        .group_by(ReviewSample.class_name, ReviewItem.verdict)
    )
    for class_name, verdict, count in result.all():
        review = of(class_name)
        review.has_sample = True
        if verdict is not None:
            review.sample_items[verdict] += count
    # Every current student and the year's checks: a check is stale once the data changed.
    lists = await (roster or RosterRepository()).school_lists(session, school_id, school_year)
    checks = {
        c.student_id: c
        for c in (
            await session.execute(
                select(PersonalDataCheck).where(
                    PersonalDataCheck.school_id == school_id, PersonalDataCheck.school_year == school_year
                )
            )
        ).scalars()
    }
    for class_name, students in lists.items():
        review = of(class_name)
        for student in students:
            review.checks[status_of(checks.get(student.id), student)] += 1
    return sorted(classes.values(), key=lambda c: c.class_name)
