"""The class plan: which subjects a class studies, periods per year, scored or comment."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from hbs_grades.models import ClassSubject, ScoreSheet, SheetState
from hbs_grades.plan.defaults import default_periods
from hbs_grades.plan.repository import PlanRepository
from hbs_grades.results import DEFAULT_RULES, RulesConfig, regular_count_for_periods
from hbs_shared.curriculum import Assessment, subject
from hbs_shared.problems import Problem


@dataclass(frozen=True)
class PlannedSubject:
    code: str
    name: str
    assessment: Assessment
    periods_per_year: int

    @property
    def regular_count(self) -> int:
        return regular_count_for_periods(self.periods_per_year)

    @classmethod
    def of(cls, row: ClassSubject) -> PlannedSubject:
        return cls(
            row.subject_code, subject(row.subject_code).name, Assessment(row.assessment), row.periods_per_year
        )


def unknown_subject(code: str) -> Problem:
    return Problem(
        422, "Mã môn học không có trong chương trình", f"unknown subject code {code!r}", field="subject_code"
    )


class PlanService:
    def __init__(self, plans: PlanRepository | None = None, rules: RulesConfig = DEFAULT_RULES) -> None:
        self.plans = plans or PlanRepository()
        self.rules = rules

    async def ensure(
        self, session: AsyncSession, school_id: str, school_year: str, class_name: str, subject_code: str
    ) -> PlannedSubject:
        """The class's plan line for the subject, created with the programme's periods if new."""
        try:
            catalogue = subject(subject_code)
        except KeyError:
            raise unknown_subject(subject_code) from None
        row = await self.plans.get(session, school_id, school_year, class_name, subject_code)
        if row is None:
            row = ClassSubject(
                school_id=school_id,
                school_year=school_year,
                class_name=class_name,
                subject_code=subject_code,
                periods_per_year=default_periods(subject_code),
                assessment=self.rules.assessment_of(subject_code, catalogue.assessment).value,
            )
            self.plans.add(session, row)
            await session.flush()
        return PlannedSubject.of(row)

    async def for_class(
        self, session: AsyncSession, school_id: str, school_year: str, class_name: str
    ) -> list[PlannedSubject]:
        return [
            PlannedSubject.of(r)
            for r in await self.plans.for_class(session, school_id, school_year, class_name)
        ]

    async def set_periods(
        self,
        session: AsyncSession,
        school_id: str,
        school_year: str,
        class_name: str,
        subject_code: str,
        periods: int,
        sheets: list[ScoreSheet],
    ) -> PlannedSubject:
        """Change periods per year; the class-subject's sheets follow while none is past `open`."""
        await self.ensure(session, school_id, school_year, class_name, subject_code)
        row = await self.plans.get(session, school_id, school_year, class_name, subject_code)
        assert row is not None
        if any(SheetState(s.state) is not SheetState.open for s in sheets):
            raise Problem(
                409,
                "Sổ điểm của môn này đã nộp, không đổi được số tiết",
                "a score sheet of this class-subject is no longer open",
                field="periods_per_year",
            )
        row.periods_per_year = periods
        planned = PlannedSubject.of(row)
        for sheet in sheets:
            sheet.regular_count = planned.regular_count
        await session.flush()
        return planned
