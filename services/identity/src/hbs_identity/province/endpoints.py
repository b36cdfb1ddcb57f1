"""HTTP: the province's schools (Sở GD&ĐT): create one with its first administrator, list all."""

from __future__ import annotations

from fastapi import APIRouter, Request

from hbs_identity.authz.guard import caller_scope, require_province
from hbs_identity.province.schemas import FirstAdminOut, NewSchoolIn, NewSchoolOut, SchoolCounts
from hbs_identity.province.service import ProvinceService
from hbs_identity.school.schemas import SchoolOut
from hbs_identity.unit import Actor, client_address, request_unit, unit_of_work
from hbs_shared.auth import CurrentPrincipal
from hbs_shared.roles import Role
from hbs_shared.service import runtime_of

router = APIRouter(tags=["province"])
_service = ProvinceService()


@router.post("/schools", response_model=NewSchoolOut, status_code=201)
async def create_school(body: NewSchoolIn, request: Request, principal: CurrentPrincipal) -> NewSchoolOut:
    """A new school and its first administrator (Quản trị hệ thống + Văn phòng of the school),
    whose one-time password is shown here once and must be changed at first sign-in. The school
    has no school year yet: its administrator creates one. Province administrators only."""
    # The new school's unit: its facts are announced (identity.school.changed), its trail begins.
    async with unit_of_work(
        runtime_of(request), body.id, Actor.of(principal), client_address(request)
    ) as unit:
        require_province(await caller_scope(unit), frozenset({Role.province_admin}))
        school, account, password = await _service.create_school(unit, body)
        return NewSchoolOut(
            school=SchoolOut.model_validate(school),
            admin=FirstAdminOut(username=account.username, password=password),
        )


@router.get("/schools", response_model=list[SchoolCounts])
async def list_schools(request: Request, principal: CurrentPrincipal) -> list[SchoolCounts]:
    """Every school of the deployment with counts of its current school year (no one's data).
    The province's people only."""
    async with request_unit(request, principal) as unit:
        require_province(await caller_scope(unit))
        return await _service.schools_with_counts(unit)
