"""HTTP: change requests on a student's personal data (Đ6.1), from the homeroom teacher to the office."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request

from hbs_identity.authz.guard import caller_scope
from hbs_identity.change_requests.schemas import ChangeRequestIn, ChangeRequestOut, Listing, RejectIn
from hbs_identity.change_requests.service import ChangeRequestService
from hbs_identity.people.endpoints import service_of
from hbs_identity.unit import request_unit
from hbs_shared.auth import CurrentPrincipal

router = APIRouter(tags=["change requests"])


def requests_of(request: Request) -> ChangeRequestService:
    return ChangeRequestService(service_of(request).students)


@router.post("/students/{student_id}/change-requests", response_model=ChangeRequestOut, status_code=201)
async def request_change(
    student_id: uuid.UUID, body: ChangeRequestIn, request: Request, principal: CurrentPrincipal
) -> ChangeRequestOut:
    """The student's homeroom teacher reports what the documents show instead."""
    async with request_unit(request, principal) as unit:
        return await requests_of(request).create(unit, await caller_scope(unit), student_id, body)


@router.get("/change-requests", response_model=list[ChangeRequestOut])
async def list_changes(
    request: Request, principal: CurrentPrincipal, state: Annotated[Listing, Query()] = "pending"
) -> list[ChangeRequestOut]:
    async with request_unit(request, principal) as unit:
        return await requests_of(request).listing(unit, await caller_scope(unit), state)


@router.post("/change-requests/{request_id}/apply", response_model=ChangeRequestOut)
async def apply_change(
    request_id: uuid.UUID, request: Request, principal: CurrentPrincipal
) -> ChangeRequestOut:
    """The office applies it: a new version of the student's personal data, with who and why."""
    async with request_unit(request, principal) as unit:
        return await requests_of(request).apply(unit, await caller_scope(unit), request_id)


@router.post("/change-requests/{request_id}/reject", response_model=ChangeRequestOut)
async def reject_change(
    request_id: uuid.UUID, body: RejectIn, request: Request, principal: CurrentPrincipal
) -> ChangeRequestOut:
    async with request_unit(request, principal) as unit:
        return await requests_of(request).reject(unit, await caller_scope(unit), request_id, body.reason)
