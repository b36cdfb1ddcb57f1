"""The school's facts as the other services learn them: `identity.school.changed`.

Identity owns the school's name, province, board and years; grades and signing print them on
what is signed. Any unit of work that changes the school, a school year or a principal's account
publishes the whole current facts once before it commits, and identity publishes them again at
start-up (a fresh stack, or a deployment from before this event)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, inspect, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from hbs_identity.models import Account, School, SchoolYear
from hbs_identity.school.repository import SchoolRepository
from hbs_shared.events.identity import CurrentYear, SchoolChanged
from hbs_shared.roles import Role

_TOUCHED = "hbs.school_facts_touched"


async def school_facts(session: AsyncSession, school_id: str) -> SchoolChanged | None:
    """The school's facts now; None while the school itself is not created."""
    repo = SchoolRepository()
    school = await repo.school(session, school_id)
    if school is None:
        return None
    year = await repo.current_year(session, school_id)
    return SchoolChanged(
        school_id=school.id,
        name=school.name,
        authority=school.authority,
        province=school.province,
        principal_name=await repo.principal_name(session, school_id),
        current_year=None
        if year is None
        else CurrentYear(
            name=year.name,
            semester1_start=year.semester1_start,
            semester1_end=year.semester1_end,
            semester2_start=year.semester2_start,
            semester2_end=year.semester2_end,
        ),
    )


async def all_school_ids(session: AsyncSession) -> list[str]:
    return list((await session.execute(select(School.id).order_by(School.id))).scalars())


def _concerns_facts(obj: object) -> bool:
    if isinstance(obj, School | SchoolYear):
        return True
    if isinstance(obj, Account) and obj.kind == "staff":
        # A principal renamed, disabled or enabled, or a staff member's roles changed.
        return Role.principal in (obj.roles or []) or inspect(obj).attrs.roles.history.has_changes()
    return False


def _note_changes(session: Session, _context: Any, _instances: Any) -> None:
    if not session.info.get(_TOUCHED) and any(
        _concerns_facts(obj) for obj in (*session.new, *session.dirty, *session.deleted)
    ):
        session.info[_TOUCHED] = True


def watch(session: AsyncSession) -> None:
    """Note, at every flush of this transaction, whether the school's facts may have changed."""
    event.listen(session.sync_session, "before_flush", _note_changes)


async def touched(session: AsyncSession) -> bool:
    """Whether this transaction changed anything the school's facts are made of (flushes first)."""
    await session.flush()
    return bool(session.sync_session.info.get(_TOUCHED))
