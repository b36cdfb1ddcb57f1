"""A class's conduct, attendance, summer training and re-examination (homeroom teacher), and its
plan (subjects, periods per year)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Request
from pydantic import BaseModel, Field

from hbs_grades.access import OVERSIGHT_ROLES, require_class_reader, require_homeroom
from hbs_grades.conduct.service import ClassConduct, ExtraChange, TermChange
from hbs_grades.models import Term
from hbs_grades.params import ClassName
from hbs_grades.plan.service import unknown_subject
from hbs_grades.school import CurrentSchoolYear
from hbs_grades.sheets.schemas import SheetOut
from hbs_grades.wiring import grades_of
from hbs_shared.auth import CurrentPrincipal, Principal
from hbs_shared.curriculum import SUBJECTS_BY_CODE
from hbs_shared.problems import Problem
from hbs_shared.service import runtime_of

router = APIRouter(prefix="/classes", tags=["classes: conduct, attendance, plan"])
SubjectCode = Path(min_length=1, max_length=40, pattern=r"^[A-Z0-9_]+$")
Sessions = Annotated[int, Field(ge=0, le=1000)] | Annotated[str, Field(max_length=10)]
"""Sessions absent: a number, or the text typed in the form (checked and named by the service)."""


class TermOut(BaseModel):
    conduct: str | None
    conduct_comment: str
    absent_excused: int
    absent_unexcused: int


class StudentConductOut(BaseModel):
    student_id: uuid.UUID
    national_id: str
    full_name: str
    terms: dict[str, TermOut]
    summer_training: str | None
    reexam_choice: list[str] | None = None
    """Subjects the student chose to retake; None while not recorded, [] for none."""
    reexam: dict[str, Any]


def _out(view: ClassConduct) -> list[StudentConductOut]:
    rows = []
    for student in view.students:
        terms = {}
        for term in Term:
            record = view.records.get((student.id, term.value))
            terms[term.value] = TermOut(
                conduct=record.conduct if record else None,
                conduct_comment=record.conduct_comment if record else "",
                absent_excused=record.absent_excused if record else 0,
                absent_unexcused=record.absent_unexcused if record else 0,
            )
        extra = view.extras.get(student.id)
        rows.append(
            StudentConductOut(
                student_id=student.id,
                national_id=student.national_id,
                full_name=student.full_name,
                terms=terms,
                summer_training=extra.summer_training if extra else None,
                reexam_choice=list(extra.reexam_choice)
                if extra and extra.reexam_choice is not None
                else None,
                reexam=dict(extra.reexam) if extra else {},
            )
        )
    return rows


class TermRowIn(BaseModel):
    """A field left out is unchanged."""

    student_id: uuid.UUID
    term: Literal["HK1", "HK2"]
    conduct: str | None = Field(default=None, max_length=20, description="T / K / Đ / CĐ")
    conduct_comment: str | None = Field(default=None, max_length=2000)
    absent_excused: Sessions | None = None
    absent_unexcused: Sessions | None = None


class TermsIn(BaseModel):
    rows: list[TermRowIn] = Field(max_length=200)


class ExtraRowIn(BaseModel):
    student_id: uuid.UUID
    summer_training: str | None = Field(default=None, max_length=20)
    """The re-evaluated conduct after summer conduct training."""
    reexam_choice: list[Annotated[str, Field(max_length=40)]] | None = Field(default=None, max_length=40)
    """Subject codes the student chose to retake, among those sent to re-examination ([] for none,
    null to clear). Sent before or with the results: a result needs its subject chosen."""
    reexam: dict[str, Annotated[str, Field(max_length=20)] | None] | None = Field(default=None, max_length=40)
    """Subject code → re-examination result (a score, or Đ / CĐ)."""


class ExtrasIn(BaseModel):
    rows: list[ExtraRowIn] = Field(max_length=200)


@router.get("/{class_name}/conduct", response_model=list[StudentConductOut])
async def get_conduct(
    principal: CurrentPrincipal, year: CurrentSchoolYear, request: Request, class_name: str = ClassName
) -> list[StudentConductOut]:
    grades = grades_of(request)
    async with runtime_of(request).db.transaction() as session:
        await require_class_reader(session, grades.roster.roster, principal, year, class_name)
        return _out(await grades.conduct.view(session, principal.school_id, year, class_name))


@router.put("/{class_name}/conduct", response_model=list[StudentConductOut])
async def put_conduct(
    body: TermsIn,
    principal: CurrentPrincipal,
    year: CurrentSchoolYear,
    request: Request,
    class_name: str = ClassName,
) -> list[StudentConductOut]:
    """Conduct (rèn luyện) with comment and sessions absent, per student and semester."""
    grades = grades_of(request)
    changes = [
        TermChange(
            row.student_id,
            Term(row.term),
            {k: getattr(row, k) for k in row.model_fields_set if k not in ("student_id", "term")},
        )
        for row in body.rows
    ]
    async with runtime_of(request).db.transaction() as session:
        await require_homeroom(session, grades.roster.roster, principal, year, class_name)
        view = await grades.conduct.save_terms(session, principal, year, class_name, changes)
        return _out(view)


class ConductChangeOut(BaseModel):
    student_id: uuid.UUID
    term: str | None
    column: str
    old_value: str | None
    new_value: str | None
    changed_by: uuid.UUID
    changed_by_name: str
    changed_at: datetime


@router.get("/{class_name}/conduct/changes", response_model=list[ConductChangeOut])
async def get_conduct_changes(
    principal: CurrentPrincipal, year: CurrentSchoolYear, request: Request, class_name: str = ClassName
) -> list[ConductChangeOut]:
    """Every change to the class's conduct, attendance and year-end values: who, when, old → new."""
    grades = grades_of(request)
    async with runtime_of(request).db.transaction() as session:
        await require_class_reader(session, grades.roster.roster, principal, year, class_name)
        rows = await grades.conduct.changes(session, principal.school_id, year, class_name)
    return [
        ConductChangeOut(
            student_id=r.student_id,
            term=r.term,
            column=r.column,
            old_value=r.old_value,
            new_value=r.new_value,
            changed_by=r.changed_by,
            changed_by_name=r.changed_by_name,
            changed_at=r.changed_at,
        )
        for r in rows
    ]


