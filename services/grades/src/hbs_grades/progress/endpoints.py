"""The board's progress view over HTTP: counts grouped as asked, and the missing items."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request

from hbs_grades.progress.departments import departments
from hbs_grades.progress.schemas import ChoiceOut, ItemOut, ItemsOut, ProgressOut, TallyOut
from hbs_grades.progress.service import Filters, GroupBy, Progress
from hbs_grades.progress.steps import ProgressStep, state_label, states_of
from hbs_grades.school import CurrentSchoolYear
from hbs_grades.wiring import grades_of
from hbs_shared.auth import CurrentPrincipal
from hbs_shared.service import runtime_of

router = APIRouter(prefix="/progress", tags=["progress"])

Term = Annotated[Literal["HK1", "HK2"] | None, Query(description="Semester (sheet steps); both if omitted")]
ClassQ = Annotated[str | None, Query(min_length=1, max_length=40, pattern=r"^[^\x00-\x1f\x7f]+$")]
SubjectQ = Annotated[str | None, Query(min_length=1, max_length=40, pattern=r"^[A-Z0-9_]+$")]
DepartmentQ = Annotated[str | None, Query(min_length=1, max_length=120, pattern=r"^[^\x00-\x1f\x7f]+$")]
StateQ = Annotated[str | None, Query(min_length=1, max_length=30, pattern=r"^[a-z_]+$")]


def _filters(
    term: str | None,
    class_name: str | None,
    subject_code: str | None,
    teacher_id: uuid.UUID | None,
    department: str | None,
    state: str | None,
    late_only: bool = False,
) -> Filters:
    return Filters(term, class_name, subject_code, teacher_id, department, state, late_only)


@router.get("", response_model=ProgressOut)
async def progress(
    principal: CurrentPrincipal,
    year: CurrentSchoolYear,
    request: Request,
    term: Term = None,
    step: ProgressStep = ProgressStep.score_entry,
    group_by: GroupBy = GroupBy.class_name,
    class_name: ClassQ = None,
    subject_code: SubjectQ = None,
    teacher_id: uuid.UUID | None = None,
    department: DepartmentQ = None,
    state: StateQ = None,
) -> ProgressOut:
    """Counts by state per department, class, teacher, subject or step, with what is late."""
    grades = grades_of(request)
    grades.progress.require_board(principal)
    filters = _filters(term, class_name, subject_code, teacher_id, department, state)
    async with runtime_of(request).db.transaction() as session:
        everything = await grades.progress.progress(session, principal.school_id, year, Filters(term=term))
    shown = Progress(everything.school_year, everything.now, [w for w in everything.works if filters.keep(w)])
    return ProgressOut(
        school_year=year,
        now=everything.now,
        term=term,
        step=step.value,
        group_by=group_by.value,
        steps=[TallyOut.of(t) for t in shown.steps()],
        groups=[TallyOut.of(t) for t in shown.groups(step, group_by)],
        states=[ChoiceOut(value=s, label=state_label(step, s)) for s in states_of(step)],
        classes=sorted({w.class_name for w in everything.works}),
        subjects=sorted(
            {
                ChoiceOut(value=w.subject_code, label=w.subject or w.subject_code)
                for w in everything.works
                if w.subject_code
            },
            key=lambda c: c.label,
        ),
        teachers=sorted(
            {
                ChoiceOut(value=str(w.responsible_id), label=w.responsible_name)
                for w in everything.works
                if w.responsible_id
            },
            key=lambda c: (c.label.split()[-1].casefold(), c.label.casefold()),
        ),
        departments=departments(),
        deadlines_known=any(w.due_at is not None for w in everything.works),
    )


@router.get("/items", response_model=ItemsOut)
async def items(
    principal: CurrentPrincipal,
    year: CurrentSchoolYear,
    request: Request,
    term: Term = None,
    step: ProgressStep | None = None,
    class_name: ClassQ = None,
    subject_code: SubjectQ = None,
    teacher_id: uuid.UUID | None = None,
    department: DepartmentQ = None,
    state: StateQ = None,
    late_only: bool = False,
) -> ItemsOut:
    """What is still missing, the person who must act on each, and how late it is (latest first)."""
    grades = grades_of(request)
    grades.progress.require_board(principal)
    filters = _filters(term, class_name, subject_code, teacher_id, department, state, late_only)
    async with runtime_of(request).db.transaction() as session:
        found = await grades.progress.progress(session, principal.school_id, year, filters)
    return ItemsOut(school_year=year, now=found.now, items=[ItemOut.of(w) for w in found.missing(step)])
