"""All SQL on reminders and the teachers' e-mail addresses."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from hbs_grades.models import Reminder, StaffContact
from hbs_shared.school_facts import school_facts


class ReminderRepository:
    def add(self, session: AsyncSession, reminder: Reminder) -> None:
        session.add(reminder)

    async def get(self, session: AsyncSession, school_id: str, reminder_id: uuid.UUID) -> Reminder | None:
        """The school's reminder: an id of another school's is not found."""
        result = await session.execute(
            select(Reminder).where(Reminder.id == reminder_id, Reminder.school_id == school_id)
        )
        return result.scalar_one_or_none()

    async def claimed(self, session: AsyncSession, reminder_id: uuid.UUID) -> Reminder | None:
        """A reminder the runner claimed for e-mail (it works across schools, by the claim's id)."""
        return await session.get(Reminder, reminder_id)

    async def of_recipient(
        self, session: AsyncSession, school_id: str, recipient_id: uuid.UUID, unread_only: bool, limit: int
    ) -> list[Reminder]:
        query = select(Reminder).where(Reminder.school_id == school_id, Reminder.recipient_id == recipient_id)
        if unread_only:
            query = query.where(Reminder.read_at.is_(None))
        result = await session.execute(query.order_by(Reminder.created_at.desc()).limit(limit))
        return list(result.scalars())

    async def of_school(
        self, session: AsyncSession, school_id: str, school_year: str, limit: int
    ) -> list[Reminder]:
        result = await session.execute(
            select(Reminder)
            .where(Reminder.school_id == school_id, Reminder.school_year == school_year)
            .order_by(Reminder.created_at.desc())
            .limit(limit)
        )
        return list(result.scalars())

    async def keys_taken(self, session: AsyncSession, keys: Sequence[str]) -> set[str]:
        if not keys:
            return set()
        taken: set[str] = set()
        for start in range(0, len(keys), 500):  # bounded IN lists
            result = await session.execute(
                select(Reminder.dedupe_key).where(Reminder.dedupe_key.in_(keys[start : start + 500]))
            )
            taken.update(k for k in result.scalars() if k)
        return taken

    async def awaiting_email(
        self, session: AsyncSession, max_attempts: int, limit: int, stuck_before: datetime
    ) -> list[Reminder]:
        waiting = or_(
            Reminder.email_state == "pending",
            and_(Reminder.email_state == "sending", Reminder.emailed_at < stuck_before),
        )
        result = await session.execute(
            select(Reminder)
            .where(waiting, Reminder.email_attempts < max_attempts)
            .order_by(Reminder.created_at)
            .limit(limit)
        )
        return list(result.scalars())

    async def emails(self, session: AsyncSession, teacher_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, str]:
        if not teacher_ids:
            return {}
        result = await session.execute(
            select(StaffContact.teacher_id, StaffContact.email).where(
                StaffContact.teacher_id.in_(teacher_ids)
            )
        )
        return {tid: email for tid, email in result.all() if email}

    async def remember_email(
        self, session: AsyncSession, school_id: str, teacher_id: uuid.UUID, email: str | None
    ) -> None:
        row = await session.get(StaffContact, teacher_id)
        if row is None:
            session.add(StaffContact(teacher_id=teacher_id, school_id=school_id, email=email))
        elif row.school_id == school_id:
            row.email = email
        # else: an id another school holds (the key is the teacher alone): its address stays its own.

    async def schools(self, session: AsyncSession) -> list[tuple[str, str]]:
        """Every school grades has heard of, with its current year."""
        result = await session.execute(select(school_facts.c.school_id, school_facts.c.school_year))
        return [(str(s), str(y)) for s, y in result.all() if y]
