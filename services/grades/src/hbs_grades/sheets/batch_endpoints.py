"""A subject teacher's "sign all my ready sheets": the preview, one request for every confirmed
sheet under one activation, the batch's progress. Registered before `/sheets/{sheet_id}`."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request

from hbs_grades.sheets.batch_schemas import ReadyToSignOut, SheetBatchOut, SignSheetsIn
from hbs_grades.sheets.batches import SheetBatches
from hbs_grades.wiring import Grades, grades_of
from hbs_shared.auth import CurrentPrincipal
from hbs_shared.service import runtime_of

router = APIRouter(prefix="/sheets", tags=["score sheets"])


def _batches(grades: Grades) -> SheetBatches:
    # Stateless: composed from the wired use cases, so the wiring itself stays as it is.
    return SheetBatches(grades.sheet_signing, grades.windows)


@router.get("/ready-to-sign", response_model=ReadyToSignOut)
async def ready_to_sign(principal: CurrentPrincipal, request: Request) -> ReadyToSignOut:
    """The caller's own unsigned sheets: those ready to sign (class, subject, semester, students)
    and the others with the reason (students still missing scores, window closed, …)."""
    grades = grades_of(request)
    async with runtime_of(request).db.transaction() as session:
        found, signed = await _batches(grades).preview(session, principal)
        return ReadyToSignOut.of(found, signed)


@router.post("/sign", response_model=SheetBatchOut, status_code=202)
async def sign_sheets(body: SignSheetsIn, principal: CurrentPrincipal, request: Request) -> SheetBatchOut:
    """Submit (if still open) and ask to sign every chosen sheet under one activation: all or
    nothing, a refused sheet is named by `field` (`sheets[i].sheet_id`, `sheets[i]`, …)."""
    runtime, grades = runtime_of(request), grades_of(request)
    chosen = [(c.sheet_id, c.expected_version) for c in body.sheets]
    async with grades.writing(runtime.db.is_sqlite), runtime.db.transaction() as session:
        batch_id, sheets = await _batches(grades).sign(session, principal, chosen, body.activation_id)
        out = SheetBatchOut.of(batch_id, sheets)
    runtime.relay.nudge()
    return out


@router.get("/batches/{batch_id}", response_model=SheetBatchOut)
async def sheet_batch(batch_id: uuid.UUID, principal: CurrentPrincipal, request: Request) -> SheetBatchOut:
    """How far a batch got: its sheets (the teacher's own; the board reads every one) per state."""
    grades = grades_of(request)
    async with runtime_of(request).db.transaction() as session:
        return SheetBatchOut.of(batch_id, await _batches(grades).batch(session, principal, batch_id))
