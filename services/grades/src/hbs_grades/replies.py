"""Signing's replies on `signing.documents`, routed by the subject's kind to the sheet, the
record or the correction minutes' handlers (v2 names the kind; v1 only while a signing deployed
before v2 still runs)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from hbs_grades.records.handlers import RecordSigningReplies
from hbs_grades.sheets.handlers import SheetSigningReplies
from hbs_grades.sheets.minutes import MinutesSigningReplies
from hbs_grades.sheets.repository import ScoreSheetRepository
from hbs_grades.windows.service import WindowsService
from hbs_grades.workflow import SigningReplyHandler
from hbs_shared.events.contracts import (
    SigningCompleted,
    SigningCompletedV2,
    SigningFailed,
    SigningFailedV2,
    SubjectKind,
)
from hbs_shared.events.envelope import EventEnvelope


class SigningReplies:
    def __init__(
        self,
        sheets: SheetSigningReplies,
        records: RecordSigningReplies,
        minutes: MinutesSigningReplies,
        windows: WindowsService | None = None,
    ) -> None:
        self.sheets = sheets
        self.records = records
        self.minutes = minutes
        self.windows = windows
        """Marks the step done at the signature's moment (lateness, Đ10)."""
        self._sheet_rows = ScoreSheetRepository()

    async def _kind(
        self, session: AsyncSession, school_id: str, event: SigningCompleted | SigningFailed
    ) -> SubjectKind:
        if isinstance(event, SigningCompletedV2 | SigningFailedV2):
            return event.subject_kind
        # v1 names no kind: only a sheet's id is found among the sheets. Drop with v1.
        found = await self._sheet_rows.get(session, school_id, event.subject_id)
        return "sheet" if found is not None else "record"

    def _handler(self, kind: SubjectKind) -> SigningReplyHandler[Any]:
        if kind == "sheet":
            return self.sheets
        return self.minutes if kind == "minutes" else self.records

    async def completed(self, session: AsyncSession, env: EventEnvelope, event: SigningCompleted) -> None:
        """Applied to the envelope's school only: another school's sheet or record is not found."""
        handler = self._handler(await self._kind(session, env.school_id, event))
        current = await handler.on_completed(session, env.school_id, event)
        if current and self.windows is not None:
            await self.windows.signed(session, env.school_id, event.request_id, event.signed_at)

    async def failed(self, session: AsyncSession, env: EventEnvelope, event: SigningFailed) -> None:
        await self._handler(await self._kind(session, env.school_id, event)).on_failed(
            session, env.school_id, event
        )
