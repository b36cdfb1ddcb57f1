"""Signing's replies about score sheets (step 1), routed here by their subject kind."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from hbs_grades import audit
from hbs_grades.audit import AuditAction
from hbs_grades.corrections import CorrectionRepository
from hbs_grades.models import ScoreSheet, SheetCorrection, SheetState
from hbs_grades.sheets.repository import ScoreSheetRepository
from hbs_grades.sheets.workflow import SHEETS, SheetAction
from hbs_grades.workflow import SigningReply, SigningReplyHandler
from hbs_shared.events.contracts import SigningCompleted, SigningFailed


class SheetSigningReplies(SigningReplyHandler[ScoreSheet]):
    def __init__(self, sheets: ScoreSheetRepository | None = None) -> None:
        self.sheets = sheets or ScoreSheetRepository()
        self.corrections = CorrectionRepository(SheetCorrection, SheetCorrection.sheet_id)

    async def awaiting(self, session: AsyncSession, school_id: str, event: SigningReply) -> ScoreSheet | None:
        sheet = await self.sheets.get(session, school_id, event.subject_id)
        if sheet is None or sheet.signing_request_id != event.request_id:
            return None
        return sheet if SheetState(sheet.state) is SheetState.signing else None

    async def signed(self, session: AsyncSession, sheet: ScoreSheet, event: SigningCompleted) -> None:
        sheet.state = SHEETS.next(SheetState(sheet.state), SheetAction.signature_completed)
        sheet.document_id, sheet.document_sha256 = event.document_id, event.sha256
        signer = audit.Actor(event.signer_user_id, sheet.teacher_name)
        await audit.record(
            session,
            school_id=sheet.school_id,
            actor=signer,
            action=AuditAction.sheet_signed,
            subject=("sheet", sheet.id),
            details=audit.sheet_details(
                sheet, step=1, document_id=event.document_id, sha256=event.sha256, signed_at=event.signed_at
            ),
        )
        if sheet.correction_id is not None:
            # The corrected sheet is signed again: its correction closes with the new version.
            correction = await self.corrections.get(session, sheet.school_id, sheet.correction_id)
            if correction is not None:
                correction.new_document_id = event.document_id
                correction.closed_at = datetime.now(UTC)
                await audit.record(
                    session,
                    school_id=sheet.school_id,
                    actor=signer,
                    action=AuditAction.correction_closed,
                    subject=("sheet", sheet.id),
                    details=audit.sheet_details(
                        sheet,
                        correction_id=correction.id,
                        minutes_number=correction.minutes_number,
                        document_id=event.document_id,
                    ),
                )
            sheet.correction_id = None

    async def failed(self, session: AsyncSession, sheet: ScoreSheet, event: SigningFailed) -> None:
        sheet.state = SHEETS.next(SheetState(sheet.state), SheetAction.signature_failed)
        sheet.last_error = event.reason
        await audit.record(
            session,
            school_id=sheet.school_id,
            actor=audit.Actor(event.signer_user_id, sheet.teacher_name),
            action=AuditAction.sheet_signing_failed,
            subject=("sheet", sheet.id),
            details=audit.sheet_details(sheet, step=1, reason=event.reason),
        )
