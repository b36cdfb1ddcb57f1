"""HTTP: teaching and homeroom assignments."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request

from hbs_identity.assignments.repository import AssignmentRepository
from hbs_identity.assignments.schemas import AssignmentIn, AssignmentOut
from hbs_identity.assignments.service import AssignmentService
from hbs_identity.authz.guard import caller_scope, require_admin, require_staff
from hbs_identity.school.service import SchoolService
from hbs_identity.unit import request_unit
from hbs_shared.auth import CurrentPrincipal

router = APIRouter(tags=["assignments"])
_service = AssignmentService()
_repo = AssignmentRepository()


@router.post("/assignments", response_model=AssignmentOut, status_code=201)
async def assign(body: AssignmentIn, request: Request, principal: CurrentPrincipal) -> AssignmentOut:
    async with request_unit(request, principal) as unit:
        require_admin(await caller_scope(unit))
        assignment = await _service.assign(unit, body)
        return (await _service.describe(unit, [assignment]))[0]


@router.get("/assignments", response_model=list[AssignmentOut])
async def list_assignments(
    request: Request,
    principal: CurrentPrincipal,
    class_id: uuid.UUID | None = None,
    teacher_id: uuid.UUID | None = None,
    school_year: Annotated[str | None, Query(pattern=r"^\d{4}-\d{4}$", max_length=9)] = None,
    include_ended: bool = False,
) -> list[AssignmentOut]:
    async with request_unit(request, principal) as unit:
        require_staff(await caller_scope(unit))
        year_id = (await SchoolService().year_named(unit, school_year)).id if school_year else None
        assignments = await _repo.list(
            unit.session,
            unit.school_id,
            class_id=class_id,
            teacher_id=teacher_id,
            year_id=year_id,
            include_ended=include_ended,
        )
        return await _service.describe(unit, assignments)


@router.delete("/assignments/{assignment_id}", response_model=AssignmentOut)
async def end_assignment(
    assignment_id: uuid.UUID, request: Request, principal: CurrentPrincipal
) -> AssignmentOut:
    async with request_unit(request, principal) as unit:
        require_admin(await caller_scope(unit))
        assignment = await _service.get(unit, assignment_id)
        await _service.end(unit, assignment)
        return (await _service.describe(unit, [assignment]))[0]
