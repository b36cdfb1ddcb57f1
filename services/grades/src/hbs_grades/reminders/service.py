"""Nhắc (Đ4.1): a reminder to the person who must act, from a board member or by itself as a
closing date approaches; shown in the portal until read, e-mailed when SMTP is configured.

Services never commit: the endpoint (or the runner) opens the one transaction."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from hbs_grades import audit
from hbs_grades.audit import AuditAction
from hbs_grades.models import Reminder
from hbs_grades.progress.service import Filters, ProgressService, Work
from hbs_grades.progress.steps import SHEET_STEPS, STEP_TITLES, ProgressStep
from hbs_grades.reminders.mailer import Mailer, NoMailer
from hbs_grades.reminders.repository import ReminderRepository
from hbs_shared.auth import Principal
from hbs_shared.events.identity import AssignmentChanged
from hbs_shared.labels import TERM_LABELS
from hbs_shared.logging import get_logger
from hbs_shared.problems import Problem
from hbs_shared.roles import Role

log = get_logger(__name__)
SCHOOL_TIME = ZoneInfo("Asia/Ho_Chi_Minh")
MAX_EMAIL_ATTEMPTS = 5
STUCK_AFTER = timedelta(minutes=10)
"""A reminder left "sending" this long (the service stopped mid-send) is tried again."""
NOT_FOUND = Problem(404, "Không tìm thấy lời nhắc", "no such reminder, or not yours", field="reminder_id")


def school_time(moment: datetime) -> str:
    return moment.astimezone(SCHOOL_TIME).strftime("%d/%m/%Y %H:%M")


def deadline_text(due: datetime) -> str:
    """A window closes at the end of its closing day (00:00 of the next): "hết ngày 02/12/2026"."""
    local = due.astimezone(SCHOOL_TIME)
    if (local.hour, local.minute) == (0, 0):
        return f"hết ngày {(local - timedelta(days=1)):%d/%m/%Y}"
    return f"{local:%d/%m/%Y %H:%M}"


def lateness(seconds: int) -> str:
    days, rest = divmod(seconds, 86400)
    hours = rest // 3600
    if days:
        return f"{days} ngày {hours} giờ" if hours else f"{days} ngày"
    return f"{hours} giờ" if hours else "dưới 1 giờ"


def describe(work: Work) -> str:
    """One missing item in words a teacher reads."""
    if work.step in SHEET_STEPS:
        term = TERM_LABELS.get(work.term or "", work.term or "")
        what = (
            f"Lớp {work.class_name} – môn {work.subject} – {term}: "
            f"{STEP_TITLES[work.step]} (sổ điểm {work.state_label})"
        )
    else:
        what = (
            f"Lớp {work.class_name}: {STEP_TITLES[work.step]} – "
            f"còn {work.missing}/{work.total} học bạ chưa xong"
        )
    if work.due_at is not None:
        what += f"; hạn {deadline_text(work.due_at)}"
        if work.late_seconds:
            what += f", đã quá hạn {lateness(work.late_seconds)}"
    return what


class ReminderService:
    def __init__(
        self,
        progress: ProgressService,
        mailer: Mailer | None = None,
        days_before: Sequence[int] = (3, 1),
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.progress = progress
        self.mailer: Mailer = mailer or NoMailer()
        self.days_before = sorted(set(days_before))
        self.clock = clock or (lambda: datetime.now(UTC))
        self.repo = ReminderRepository()

    # ------------------------------------------------------------------ from a board member

    async def remind(
        self,
        session: AsyncSession,
        principal: Principal,
        school_year: str,
        *,
        step: ProgressStep | None,
        term: str | None,
        sheet_id: uuid.UUID | None,
        class_name: str | None,
        teacher_id: uuid.UUID | None,
        note: str,
    ) -> list[Reminder]:
        """Remind whoever must act on the chosen missing items (one reminder per person)."""
        self.progress.require_board(principal)
        if sheet_id is None and class_name is None and teacher_id is None:
            raise Problem(
                422,
                "Hãy chọn việc hoặc người cần nhắc",
                "name a sheet, a class or a teacher",
                field="sheet_id",
            )
        found = await self.progress.progress(
            session,
            principal.school_id,
            school_year,
            Filters(term=term, class_name=class_name, teacher_id=teacher_id),
        )
        works = [w for w in found.missing(step) if sheet_id is None or w.sheet_id == sheet_id]
        if not works:
            raise Problem(
                409, "Không còn việc nào còn thiếu để nhắc", "nothing is missing there", field="sheet_id"
            )
        people = [w for w in works if w.responsible_id is not None]
        if not people:
            raise Problem(
                409,
                "Việc này chưa có giáo viên phụ trách (hoặc là việc của Ban Giám hiệu)",
                "no teacher is responsible for it",
                field="sheet_id",
            )
        by_person: dict[uuid.UUID, list[Work]] = defaultdict(list)
        for work in people:
            assert work.responsible_id is not None
            by_person[work.responsible_id].append(work)
        title = "Hiệu trưởng" if principal.has_role(Role.principal) else "Phó Hiệu trưởng"
        sender = f"{title} {principal.name}" if principal.name else "Ban Giám hiệu"
        made = []
        for person, items in by_person.items():
            lines = "\n".join(f"- {describe(w)}" for w in items)
            message = f"{sender} nhắc thầy/cô hoàn thành:\n{lines}"
            if note:
                message += f"\nLời nhắn: {note}"
            made.append(
                await self._add(session, principal.school_id, school_year, items, person, message, principal)
            )
        return made

    async def _add(
        self,
        session: AsyncSession,
        school_id: str,
        school_year: str,
        works: Sequence[Work],
        recipient: uuid.UUID,
        message: str,
        sender: Principal | None,
        dedupe_key: str | None = None,
    ) -> Reminder:
        """One reminder about `works` (one person's); class, subject, sheet and step are kept
        when all the items share them."""
        work = works[0]

        def shared(values: set[Any]) -> Any:
            return next(iter(values)) if len(values) == 1 else None

        emails = await self.repo.emails(session, [recipient])
        email = emails.get(recipient)
        reminder = Reminder(
            id=uuid.uuid4(),
            school_id=school_id,
            school_year=school_year,
            recipient_id=recipient,
            recipient_name=work.responsible_name,
            sender_id=sender.user_id if sender else None,
            sender_name=(sender.name or "Ban Giám hiệu") if sender else "Hệ thống HBS (nhắc tự động)",
            step=work.step.value,
            term=shared({w.term for w in works}),
            class_name=shared({w.class_name for w in works}),
            subject=shared({w.subject for w in works}),
            sheet_id=shared({w.sheet_id for w in works}),
            message=message,
            created_at=self.clock(),
            email=email,
            email_state="pending" if email and self.mailer.configured else "none",
            email_attempts=0,
            dedupe_key=dedupe_key,
        )
        self.repo.add(session, reminder)
        await session.flush()
        # The trail keeps who reminded whom of what (Đ9.2); names, not ids, for its readers.
        await audit.record(
            session,
            school_id=school_id,
            actor=sender if sender is not None else audit.SYSTEM,
            action=AuditAction.reminder_sent,
            subject=("reminder", reminder.id),
            details={
                "recipient_name": reminder.recipient_name,
                "step": STEP_TITLES[work.step],
                "class_name": reminder.class_name,
                "subject": reminder.subject,
                "term": reminder.term,
                "school_year": school_year,
                "count": len(works),
                "automatic": sender is None,
                "by_email": reminder.email_state == "pending",
            },
        )
        return reminder

    # ------------------------------------------------------------------ the recipient

    async def mine(self, session: AsyncSession, principal: Principal, unread_only: bool) -> list[Reminder]:
        return await self.repo.of_recipient(session, principal.school_id, principal.user_id, unread_only, 100)

    async def mark_read(
        self, session: AsyncSession, principal: Principal, reminder_id: uuid.UUID
    ) -> Reminder:
        reminder = await self.repo.get(session, principal.school_id, reminder_id)
        # Someone else's reminder is "not found": its existence is not disclosed.
        if reminder is None or reminder.recipient_id != principal.user_id:
            raise NOT_FOUND
        if reminder.read_at is None:
            reminder.read_at = self.clock()
        await session.flush()
        return reminder

    async def sent(self, session: AsyncSession, principal: Principal, school_year: str) -> list[Reminder]:
        self.progress.require_board(principal)
        return await self.repo.of_school(session, principal.school_id, school_year, 200)

    async def remember_contact(self, session: AsyncSession, school_id: str, event: AssignmentChanged) -> None:
        """Identity's assignment events carry the teacher's e-mail (None: none stored)."""
        if "teacher_email" in event.model_fields_set:
            await self.repo.remember_email(session, school_id, event.teacher_id, event.teacher_email)

    # ------------------------------------------------------------------ by itself

    async def remind_due_soon(self, session: AsyncSession) -> int:
        """Before a window closes: one reminder per person, step, semester and closing moment,
        for the nearest of `days_before` marks reached, listing every item they still miss under
        it. Its key (person, mark, step, semester, closing moment) is stored with it, so a second
        run, a restart or a second replica adds nothing; an extension (a new closing moment) gets
        its own."""
        now = self.clock()
        made = 0
        for school_id, school_year in await self.repo.schools(session):
            found = await self.progress.progress(session, school_id, school_year, Filters())
            grouped: dict[str, tuple[int, list[Work]]] = {}
            for work in found.missing(None):
                if work.responsible_id is None or work.due_at is None or now >= work.due_at:
                    continue
                marks = [d for d in self.days_before if work.due_at - timedelta(days=d) <= now]
                if not marks:
                    continue
                key = ":".join(
                    (
                        "auto",
                        str(marks[0]),
                        str(work.responsible_id),
                        work.step.value,
                        work.term or "-",
                        work.due_at.astimezone(UTC).isoformat(),
                    )
                )
                grouped.setdefault(key, (marks[0], []))[1].append(work)
            taken = await self.repo.keys_taken(session, list(grouped))
            for key, (mark, works) in grouped.items():
                if key in taken:
                    continue
                lines = "\n".join(f"- {describe(w)}" for w in works)
                message = f"Nhắc tự động: còn {mark} ngày nữa là hết hạn.\n{lines}"
                person = works[0].responsible_id
                assert person is not None
                await self._add(session, school_id, school_year, works, person, message, None, key)
                made += 1
        return made

    # ------------------------------------------------------------------ e-mail

    async def claim_emails(
        self, session: AsyncSession, limit: int = 50
    ) -> list[tuple[uuid.UUID, str, str, str]]:
        """Reminders waiting for their e-mail, marked as being sent (one more attempt), so a
        concurrent run does not send them too: (id, to, subject, body)."""
        now = self.clock()
        out = []
        for reminder in await self.repo.awaiting_email(session, MAX_EMAIL_ATTEMPTS, limit, now - STUCK_AFTER):
            reminder.email_attempts += 1
            reminder.email_state, reminder.emailed_at = "sending", now
            subject = f"[HBS] Nhắc việc: {STEP_TITLES[ProgressStep(reminder.step)]}"
            body = (
                f"Kính gửi thầy/cô {reminder.recipient_name},\n\n{reminder.message}\n\n"
                f"Gửi lúc {school_time(reminder.created_at)}."
            )
            out.append((reminder.id, reminder.email or "", subject, body))
        await session.flush()
        return out

    async def settle_email(self, session: AsyncSession, reminder_id: uuid.UUID, error: str | None) -> None:
        reminder = await self.repo.claimed(session, reminder_id)
        if reminder is None:
            return
        if error is None:
            reminder.email_state, reminder.emailed_at, reminder.email_error = "sent", self.clock(), None
        else:
            reminder.email_error = error[:500]
            reminder.email_state = "failed" if reminder.email_attempts >= MAX_EMAIL_ATTEMPTS else "pending"
        await session.flush()
