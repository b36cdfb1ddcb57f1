"""Identity's audit trail: `audit_log` (sign-ins, accounts, resets, the school's structure),
hash-chained with the shared chain since migration 0007. `Unit.audit` writes it;
`python -m hbs_identity.audit verify` checks it."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hbs_identity.models import (
    Account,
    AuditEntry,
    Department,
    OAuthClient,
    Parent,
    SchoolClass,
    SchoolYear,
    Staff,
    Student,
)
from hbs_shared.audit.store import Layout, audit_head

LAYOUT = Layout(
    "identity",
    table=AuditEntry.__table__,  # type: ignore[arg-type]
    head=audit_head,
    columns={
        "occurred_at": "at",
        "subject_kind": "object_type",
        "subject_id": "object_id",
        "details": "detail",
    },
    extra=("source",),
)
"""`audit_log` names the canonical fields its own way; the caller's address is protected too."""


_NAMED: dict[str, tuple[type[Any], Any]] = {
    "account": (Account, Account.full_name),
    "staff": (Staff, Staff.full_name),
    "student": (Student, Student.full_name),
    "parent": (Parent, Parent.full_name),
    "class": (SchoolClass, SchoolClass.name),
    "department": (Department, Department.name),
    "school_year": (SchoolYear, SchoolYear.name),
    "client": (OAuthClient, OAuthClient.name),
}


async def subject_names(session: AsyncSession, entries: Sequence[AuditEntry]) -> dict[tuple[str, str], str]:
    """The name of each entry's object (a person, a class…), so a reader sees names, not ids:
    one query per kind of object. A login that found nobody is shown as it was typed."""
    wanted: dict[str, set[uuid.UUID]] = {}
    names: dict[tuple[str, str], str] = {}
    for entry in entries:
        kind, object_id = entry.object_type, entry.object_id
        if kind is None or object_id is None:
            continue
        if kind == "login":
            names[(kind, object_id)] = object_id
        elif kind in _NAMED:
            try:
                wanted.setdefault(kind, set()).add(uuid.UUID(object_id))
            except ValueError:
                continue
    for kind, ids in wanted.items():
        model, name = _NAMED[kind]
        rows = await session.execute(select(model.id, name).where(model.id.in_(ids)))
        names.update({(kind, str(row[0])): str(row[1]) for row in rows})
    return names


async def entries(
    session: AsyncSession,
    school_id: str,
    *,
    action: str | None = None,
    object_id: str | None = None,
    actor_id: uuid.UUID | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[AuditEntry]:
    """A school's entries, newest first."""
    query = select(AuditEntry).where(AuditEntry.school_id == school_id)
    if action:
        query = query.where(AuditEntry.action == action)
    if object_id:
        query = query.where(AuditEntry.object_id == object_id)
    if actor_id is not None:
        query = query.where(AuditEntry.actor_id == actor_id)
    if since is not None:
        query = query.where(AuditEntry.at >= since)
    if until is not None:
        query = query.where(AuditEntry.at < until)
    result = await session.execute(query.order_by(AuditEntry.seq.desc()).limit(limit).offset(offset))
    return list(result.scalars())