@router.put("/{class_name}/year-end", response_model=list[StudentConductOut])
async def put_year_end(
    body: ExtrasIn,
    principal: CurrentPrincipal,
    year: CurrentSchoolYear,
    request: Request,
    class_name: str = ClassName,
) -> list[StudentConductOut]:
    """Summer conduct training's re-evaluation, the subjects each student chose to retake at the
    re-examination, and its results."""
    grades = grades_of(request)
    changes = [
        ExtraChange(row.student_id, {k: getattr(row, k) for k in row.model_fields_set if k != "student_id"})
        for row in body.rows
    ]
    async with runtime_of(request).db.transaction() as session:
        await require_homeroom(session, grades.roster.roster, principal, year, class_name)
        results = await grades.results.for_class(session, principal.school_id, year, class_name)
        sent = {s.student.id: s.result.reexam_subjects for s in results.students}
        view = await grades.conduct.save_extras(session, principal, year, class_name, changes, sent)
        return _out(view)


class PlanLineOut(BaseModel):
    subject_code: str
    subject_name: str
    assessment: Literal["scored", "comment"]
    periods_per_year: int
    regular_count: int


class PeriodsIn(BaseModel):
    periods_per_year: int = Field(ge=1, le=400)


def _require_admin(principal: Principal) -> None:
    if not principal.has_role(*OVERSIGHT_ROLES):
        raise Problem(403, "Chỉ Ban Giám hiệu và văn phòng sửa được kế hoạch lớp", "", field="class_name")


@router.get("/{class_name}/plan", response_model=list[PlanLineOut])
async def get_plan(
    principal: CurrentPrincipal, year: CurrentSchoolYear, request: Request, class_name: str = ClassName
) -> list[PlanLineOut]:
    grades = grades_of(request)
    async with runtime_of(request).db.transaction() as session:
        await require_class_reader(session, grades.roster.roster, principal, year, class_name)
        lines = await grades.plan.for_class(session, principal.school_id, year, class_name)
    return [
        PlanLineOut(
            subject_code=p.code,
            subject_name=p.name,
            assessment=p.assessment.value,
            periods_per_year=p.periods_per_year,
            regular_count=p.regular_count,
        )
        for p in lines
    ]


@router.put("/{class_name}/plan/{subject_code}", response_model=list[SheetOut])
async def put_periods(
    body: PeriodsIn,
    principal: CurrentPrincipal,
    year: CurrentSchoolYear,
    request: Request,
    subject_code: str = SubjectCode,
    class_name: str = ClassName,
) -> list[SheetOut]:
    """Periods per year of a subject in the class (a specialised class adds periods to its
    specialist subject); the class-subject's open sheets follow (2 / 3 / 4 regular assessments)."""
    _require_admin(principal)
    if subject_code not in SUBJECTS_BY_CODE:
        raise unknown_subject(subject_code)
    grades = grades_of(request)
    async with runtime_of(request).db.transaction() as session:
        sheets = [
            s
            for s in await grades.sheets.sheets.for_class(session, principal.school_id, year, class_name)
            if s.subject_code == subject_code
        ]
        await grades.sheet_setup.require_no_regular_beyond(session, sheets, body.periods_per_year)
        await grades.plan.set_periods(
            session, principal.school_id, year, class_name, subject_code, body.periods_per_year, sheets
        )
        for sheet in sheets:
            await grades.sheet_setup.recompute(session, sheet)
        return [SheetOut.of(s) for s in sheets]
