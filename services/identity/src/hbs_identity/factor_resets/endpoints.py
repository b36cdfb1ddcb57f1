"""HTTP: factor resets under the two-person rule, and the owner's acknowledgement of a notice."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from hbs_identity.accounts.signin import SignIn
from hbs_identity.authz.guard import caller_scope
from hbs_identity.factor_resets.schemas import FactorResetIn, FactorResetOut, RejectIn, State
from hbs_identity.factor_resets.service import FactorResetService
from hbs_identity.unit import request_unit
from hbs_shared.auth import CurrentPrincipal

router = APIRouter(tags=["factor resets"])


def resets(request: Request) -> FactorResetService:
    sign_in: SignIn = request.app.state.sign_in
    return FactorResetService(sign_in.refresh)


@router.post("/accounts/{user_id}/factor-resets", response_model=FactorResetOut, status_code=201)
async def request_reset(
    user_id: uuid.UUID, body: FactorResetIn, request: Request, principal: CurrentPrincipal
) -> FactorResetOut:
    """Ask for a reset of one factor of someone else's account; a second board member approves it."""
    async with request_unit(request, principal) as unit:
        return await resets(request).request(unit, await caller_scope(unit), user_id, body)


@router.get("/factor-resets", response_model=list[FactorResetOut])
async def list_resets(
    request: Request, principal: CurrentPrincipal, state: Annotated[State, Query()] = "pending"
) -> list[FactorResetOut]:
    async with request_unit(request, principal) as unit:
        return await resets(request).listing(unit, await caller_scope(unit), state)


@router.post("/factor-resets/{reset_id}/approve", response_model=FactorResetOut)
async def approve(reset_id: uuid.UUID, request: Request, principal: CurrentPrincipal) -> FactorResetOut:
    """Applies the reset at once. A new password is in this answer only, for the approver to hand over."""
    async with request_unit(request, principal) as unit:
        out = await resets(request).approve(unit, await caller_scope(unit), reset_id)
    return out


@router.post("/factor-resets/{reset_id}/reject", response_model=FactorResetOut)
async def reject(
    reset_id: uuid.UUID, body: RejectIn, request: Request, principal: CurrentPrincipal
) -> FactorResetOut:
    async with request_unit(request, principal) as unit:
        return await resets(request).reject(unit, await caller_scope(unit), reset_id, body.reason)


@router.post("/me/security-notices/{reset_id}/ack", status_code=204)
async def acknowledge(reset_id: uuid.UUID, request: Request, principal: CurrentPrincipal) -> Response:
    """The owner has seen the notice of an approved reset of one of their factors."""
    async with request_unit(request, principal) as unit:
        await resets(request).acknowledge(unit, reset_id)
    return Response(status_code=204)
