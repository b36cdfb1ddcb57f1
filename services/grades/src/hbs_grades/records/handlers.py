"""Signing's replies about year records (steps 2–4), routed here by their subject kind."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from hbs_grades import audit
from hbs_grades.audit import AuditAction
from hbs_grades.models import RecordState, YearRecord
from hbs_grades.records.repository import YearRecordRepository
from hbs_grades.records.workflow import RECORDS, SIGNING, SIGNING_STEP, RecordAction
from hbs_grades.workflow import SigningReply, SigningReplyHandler
from hbs_shared.events.contracts import SigningCompleted, SigningFailed


class RecordSigningReplies(SigningReplyHandler[YearRecord]):
    def __init__(self, records: YearRecordRepository | None = None) -> None:
        self.records = records or YearRecordRepository()

    async def awaiting(self, session: AsyncSession, school_id: str, event: SigningReply) -> YearRecord | None:
        record = await self.records.get(session, school_id, event.subject_id)
        if record is None or record.request_id != event.request_id:
            return None
        return record if RecordState(record.state) in SIGNING else None

    async def signed(self, session: AsyncSession, record: YearRecord, event: SigningCompleted) -> None:
        step = SIGNING_STEP.get(RecordState(record.state))
        record.state = RECORDS.next(RecordState(record.state), RecordAction.signature_completed)
        record.document_id, record.document_sha256 = event.document_id, event.sha256
        record.edition_signed = True
        await audit.record(
            session,
            school_id=record.school_id,
            actor=await audit.signer(session, record.school_id, event.signer_user_id),
            action=AuditAction.record_signed,
            subject=("record", record.id),
            details=await audit.record_details(
                session,
                record,
                step=step,
                edition=record.edition,
                document_id=event.document_id,
                sha256=event.sha256,
                signed_at=event.signed_at,
            ),
        )

    async def failed(self, session: AsyncSession, record: YearRecord, event: SigningFailed) -> None:
        step = SIGNING_STEP.get(RecordState(record.state))
        record.state = RECORDS.next(RecordState(record.state), RecordAction.signature_failed)
        record.last_error = event.reason
        await audit.record(
            session,
            school_id=record.school_id,
            actor=await audit.signer(session, record.school_id, event.signer_user_id),
            action=AuditAction.record_signing_failed,
            subject=("record", record.id),
            details=await audit.record_details(session, record, step=step, reason=event.reason),
        )
