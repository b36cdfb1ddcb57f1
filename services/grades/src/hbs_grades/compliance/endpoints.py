"""The compliance report (Đ10) for the board: JSON and .xlsx."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request, Response

from hbs_grades.compliance.excel import compliance_xlsx
from hbs_grades.compliance.schemas import ComplianceOut, ComplianceRowOut
from hbs_grades.school import current_year
from hbs_grades.sheets.endpoints import attachment
from hbs_grades.wiring import grades_of
from hbs_grades.xlsx import XLSX
from hbs_shared.auth import CurrentPrincipal
from hbs_shared.service import runtime_of

router = APIRouter(prefix="/compliance", tags=["time windows"])
Year = Query(default=None, pattern=r"^\d{4}-\d{4}$", description="School year; the current one if omitted")


async def _report(request: Request, principal: CurrentPrincipal, school_year: str | None) -> ComplianceOut:
    grades = grades_of(request)
    year = school_year or await current_year(request, principal)
    async with runtime_of(request).db.transaction() as session:
        rows, counted_at = await grades.compliance.report(session, principal, year)
    return ComplianceOut(
        school_year=year, counted_at=counted_at, rows=[ComplianceRowOut.of(r, year) for r in rows]
    )


@router.get("", response_model=ComplianceOut)
async def compliance(
    principal: CurrentPrincipal, request: Request, school_year: str | None = Year
) -> ComplianceOut:
    """Per person, step and period: on time, late (max, total, average), returned, corrections."""
    return await _report(request, principal, school_year)


@router.get("/xlsx", response_class=Response, responses={200: {"content": {XLSX: {}}}})
async def compliance_download(
    principal: CurrentPrincipal, request: Request, school_year: str | None = Year
) -> Response:
    report = await _report(request, principal, school_year)
    name = f"chap-hanh-thoi-han-{report.school_year}.xlsx"
    return Response(compliance_xlsx(report), media_type=XLSX, headers=attachment(name))
