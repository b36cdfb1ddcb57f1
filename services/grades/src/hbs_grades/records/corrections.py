"""Correction of a signed score sheet (Đ9): minutes confirmed by the board, the old version kept.

The board opens it with the minutes' number, date and reason; the sheet reopens for its teacher,
every changed cell is logged against the correction, and the teacher signs it again through
step 1. Signing keeps every version of a subject: the newest is current, so the old PDF then
verifies as superseded. The class's year records go back to be signed again as a new edition,
and their content carries the number of corrected cells and their subjects.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from hbs_grades.models import ScoreSheet, SheetCorrection, SheetState
from hbs_grades.records.repository import YearRecordRepository
from hbs_grades.records.service import BOARD_ROLES, YearRecordService
from hbs_grades.sheets.repository import ScoreSheetRepository
from hbs_grades.sheets.service import ScoreSheetService, stale
from hbs_grades.sheets.workflow import SheetAction, next_state, state_label
from hbs_shared.auth import Principal
from hbs_shared.problems import Problem


class CorrectionService:
    def __init__(self, sheets: ScoreSheetService, records: YearRecordService) -> None:
        self.sheet_service = sheets
        self.records = records
        self.sheets = ScoreSheetRepository()
        self.repository = YearRecordRepository()

    async def open(
        self,
        session: AsyncSession,
        principal: Principal,
        sheet_id: uuid.UUID,
        *,
        expected: int,
        minutes_number: str,
        minutes_date: date,
        reason: str,
    ) -> tuple[ScoreSheet, SheetCorrection]:
        sheet = await self.sheet_service.get_visible(session, principal, sheet_id)
        if not principal.has_role(*BOARD_ROLES):
            raise Problem(
                403,
                "Chỉ Hiệu trưởng hoặc Phó Hiệu trưởng mở điều chỉnh sổ điểm đã ký",
                "corrections are opened by the board",
                field="sheet_id",
            )
        if sheet.version != expected:
            raise stale(expected, sheet.version)
        state = SheetState(sheet.state)
        if state is not SheetState.signed:
            raise Problem(
                409,
                f"Sổ điểm đang ở trạng thái “{state_label(state)}”: chỉ điều chỉnh sổ điểm đã ký",
                f"only a signed sheet is corrected (this one is {state.value})",
                field="state",
            )
        now = datetime.now(UTC)
        correction = SheetCorrection(
            id=uuid.uuid4(),
            school_id=sheet.school_id,
            sheet_id=sheet.id,
            minutes_number=minutes_number,
            minutes_date=minutes_date,
            reason=reason,
            opened_by=principal.user_id,
            opened_by_name=principal.name,
            opened_at=now,
            superseded_document_id=sheet.document_id,
        )
        self.sheets.add_correction(session, correction)
        sheet.state = next_state(state, SheetAction.correct)
        sheet.correction_id = correction.id
        sheet.signing_request_id = None
        sheet.last_error = None
        await session.flush()
        await self.records.reopen_class(
            session,
            sheet.school_id,
            sheet.school_year,
            sheet.class_name,
            f"Điều chỉnh sổ điểm {sheet.subject} ({sheet.term}) theo biên bản số {minutes_number}",
        )
        return sheet, correction

    async def of_sheet(
        self, session: AsyncSession, principal: Principal, sheet_id: uuid.UUID
    ) -> list[SheetCorrection]:
        sheet = await self.sheet_service.get_visible(session, principal, sheet_id)
        return await self.sheets.corrections(session, sheet.id)
