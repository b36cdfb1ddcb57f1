"""How far a batch has got: the signer sees their own, the school's overseers any of the school."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from pydantic import BaseModel

from hbs_shared.auth import CurrentPrincipal
from hbs_shared.problems import Problem
from hbs_shared.service import runtime_of
from hbs_signing.batches.service import BatchRunner
from hbs_signing.documents.access import OVERSIGHT_ROLES

router = APIRouter(prefix="/batches", tags=["batches"])


class BatchProgressOut(BaseModel):
    """How far a signing batch (lô ký) has come."""

    batch_id: uuid.UUID
    signer_user_id: uuid.UUID
    total: int
    done: int
    failed: int
    pending: int


@router.get("/{batch_id}", response_model=BatchProgressOut)
async def batch_status(
    batch_id: uuid.UUID, principal: CurrentPrincipal, request: Request
) -> dict[str, object]:
    # Anyone else is told the batch does not exist (the same answer as for an unknown id).
    only_signer = None if principal.has_role(*OVERSIGHT_ROLES) else principal.user_id
    batches: BatchRunner = request.app.state.batches
    async with runtime_of(request).db.transaction() as session:
        progress = await batches.progress(session, principal.school_id, batch_id, only_signer)
    if progress is None:
        raise Problem(404, "Không tìm thấy lô ký", "no such batch", field="batch_id")
    return {
        "batch_id": str(progress.batch_id),
        "signer_user_id": str(progress.signer_user_id),
        "total": progress.total,
        "done": progress.done,
        "failed": progress.failed,
        "pending": progress.total - progress.done - progress.failed,
    }
