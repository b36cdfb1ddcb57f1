"""The compliance report (Đ10) for the board: JSON and .xlsx."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, Response

from hbs_grades.compliance.excel import compliance_xlsx
from hbs_grades.compliance.report import Filters
from hbs_grades.compliance.schemas import ComplianceOut, ComplianceRowOut, PersonChoice
from hbs_grades.progress.departments import RECORDS, departments
from hbs_grades.school import current_year
from hbs_grades.sheets.endpoints import attachment
from hbs_grades.wiring import grades_of
from hbs_grades.xlsx import XLSX
from hbs_shared.auth import CurrentPrincipal
from hbs_shared.problems import Problem
from hbs_shared.service import runtime_of

router = APIRouter(prefix="/compliance", tags=["time windows"])
Year = Query(default=None, pattern=r"^\d{4}-\d{4}$", description="School year; the current one if omitted")


PeriodQ = Annotated[
    Literal["HK1", "HK2", "year"] | None, Query(alias="term", description="Semester, or the year (steps 2–4)")
]
StepQ = Annotated[int | None, Query(ge=0, le=4, description="0 = score entry, 1–4 = Đ8's steps")]
DepartmentQ = Annotated[str | None, Query(min_length=1, max_length=120, pattern=r"^[^\x00-\x1f\x7f]+$")]
TeacherQ = Annotated[uuid.UUID | None, Query()]
GroupQ = Annotated[Literal["person", "department"], Query(description="One row per person or department")]


class ReportQuery:
    """The report's filters and grouping, the same for the JSON and the Excel file."""

    def __init__(
        self,
        school_year: str | None = Year,
        term: PeriodQ = None,
        step: StepQ = None,
        department: DepartmentQ = None,
        teacher_id: TeacherQ = None,
        group_by: GroupQ = "person",
    ) -> None:
        self.school_year = school_year
        self.filters = Filters(term, step, department, teacher_id, group_by == "department")
        self.group_by = group_by


async def _report(request: Request, principal: CurrentPrincipal, query: ReportQuery) -> ComplianceOut:
    grades = grades_of(request)
    year = query.school_year or await current_year(request, principal)
    f = query.filters
    if f.department is not None and f.department not in (*departments(), RECORDS):
        raise Problem(
            422, f"Tổ chuyên môn không có: {f.department}", "unknown department", field="department"
        )
    async with runtime_of(request).db.transaction() as session:
        rows, counted_at, people = await grades.compliance.report(session, principal, year, f)
    return ComplianceOut(
        school_year=year,
        counted_at=counted_at,
        group_by=query.group_by,
        period=f.period,
        step=f.step,
        department=f.department,
        teacher_id=f.teacher_id,
        departments=[*departments(), RECORDS],
        people=sorted(
            (PersonChoice(id=i, name=n) for i, n in people.items()),
            key=lambda p: (p.name.split()[-1].casefold() if p.name.split() else "", p.name.casefold()),
        ),
        rows=[ComplianceRowOut.of(r, year) for r in rows],
    )


@router.get("", response_model=ComplianceOut)
async def compliance(
    principal: CurrentPrincipal, request: Request, query: Annotated[ReportQuery, Depends()]
) -> ComplianceOut:
    """Per person (or department), step and period: on time, late (max, total, average), returned,
    corrections; filtered by semester or year, step, department and teacher."""
    return await _report(request, principal, query)


@router.get("/xlsx", response_class=Response, responses={200: {"content": {XLSX: {}}}})
async def compliance_download(
    principal: CurrentPrincipal, request: Request, query: Annotated[ReportQuery, Depends()]
) -> Response:
    """The same report, with the same filters, as .xlsx."""
    report = await _report(request, principal, query)
    name = f"chap-hanh-thoi-han-{report.school_year}.xlsx"
    return Response(compliance_xlsx(report), media_type=XLSX, headers=attachment(name))
