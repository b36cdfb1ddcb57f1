"""Signing's replies on `signing.documents`, routed by the subject's kind to the sheet or the
record handlers (v2 names the kind; v1 only while a signing deployed before v2 still runs)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from hbs_grades.records.handlers import RecordSigningReplies
from hbs_grades.sheets.handlers import SheetSigningReplies
from hbs_grades.sheets.repository import ScoreSheetRepository
from hbs_grades.windows.service import WindowsService
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
        windows: WindowsService | None = None,
    ) -> None:
        self.sheets = sheets
        self.records = records
        self.windows = windows
        """Marks the step done at the signature's moment (lateness, Đ10)."""
        self._sheet_rows = ScoreSheetRepository()

    async def _kind(self, session: AsyncSession, event: SigningCompleted | SigningFailed) -> SubjectKind:
        if isinstance(event, SigningCompletedV2 | SigningFailedV2):
            return event.subject_kind
        # v1 names no kind: only a sheet's id is found among the sheets. Drop with v1.
        return "sheet" if await self._sheet_rows.get(session, event.subject_id) is not None else "record"

    async def completed(self, session: AsyncSession, _env: EventEnvelope, event: SigningCompleted) -> None:
        handler: SheetSigningReplies | RecordSigningReplies = (
            self.sheets if await self._kind(session, event) == "sheet" else self.records
        )
        current = await handler.awaiting(session, event) is not None
        await handler.on_completed(session, event)
        if current and self.windows is not None:
            await self.windows.signed(session, event.request_id, event.signed_at)

    async def failed(self, session: AsyncSession, _env: EventEnvelope, event: SigningFailed) -> None:
        if await self._kind(session, event) == "sheet":
            await self.sheets.on_failed(session, event)
        else:
            await self.records.on_failed(session, event)
