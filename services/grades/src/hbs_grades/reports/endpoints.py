"""Results and reports: per student, per class (bảng tổng hợp), per subject; JSON and Excel."""

from __future__ import annotations

import uuid
from typing import Literal

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel

from hbs_grades.access import (
    OVERSIGHT_ROLES,
    authz_of,
    is_family,
    require_class_reader,
    require_family_reader,
)
from hbs_grades.params import ClassName
from hbs_grades.reports import excel
from hbs_grades.reports.schemas import ClassResultsOut, StudentResultOut
from hbs_grades.reports.stats import ClassRatings, Period, SubjectStats, class_ratings, subject_statistics
from hbs_grades.school import current_year
from hbs_grades.sheets.endpoints import attachment
from hbs_grades.wiring import grades_of
from hbs_grades.xlsx import XLSX
from hbs_shared.auth import CurrentPrincipal
from hbs_shared.curriculum import subject
from hbs_shared.problems import Problem
from hbs_shared.service import runtime_of

router = APIRouter(prefix="/results", tags=["results and reports"])
SubjectCode = Path(min_length=1, max_length=40, pattern=r"^[A-Z0-9_]+$")
Year = Query(default=None, pattern=r"^\d{4}-\d{4}$", description="School year; the current one if omitted")


async def _class_results(
    request: Request, principal: CurrentPrincipal, class_name: str, school_year: str | None
) -> ClassResultsOut:
    grades = grades_of(request)
    year = school_year or await current_year(request, principal)
    async with runtime_of(request).db.transaction() as session:
        await require_class_reader(session, grades.roster.roster, principal, year, class_name)
        results = await grades.results.for_class(session, principal.school_id, year, class_name)
    return ClassResultsOut.of(results)


@router.get("/classes/{class_name}", response_model=ClassResultsOut)
async def class_results(
    principal: CurrentPrincipal, request: Request, class_name: str = ClassName, school_year: str | None = Year
) -> ClassResultsOut:
    """Every student's results in the class, recomputed from what is entered now."""
    return await _class_results(request, principal, class_name, school_year)


@router.get("/classes/{class_name}/xlsx", response_class=Response, responses={200: {"content": {XLSX: {}}}})
async def class_results_xlsx(
    principal: CurrentPrincipal, request: Request, class_name: str = ClassName, school_year: str | None = Year
) -> Response:
    results = await _class_results(request, principal, class_name, school_year)
    name = f"tong-hop-{class_name}-{results.school_year}.xlsx".replace(" ", "_")
    return Response(excel.class_results_xlsx(results), media_type=XLSX, headers=attachment(name))


@router.get("/students/{student_id}", response_model=StudentResultOut)
async def student_results(
    student_id: uuid.UUID, principal: CurrentPrincipal, request: Request, school_year: str | None = Year
) -> StudentResultOut:
    """Teachers and overseers by the roster; a parent or the student by identity, and then only
    from signed score sheets (never a draft score)."""
    grades = grades_of(request)
    year = school_year or await current_year(request, principal)
    missing = Problem(
        404, "Không tìm thấy học sinh", "no such student in a class you see", field="student_id"
    )
    if is_family(principal):
        await require_family_reader(authz_of(request), principal, student_id)
        async with runtime_of(request).db.transaction() as session:
            signed = await grades.family.results(session, principal.school_id, year, student_id)
        if signed is None:
            raise missing
        return StudentResultOut.of(signed.result)
    async with runtime_of(request).db.transaction() as session:
        enrolment = await grades.roster.roster.current_class(session, principal.school_id, student_id, year)
        if enrolment is None:
            raise missing
        try:
            await require_class_reader(session, grades.roster.roster, principal, year, enrolment.class_name)
        except Problem:
            raise missing from None
        found = await grades.results.for_student(session, principal.school_id, year, student_id)
    if found is None:
        raise missing
    return StudentResultOut.of(found)


class SubjectStatsOut(BaseModel):
    """One subject's results: distribution and average per class and per grade level."""

    subject_code: str
    subject_name: str
    assessment: Literal["scored", "comment"]
    period: Literal["HK1", "HK2", "year"]
    classes: list[SubjectStats]
    grades: list[SubjectStats]


class RatingsOut(BaseModel):
    """Every class's learning and conduct ratings for one period."""

    school_year: str
    period: Literal["HK1", "HK2", "year"]
    classes: list[ClassRatings]


@router.get("/subjects/{subject_code}", response_model=SubjectStatsOut)
async def subject_stats(
    principal: CurrentPrincipal,
    request: Request,
    subject_code: str = SubjectCode,
    period: Literal["HK1", "HK2", "year"] = "year",
    school_year: str | None = Year,
) -> dict[str, object]:
    """Distribution and average of one subject's results, per class and per grade level."""
    name, per_class, per_grade, comment = await _stats(request, principal, subject_code, period, school_year)
    return {
        "subject_code": subject_code,
        "subject_name": name,
        "assessment": "comment" if comment else "scored",
        "period": period,
        "classes": [s.model_dump() for s in per_class],
        "grades": [s.model_dump() for s in per_grade],
    }


@router.get("/ratings", response_model=RatingsOut)
async def ratings_per_class(
    principal: CurrentPrincipal,
    request: Request,
    period: Literal["HK1", "HK2", "year"] = "year",
    school_year: str | None = Year,
) -> dict[str, object]:
    """Learning and conduct ratings (T / K / Đ / CĐ) of every class for one period: the school-wide
    view, so the board and the office only, as the subject statistics."""
    _require_overseer(principal, "period")
    grades = grades_of(request)
    year = school_year or await current_year(request, principal)
    async with runtime_of(request).db.transaction() as session:
        classes = await grades.results.school(session, principal.school_id, year)
    found: list[ClassRatings] = class_ratings(classes, period)
    return {"school_year": year, "period": period, "classes": [c.model_dump() for c in found]}


@router.get(
    "/subjects/{subject_code}/xlsx", response_class=Response, responses={200: {"content": {XLSX: {}}}}
)
async def subject_stats_xlsx(
    principal: CurrentPrincipal,
    request: Request,
    subject_code: str = SubjectCode,
    period: Literal["HK1", "HK2", "year"] = "year",
    school_year: str | None = Year,
) -> Response:
    name, per_class, per_grade, _ = await _stats(request, principal, subject_code, period, school_year)
    data = excel.subject_stats_xlsx(name, period, per_class, per_grade)
    return Response(data, media_type=XLSX, headers=attachment(f"thong-ke-{subject_code}-{period}.xlsx"))


async def _stats(
    request: Request, principal: CurrentPrincipal, subject_code: str, period: Period, school_year: str | None
) -> tuple[str, list[SubjectStats], list[SubjectStats], bool]:
    try:
        name = subject(subject_code).name
    except KeyError:
        raise Problem(404, "Không có môn học này", subject_code, field="subject_code") from None
    _require_overseer(principal, "subject_code")
    grades = grades_of(request)
    year = school_year or await current_year(request, principal)
    async with runtime_of(request).db.transaction() as session:
        classes = await grades.results.school(session, principal.school_id, year)
    comment, per_class, per_grade = subject_statistics(classes, subject_code, period)
    return name, per_class, per_grade, comment


def _require_overseer(principal: CurrentPrincipal, field: str) -> None:
    """School-wide figures: the board and the office only."""
    if not principal.has_role(*OVERSIGHT_ROLES):
        raise Problem(403, "Chỉ Ban Giám hiệu và văn phòng xem được thống kê toàn trường", "", field=field)
