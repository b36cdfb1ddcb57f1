"""HTTP: a parent's children (or a student themself) and their signed results (Đ9)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Query, Request

from hbs_grades.access import STUDENT_NOT_FOUND, authz_of, is_family, require_family_reader
from hbs_grades.family.schemas import FamilyResultsOut, FamilyStudentOut
from hbs_grades.school import current_year
from hbs_grades.wiring import grades_of
from hbs_shared.auth import CurrentPrincipal
from hbs_shared.problems import Problem
from hbs_shared.service import runtime_of

router = APIRouter(prefix="/family", tags=["family"])
Year = Query(default=None, pattern=r"^\d{4}-\d{4}$", description="School year; the current one if omitted")


@router.get("/students", response_model=list[FamilyStudentOut])
async def family_students(
    principal: CurrentPrincipal, request: Request, school_year: str | None = Year
) -> list[FamilyStudentOut]:
    """The caller's children (a parent) or the caller (a student), with their class."""
    if not is_family(principal):
        raise Problem(403, "Trang này dành cho phụ huynh và học sinh", "parents and students only")
    scope = await authz_of(request).scope(principal.token)
    grades = grades_of(request)
    year = school_year or await current_year(request, principal)
    async with runtime_of(request).db.transaction() as session:
        found = await grades.family.students(session, principal.school_id, year, scope.students)
    return [FamilyStudentOut.of(f) for f in found]


@router.get("/students/{student_id}/results", response_model=FamilyResultsOut)
async def family_results(
    student_id: uuid.UUID, principal: CurrentPrincipal, request: Request, school_year: str | None = Year
) -> FamilyResultsOut:
    """Semester and year results of one's child (or oneself), from signed score sheets only."""
    await require_family_reader(authz_of(request), principal, student_id)
    grades = grades_of(request)
    year = school_year or await current_year(request, principal)
    async with runtime_of(request).db.transaction() as session:
        found = await grades.family.results(session, principal.school_id, year, student_id)
    if found is None:
        raise STUDENT_NOT_FOUND
    return FamilyResultsOut.of(found)
