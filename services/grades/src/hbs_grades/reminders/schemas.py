"""HTTP shapes of reminders."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from hbs_grades.models import Reminder
from hbs_grades.progress.steps import ProgressStep

_TEXT = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"


class RemindIn(BaseModel):
    """Whom to remind: the person responsible for a sheet, for a class's records at a step, or
    a teacher for everything they still have missing (filtered by step and semester)."""

    model_config = ConfigDict(extra="forbid")

    step: ProgressStep | None = None
    term: str | None = Field(default=None, pattern=r"^HK[12]$")
    sheet_id: uuid.UUID | None = None
    class_name: str | None = Field(default=None, min_length=1, max_length=40, pattern=r"^[^\x00-\x1f\x7f]+$")
    teacher_id: uuid.UUID | None = None
    note: str = Field(default="", max_length=500, pattern=_TEXT)


class ReminderOut(BaseModel):
    id: uuid.UUID
    recipient_id: uuid.UUID
    recipient_name: str
    sender_name: str
    automatic: bool
    step: str
    term: str | None
    class_name: str | None
    subject: str | None
    sheet_id: uuid.UUID | None
    message: str
    created_at: datetime
    read_at: datetime | None
    email_state: str
    """none (no address or no SMTP), pending, sent, failed."""

    @classmethod
    def of(cls, r: Reminder) -> ReminderOut:
        return cls(
            id=r.id,
            recipient_id=r.recipient_id,
            recipient_name=r.recipient_name,
            sender_name=r.sender_name,
            automatic=r.sender_id is None,
            step=r.step,
            term=r.term,
            class_name=r.class_name,
            subject=r.subject,
            sheet_id=r.sheet_id,
            message=r.message,
            created_at=r.created_at,
            read_at=r.read_at,
            email_state=r.email_state,
        )
