"""Grades' audit trail (Đ9.2): every workflow action, hash-chained in grades' database.

A use case calls, inside the transaction that does the action,

    await audit.record(session, school_id=sheet.school_id, actor=principal,
                       action=AuditAction.sheet_submitted, subject=("sheet", sheet.id),
                       details=audit.sheet_details(sheet))

The entry is chained and written as that transaction commits, and only if it does
(`hbs_shared.audit.store`). `python -m hbs_grades.audit verify` checks the chain.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hbs_grades.models import Assignment, ScoreSheet, Student, YearRecord
from hbs_shared.audit.actions import GradesAction
from hbs_shared.audit.store import STANDARD, Layout, append, audit_trail
from hbs_shared.auth import Principal

AuditAction = GradesAction
"""Grades' actions; add one in `hbs_shared.audit.actions` (member and Vietnamese label)."""

LAYOUT: Layout = STANDARD
"""Grades keeps the standard trail: tables `audit_trail` and `audit_head` (migration 0011)."""

__all__ = [
    "LAYOUT",
    "SYSTEM",
    "Actor",
    "AuditAction",
    "record",
    "record_details",
    "sheet_details",
    "signer",
]


@dataclass(frozen=True)
class Actor:
    """Who acted when it is not the caller: a signer named by signing's reply, or the system."""

    user_id: uuid.UUID | None
    name: str


SYSTEM = Actor(None, "Hệ thống")


async def record(
    session: AsyncSession,
    *,
    school_id: str,
    actor: Principal | Actor,
    action: GradesAction,
    subject: tuple[str, object] | None = None,
    details: Mapping[str, Any] | None = None,
) -> None:
    """Add one entry to the trail, in this session's transaction (written when it commits)."""
    kind, subject_id = subject if subject is not None else (None, None)
    append(
        session,
        LAYOUT,
        school_id=school_id,
        actor_id=actor.user_id,
        actor_name=actor.name,
        action=GradesAction(action).value,
        subject_kind=kind,
        subject_id=subject_id,
        details=details,
    )


def sheet_details(sheet: ScoreSheet, **more: Any) -> dict[str, Any]:
    """What names a sheet to a reader of the trail: class, subject, semester, year."""
    return {
        "class_name": sheet.class_name,
        "subject": sheet.subject,
        "term": sheet.term,
        "school_year": sheet.school_year,
        **more,
    }


async def record_details(session: AsyncSession, year_record: YearRecord, **more: Any) -> dict[str, Any]:
    """What names a year record: the student's name, class and year."""
    student = (
        await session.execute(
            select(Student).where(
                Student.id == year_record.student_id, Student.school_id == year_record.school_id
            )
        )
    ).scalar_one_or_none()
    return {
        "student_name": student.full_name if student is not None else "",
        "class_name": year_record.class_name,
        "school_year": year_record.school_year,
        **more,
    }


async def signer(session: AsyncSession, school_id: str, user_id: uuid.UUID) -> Actor:
    """A signer named by signing's reply (which carries only the id): the name they acted under
    last in this school's trail (they asked for the signature), else as a teaching assignment has it.

    Kept for the session's transaction: a batch of replies names one signer ~50 times."""
    known: dict[tuple[str, uuid.UUID], Actor] = session.info.setdefault("audit.signers", {})
    if (school_id, user_id) in known:
        return known[(school_id, user_id)]
    name = (
        await session.execute(
            select(audit_trail.c.actor_name)
            .where(audit_trail.c.school_id == school_id, audit_trail.c.actor_id == user_id)
            .order_by(audit_trail.c.seq.desc())
            .limit(1)
        )
    ).scalar_one_or_none()
    if name is None:
        name = (
            await session.execute(
                select(Assignment.teacher_name)
                .where(Assignment.school_id == school_id, Assignment.teacher_id == user_id)
                .limit(1)
            )
        ).scalar_one_or_none()
    known[(school_id, user_id)] = actor = Actor(user_id, name or "")
    return actor
