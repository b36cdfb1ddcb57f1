"""The province's progress over HTTP (Sở GD&ĐT): every school's counts in its current year."""

from __future__ import annotations

from fastapi import APIRouter, Request

from hbs_grades.province.repository import ProvinceRepository
from hbs_grades.province.schemas import ProvinceProgressOut, SchoolProgressOut
from hbs_shared.auth import CurrentPrincipal
from hbs_shared.problems import Problem
from hbs_shared.roles import PROVINCE
from hbs_shared.service import runtime_of

router = APIRouter(prefix="/province", tags=["province"])
repository = ProvinceRepository()

PROVINCE_ONLY = Problem(
    403, "Trang này dành cho Sở GD&ĐT", "the province's progress is for the province's roles only"
)


@router.get("/progress", response_model=ProvinceProgressOut)
async def province_progress(principal: CurrentPrincipal, request: Request) -> ProvinceProgressOut:
    """Each school grades knows, in its current year: classes, score sheets and year records by
    state. Counts only: no person's name or id (a school's own board sees those in /progress)."""
    if not principal.has_role(*PROVINCE):
        raise PROVINCE_ONLY
    async with runtime_of(request).db.transaction() as session:
        schools = await repository.progress(session)
    return ProvinceProgressOut(schools=[SchoolProgressOut.of(school) for school in schools])
