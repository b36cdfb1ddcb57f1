"""Signing's replies about score sheets (step 1), routed here by their subject kind."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from hbs_grades.models import ScoreSheet, SheetState
from hbs_grades.sheets.repository import ScoreSheetRepository
from hbs_grades.sheets.workflow import SHEETS, SheetAction
from hbs_grades.workflow import reply_is_current
from hbs_shared.events.contracts import SigningCompleted, SigningFailed


class SheetSigningReplies:
    def __init__(self, sheets: ScoreSheetRepository | None = None) -> None:
        self.sheets = sheets or ScoreSheetRepository()

    async def _current(
        self, session: AsyncSession, event: SigningCompleted | SigningFailed
    ) -> ScoreSheet | None:
        sheet = await self.sheets.get(session, event.subject_id)
        awaiting = sheet is not None and SHEETS.accepts(
            SheetState(sheet.state), SheetAction.signature_completed
        )
        current = sheet.signing_request_id if sheet is not None else None
        return sheet if reply_is_current(current, awaiting, event) else None

    async def on_completed(self, session: AsyncSession, event: SigningCompleted) -> None:
        sheet = await self._current(session, event)
        if sheet is None:
            return
        sheet.state = SHEETS.next(SheetState(sheet.state), SheetAction.signature_completed)
        sheet.document_id = event.document_id
        sheet.document_sha256 = event.sha256
        if sheet.correction_id is not None:
            # The corrected sheet is signed again: its correction closes with the new version.
            correction = await self.sheets.correction(session, sheet.correction_id)
            if correction is not None:
                correction.new_document_id = event.document_id
                correction.closed_at = datetime.now(UTC)
            sheet.correction_id = None

    async def on_failed(self, session: AsyncSession, event: SigningFailed) -> None:
        sheet = await self._current(session, event)
        if sheet is None:
            return
        sheet.state = SHEETS.next(SheetState(sheet.state), SheetAction.signature_failed)
        sheet.last_error = event.reason
