"""The minutes (biên bản) of a sheet's correction, signed by the board member who opened it (Đ9.2).

Grades asks signing for the signature (`grades.sheet.minutes_signing_requested`, with the
minutes' content, after the signer activated with their PIN); signing renders the minutes as a
PDF, signs it with the signer's own key and replies on `signing.documents` with kind `minutes`
(subject = the correction), which `replies.py` routes here: the correction keeps the document.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from hbs_grades import audit
from hbs_grades.audit import AuditAction
from hbs_grades.corrections import CorrectionRepository
from hbs_grades.models import ScoreSheet, SheetCorrection, Term
from hbs_grades.sheets.cells import column_label
from hbs_grades.sheets.reading import SheetReader
from hbs_grades.sheets.repository import ScoreSheetRepository
from hbs_grades.sheets.signing import signed_subject_name
from hbs_grades.workflow import SigningReply, SigningReplyHandler
from hbs_shared.auth import Principal
from hbs_shared.events.contracts import MinutesSigningRequested, SigningCompleted, SigningFailed
from hbs_shared.messaging.outbox import OutboxRepository
from hbs_shared.problems import Problem
from hbs_shared.records import CorrectionMinutesContent, MinutesCell
from hbs_shared.roles import Role
from hbs_shared.school_facts import SchoolFactsStore


def _corrections() -> CorrectionRepository[SheetCorrection]:
    return CorrectionRepository(SheetCorrection, SheetCorrection.sheet_id)


class MinutesSigning:
    def __init__(
        self, reader: SheetReader, outbox: OutboxRepository | None = None, *, school: SchoolFactsStore
    ) -> None:
        self.reader = reader
        self.outbox = outbox or OutboxRepository()
        self.school = school
        self.corrections = _corrections()

    async def find(
        self, session: AsyncSession, principal: Principal, sheet_id: uuid.UUID, correction_id: uuid.UUID
    ) -> tuple[ScoreSheet, SheetCorrection]:
        """The correction of a sheet the caller can see (404 otherwise)."""
        sheet = await self.reader.get_visible(session, principal, sheet_id)
        correction = await self.corrections.get(session, sheet.school_id, correction_id)
        if correction is None or correction.sheet_id != sheet.id:
            raise Problem(404, "Không tìm thấy biên bản điều chỉnh", "no such correction of this sheet")
        return sheet, correction

    async def content(
        self, session: AsyncSession, sheet: ScoreSheet, correction: SheetCorrection
    ) -> CorrectionMinutesContent:
        """The minutes as they are signed: the sheet named, each listed cell with its signed value."""
        students = {line.student.id: line.student for line in (await self.reader.view(session, sheet)).lines}
        cells = []
        for cell in correction.cells:
            student = students.get(uuid.UUID(str(cell["student_id"])))
            if student is None:
                continue  # left the class since: the cell no longer exists on the sheet
            cells.append(
                MinutesCell(
                    student_id=student.id,
                    national_id=student.national_id,
                    full_name=student.full_name,
                    column=str(cell["column"]),
                    column_label=column_label(str(cell["column"])),
                    old_value=cell.get("old_value"),
                )
            )
        if not cells or not correction.present:
            raise Problem(
                409,
                "Biên bản này không ghi ô điều chỉnh hay người có mặt: không lập được bản ký",
                "a correction opened before minutes listed cells and who was present is not signed",
                field="correction_id",
            )
        return CorrectionMinutesContent(
            correction_id=correction.id,
            sheet_id=sheet.id,
            school_name=(await self.school.require(session, sheet.school_id)).name,
            school_year=sheet.school_year,
            term="HK2" if sheet.term == Term.hk2.value else "HK1",
            class_name=sheet.class_name,
            subject_name=signed_subject_name(sheet),
            teacher_name=sheet.teacher_name,
            minutes_number=correction.minutes_number,
            minutes_date=correction.minutes_date,
            present=list(correction.present),
            reason=correction.reason,
            cells=cells,
            opened_by_name=correction.opened_by_name,
        )

    async def request(
        self,
        session: AsyncSession,
        principal: Principal,
        sheet_id: uuid.UUID,
        correction_id: uuid.UUID,
        activation_id: uuid.UUID,
    ) -> SheetCorrection:
        """The board member who opened the correction asks for their signature of its minutes."""
        sheet, correction = await self.find(session, principal, sheet_id, correction_id)
        board = principal.has_role(Role.principal, Role.vice_principal)
        if correction.opened_by != principal.user_id or not board:
            raise Problem(
                403,
                f"Chỉ người lập biên bản ({correction.opened_by_name}) ký biên bản này",
                "the minutes are signed by the board member who opened the correction",
                field="correction_id",
            )
        if correction.minutes_document_id is not None:
            raise Problem(409, "Biên bản đã được ký", "the minutes are already signed", field="correction_id")
        if correction.minutes_request_id is not None:
            raise Problem(
                409, "Biên bản đang được ký", "the minutes' signature is under way", field="correction_id"
            )
        content = await self.content(session, sheet, correction)
        correction.minutes_request_id = uuid.uuid4()
        correction.minutes_error = None
        await self.outbox.add(
            session,
            MinutesSigningRequested(
                request_id=correction.minutes_request_id,
                activation_id=activation_id,
                signer_user_id=principal.user_id,
                signer_name=principal.name,
                signer_role="principal" if principal.has_role(Role.principal) else "vice_principal",
                minutes=content,
            ),
            sheet.school_id,
        )
        await session.flush()
        return correction


class MinutesSigningReplies(SigningReplyHandler[SheetCorrection]):
    """Signing's reply about a correction's minutes (kind `minutes`, subject = the correction)."""

    def __init__(self) -> None:
        self.corrections = _corrections()
        self.sheets = ScoreSheetRepository()

    async def awaiting(
        self, session: AsyncSession, school_id: str, event: SigningReply
    ) -> SheetCorrection | None:
        correction = await self.corrections.get(session, school_id, event.subject_id)
        if correction is None or correction.minutes_request_id != event.request_id:
            return None
        return correction if correction.minutes_document_id is None else None

    async def signed(
        self, session: AsyncSession, correction: SheetCorrection, event: SigningCompleted
    ) -> None:
        correction.minutes_document_id = event.document_id
        correction.minutes_signed_at = datetime.now(UTC)
        sheet = await self.sheets.get(session, correction.school_id, correction.sheet_id)
        named = audit.sheet_details(sheet) if sheet is not None else {}
        await audit.record(
            session,
            school_id=correction.school_id,
            actor=audit.Actor(event.signer_user_id, correction.opened_by_name),
            action=AuditAction.correction_minutes_signed,
            subject=("sheet", correction.sheet_id),
            details={
                **named,
                "correction_id": correction.id,
                "minutes_number": correction.minutes_number,
                "minutes_date": correction.minutes_date.isoformat(),
                "document_id": event.document_id,
                "sha256": event.sha256,
                "signer_role": event.signer_role,
                "signed_at": event.signed_at,
            },
        )

    async def failed(self, session: AsyncSession, correction: SheetCorrection, event: SigningFailed) -> None:
        # The request ends: the board member may sign again (e.g. after a wrong PIN's activation).
        correction.minutes_request_id = None
        correction.minutes_error = event.reason
