"""Signing's replies about year records (steps 2–4), routed here by their subject kind."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from hbs_grades.models import RecordState, YearRecord
from hbs_grades.records.repository import YearRecordRepository
from hbs_grades.records.workflow import RECORDS, RecordAction
from hbs_grades.workflow import reply_is_current
from hbs_shared.events.contracts import SigningCompleted, SigningFailed


class RecordSigningReplies:
    def __init__(self, records: YearRecordRepository | None = None) -> None:
        self.records = records or YearRecordRepository()

    async def _current(
        self, session: AsyncSession, event: SigningCompleted | SigningFailed
    ) -> YearRecord | None:
        record = await self.records.get(session, event.subject_id)
        awaiting = record is not None and RECORDS.accepts(
            RecordState(record.state), RecordAction.signature_completed
        )
        current = record.request_id if record is not None else None
        return record if reply_is_current(current, awaiting, event) else None

    async def on_completed(self, session: AsyncSession, event: SigningCompleted) -> None:
        record = await self._current(session, event)
        if record is None:
            return
        record.state = RECORDS.next(RecordState(record.state), RecordAction.signature_completed)
        record.document_id = event.document_id
        record.document_sha256 = event.sha256
        record.edition_signed = True

    async def on_failed(self, session: AsyncSession, event: SigningFailed) -> None:
        record = await self._current(session, event)
        if record is None:
            return
        record.state = RECORDS.next(RecordState(record.state), RecordAction.signature_failed)
        record.last_error = event.reason
