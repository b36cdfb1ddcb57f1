"""Time windows (Đ5): staff read the year's windows; the board sets them and grants extensions."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request

from hbs_grades.school import current_year
from hbs_grades.windows.mine import my_deadlines
from hbs_grades.windows.rules import Period
from hbs_grades.windows.schemas import (
    ExtensionIn,
    ExtensionOut,
    MyDeadlineOut,
    MyDeadlinesOut,
    WindowOut,
    WindowsIn,
    YearWindowsOut,
)
from hbs_grades.windows.service import YearWindows
from hbs_grades.wiring import Grades, grades_of
from hbs_shared.auth import CurrentPrincipal
from hbs_shared.problems import Problem
from hbs_shared.roles import STAFF
from hbs_shared.service import runtime_of

router = APIRouter(prefix="/windows", tags=["time windows"])
Year = Query(default=None, pattern=r"^\d{4}-\d{4}$", description="School year; the current one if omitted")


def _out(grades: Grades, year: YearWindows) -> YearWindowsOut:
    now = grades.windows.clock()
    out: list[WindowOut] = []
    for row in year.windows:
        window = year.for_(Period(row.period), row.step)
        if window is not None:
            out.append(WindowOut.of(row, window, now))
    return YearWindowsOut(school_year=year.school_year, windows=out)


@router.get("", response_model=YearWindowsOut)
async def get_windows(
    principal: CurrentPrincipal, request: Request, school_year: str | None = Year
) -> YearWindowsOut:
    """The school's windows of a year, each with its state now (staff: teachers see their deadlines)."""
    if not principal.has_role(*STAFF):
        raise Problem(403, "Trang này dành cho cán bộ, giáo viên", "staff only", field="role")
    grades = grades_of(request)
    year = school_year or await current_year(request, principal)
    async with runtime_of(request).db.transaction() as session:
        return _out(grades, await grades.windows.year(session, principal.school_id, year))


@router.get("/mine", response_model=MyDeadlinesOut)
async def get_my_deadlines(
    principal: CurrentPrincipal, request: Request, school_year: str | None = Year
) -> MyDeadlinesOut:
    """The caller's own deadlines: entry and step 1 for their subjects, step 2 for their homeroom
    class, with extensions granted to them or their class, and the days left or past."""
    if not principal.has_role(*STAFF):
        raise Problem(403, "Trang này dành cho cán bộ, giáo viên", "staff only", field="role")
    grades = grades_of(request)
    year = school_year or await current_year(request, principal)
    async with runtime_of(request).db.transaction() as session:
        windows = await grades.windows.year(session, principal.school_id, year)
        assignments = await grades.windows.roster.active_assignments(
            session, principal.school_id, year, teacher_id=principal.user_id
        )
    homeroom = {a.class_name for a in assignments if a.kind == "homeroom_teacher"}
    subjects = {a.class_name for a in assignments if a.kind == "subject_teacher"}
    found = my_deadlines(windows, principal.user_id, subjects, homeroom, grades.windows.clock())
    return MyDeadlinesOut(school_year=year, deadlines=[MyDeadlineOut.of(d) for d in found])


@router.put("", response_model=YearWindowsOut)
async def set_windows(body: WindowsIn, principal: CurrentPrincipal, request: Request) -> YearWindowsOut:
    """Set or remove windows of a year, all or nothing (the board)."""
    grades, db = grades_of(request), runtime_of(request).db
    async with grades.writing(db.is_sqlite), db.transaction() as session:
        await grades.windows.set_windows(
            session, principal, body.school_year, [w.spec() for w in body.windows]
        )
        return _out(grades, await grades.windows.year(session, principal.school_id, body.school_year))


@router.get("/extensions", response_model=list[ExtensionOut])
async def list_extensions(
    principal: CurrentPrincipal, request: Request, school_year: str | None = Year
) -> list[ExtensionOut]:
    """Every extension of the year with its reason, who granted it and when (the board)."""
    grades = grades_of(request)
    year = school_year or await current_year(request, principal)
    async with runtime_of(request).db.transaction() as session:
        return [ExtensionOut.of(e) for e in await grades.windows.extensions(session, principal, year)]


@router.post("/extensions", response_model=ExtensionOut, status_code=201)
async def extend(body: ExtensionIn, principal: CurrentPrincipal, request: Request) -> ExtensionOut:
    """Gia hạn for one teacher or one class, with a reason (the board)."""
    grades, db = grades_of(request), runtime_of(request).db
    async with grades.writing(db.is_sqlite), db.transaction() as session:
        return ExtensionOut.of(await grades.windows.extend(session, principal, body.spec()))
