"""All SQL of the province's progress: counts grouped per school in its current year, no rows loaded."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from enum import StrEnum

from sqlalchemy import Select, func, select, union
from sqlalchemy.ext.asyncio import AsyncSession

from hbs_grades.models import Assignment, Enrolment, RecordState, ScoreSheet, SheetState, YearRecord
from hbs_shared.school_facts import school_facts


@dataclass
class SchoolProgress:
    """One school's counts in its current year (None while identity has announced no year)."""

    school_id: str
    name: str
    school_year: str | None
    classes: int = 0
    sheets: dict[str, int] = field(default_factory=dict)
    records: dict[str, int] = field(default_factory=dict)


def _states(model: type[ScoreSheet] | type[YearRecord]) -> Select[str, StrEnum, int]:
    """Rows of the schools' current year only: joined on the facts' year, grouped by state."""
    return (
        select(model.school_id, model.state, func.count())
        .join(
            school_facts,
            (school_facts.c.school_id == model.school_id) & (school_facts.c.school_year == model.school_year),
        )
        .group_by(model.school_id, model.state)
    )


def _classes() -> Select[str, int]:
    """Every class grades knows in a school's current year: with a student, a teacher or a sheet."""
    known = union(
        select(Enrolment.school_id, Enrolment.school_year, Enrolment.class_name).where(
            Enrolment.left_on.is_(None)
        ),
        select(Assignment.school_id, Assignment.school_year, Assignment.class_name).where(
            Assignment.active.is_(True)
        ),
        select(ScoreSheet.school_id, ScoreSheet.school_year, ScoreSheet.class_name),
    ).subquery()
    current = (school_facts.c.school_id == known.c.school_id) & (
        school_facts.c.school_year == known.c.school_year
    )
    return select(known.c.school_id, func.count()).join(school_facts, current).group_by(known.c.school_id)


class ProvinceRepository:
    async def progress(self, session: AsyncSession) -> list[SchoolProgress]:
        """Every school grades has heard of, by id: four grouped queries, whatever their size."""
        facts = await session.execute(
            select(school_facts.c.school_id, school_facts.c.name, school_facts.c.school_year).order_by(
                school_facts.c.school_id
            )
        )
        schools = {row.school_id: SchoolProgress(row.school_id, row.name, row.school_year) for row in facts}
        for school_id, count in (await session.execute(_classes())).all():
            schools[school_id].classes = int(count)
        sheets: dict[str, dict[str, int]] = defaultdict(dict)
        for school_id, state, count in (await session.execute(_states(ScoreSheet))).all():
            sheets[school_id][str(state)] = int(count)
        records: dict[str, dict[str, int]] = defaultdict(dict)
        for school_id, state, count in (await session.execute(_states(YearRecord))).all():
            records[school_id][str(state)] = int(count)
        for school_id, school in schools.items():
            # Every state named, zeros included: the portal's table has the same columns for all.
            school.sheets = {state.value: 0 for state in SheetState} | sheets.get(school_id, {})
            school.records = {state.value: 0 for state in RecordState} | records.get(school_id, {})
        return list(schools.values())
