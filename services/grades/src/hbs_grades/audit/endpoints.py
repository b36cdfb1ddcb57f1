"""HTTP: grades' audit trail for the board and the office, and the check of its chain (Đ9.2)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from hbs_grades.access import OVERSIGHT_ROLES
from hbs_grades.audit import LAYOUT
from hbs_shared.audit.actions import GradesAction
from hbs_shared.audit.schemas import ChainStatusOut, Moment
from hbs_shared.audit.store import count_of, entry_of, listing, verify_stored
from hbs_shared.auth import CurrentPrincipal, Principal
from hbs_shared.problems import Problem
from hbs_shared.service import runtime_of

router = APIRouter(prefix="/audit", tags=["audit"])


class AuditEntryOut(BaseModel):
    seq: int
    hash: str
    occurred_at: datetime
    actor_id: uuid.UUID | None
    actor_name: str
    action: str
    subject_kind: str | None
    subject_id: str | None
    details: dict[str, Any]
    """Names of what was acted on (class, subject, student…) and what changed."""


class AuditPageOut(BaseModel):
    entries: list[AuditEntryOut]
    """Newest first."""
    total: int
    """How many entries match the filters."""


def _require_reader(principal: Principal) -> None:
    if not principal.has_role(*OVERSIGHT_ROLES):
        raise Problem(
            403, "Nhật ký chỉ dành cho Ban Giám hiệu và văn phòng", "board and office only", field="role"
        )


@router.get("", response_model=AuditPageOut)
async def audit_entries(
    principal: CurrentPrincipal,
    request: Request,
    action: GradesAction | None = None,
    subject_kind: Annotated[str | None, Query(max_length=40, pattern=r"^[a-z_]+$")] = None,
    subject_id: Annotated[str | None, Query(max_length=64)] = None,
    actor_id: uuid.UUID | None = None,
    since: Moment | None = None,
    until: Moment | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> AuditPageOut:
    """The school's workflow actions, newest first: submissions, signatures and their results,
    returns, corrections, changes after submission (board and office)."""
    _require_reader(principal)
    query = listing(
        LAYOUT,
        principal.school_id,
        actions=[action.value] if action is not None else [],
        actor_id=actor_id,
        subject_kind=subject_kind,
        subject_id=subject_id,
        since=since,
        until=until,
    )
    async with runtime_of(request).db.transaction() as session:
        total = int((await session.execute(count_of(query))).scalar_one())
        rows = (await session.execute(query.limit(limit).offset(offset))).all()
    return AuditPageOut(entries=[_out(row) for row in rows], total=total)


def _out(row: Any) -> AuditEntryOut:
    entry = entry_of(LAYOUT, row)
    return AuditEntryOut(
        seq=entry.seq,
        hash=entry.hash,
        occurred_at=entry.occurred_at,
        actor_id=None if entry.actor_id is None else uuid.UUID(entry.actor_id),
        actor_name=entry.actor_name,
        action=entry.action,
        subject_kind=entry.subject_kind,
        subject_id=entry.subject_id,
        details=dict(entry.details),
    )


@router.get("/verify", response_model=ChainStatusOut)
async def audit_verify(principal: CurrentPrincipal, request: Request) -> ChainStatusOut:
    """Whether grades' audit chain is intact, or the first broken link."""
    _require_reader(principal)
    async with runtime_of(request).db.transaction() as session:
        return await _status(session)


async def _status(session: AsyncSession) -> ChainStatusOut:
    return ChainStatusOut.of("grades", await verify_stored(session, LAYOUT))
