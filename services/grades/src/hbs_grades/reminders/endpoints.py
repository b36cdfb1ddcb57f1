"""Reminders over HTTP: the board sends (and lists what was sent), the recipient reads."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request

from hbs_grades.reminders.schemas import ReminderOut, RemindIn
from hbs_grades.school import CurrentSchoolYear
from hbs_grades.wiring import grades_of
from hbs_shared.auth import CurrentPrincipal
from hbs_shared.service import runtime_of

router = APIRouter(prefix="/reminders", tags=["reminders"])


@router.post("", response_model=list[ReminderOut], status_code=201)
async def remind(
    body: RemindIn, principal: CurrentPrincipal, year: CurrentSchoolYear, request: Request
) -> list[ReminderOut]:
    """Nhắc: one reminder to each person responsible for the chosen missing items."""
    grades, db = grades_of(request), runtime_of(request).db
    async with grades.writing(db.is_sqlite), db.transaction() as session:
        made = await grades.reminders.remind(
            session,
            principal,
            year,
            step=body.step,
            term=body.term,
            sheet_id=body.sheet_id,
            class_name=body.class_name,
            teacher_id=body.teacher_id,
            note=body.note,
        )
        out = [ReminderOut.of(r) for r in made]
    runner = getattr(request.app.state, "reminder_runner", None)
    if runner is not None:
        runner.nudge()  # the e-mail goes out now, not at the next poll
    return out


@router.get("", response_model=list[ReminderOut])
async def sent(principal: CurrentPrincipal, year: CurrentSchoolYear, request: Request) -> list[ReminderOut]:
    """The school's latest reminders this year (board)."""
    grades = grades_of(request)
    async with runtime_of(request).db.transaction() as session:
        return [ReminderOut.of(r) for r in await grades.reminders.sent(session, principal, year)]


@router.get("/mine", response_model=list[ReminderOut])
async def mine(principal: CurrentPrincipal, request: Request, unread_only: bool = False) -> list[ReminderOut]:
    """The caller's own reminders, newest first."""
    grades = grades_of(request)
    async with runtime_of(request).db.transaction() as session:
        return [ReminderOut.of(r) for r in await grades.reminders.mine(session, principal, unread_only)]


@router.post("/{reminder_id}/read", response_model=ReminderOut)
async def mark_read(reminder_id: uuid.UUID, principal: CurrentPrincipal, request: Request) -> ReminderOut:
    """The recipient has seen it (someone else's reminder is 404)."""
    grades, db = grades_of(request), runtime_of(request).db
    async with grades.writing(db.is_sqlite), db.transaction() as session:
        return ReminderOut.of(await grades.reminders.mark_read(session, principal, reminder_id))
