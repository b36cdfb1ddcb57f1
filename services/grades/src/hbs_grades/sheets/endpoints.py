"""Score sheet endpoints: every one checks the caller against the sheet it names."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request

from hbs_grades.sheets.schemas import SheetAction, SheetOut
from hbs_grades.sheets.service import ScoreSheetService
from hbs_shared.auth import CurrentPrincipal
from hbs_shared.service import runtime_of

router = APIRouter(prefix="/sheets", tags=["score sheets"])
_service = ScoreSheetService()


@router.get("", response_model=list[SheetOut])
async def list_sheets(principal: CurrentPrincipal, request: Request) -> list[SheetOut]:
    async with runtime_of(request).db.transaction() as session:
        return [SheetOut.of(s) for s in await _service.visible_to(session, principal)]


@router.get("/{sheet_id}", response_model=SheetOut)
async def get_sheet(sheet_id: uuid.UUID, principal: CurrentPrincipal, request: Request) -> SheetOut:
    async with runtime_of(request).db.transaction() as session:
        return SheetOut.of(await _service.get_visible(session, principal, sheet_id))


@router.post("/{sheet_id}/submit", response_model=SheetOut)
async def submit_sheet(
    sheet_id: uuid.UUID, body: SheetAction, principal: CurrentPrincipal, request: Request
) -> SheetOut:
    async with runtime_of(request).db.transaction() as session:
        sheet = await _service.submit(session, principal, sheet_id, body.expected_version)
        return SheetOut.of(sheet)


@router.post("/{sheet_id}/sign", response_model=SheetOut, status_code=202)
async def request_signature(
    sheet_id: uuid.UUID, body: SheetAction, principal: CurrentPrincipal, request: Request
) -> SheetOut:
    runtime = runtime_of(request)
    async with runtime.db.transaction() as session:
        sheet = await _service.request_signature(session, principal, sheet_id, body.expected_version)
        out = SheetOut.of(sheet)
    runtime.relay.nudge()
    return out
