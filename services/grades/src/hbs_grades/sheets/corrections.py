"""Correction of a signed score sheet (Đ9): minutes confirmed by the board, the old version kept.

The board opens it with the minutes' number, date and reason; the sheet reopens for its teacher,
every changed cell is logged against the correction, and the teacher signs it again through
step 1 (`sheets/handlers.py` closes the correction then). Signing keeps every version of a
subject: the newest is current, so the old PDF then verifies as superseded. The class's year
records go back to be signed again as a new edition, and their content carries the number of
corrected cells and their subjects.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from hbs_grades import audit
from hbs_grades.corrections import CorrectionRepository, Corrections, Minutes
from hbs_grades.models import ScoreSheet, SheetCorrection, SheetState
from hbs_grades.records.service import YearRecordService
from hbs_grades.sheets.reading import SheetReader, stale
from hbs_grades.sheets.workflow import SHEETS, SheetAction
from hbs_grades.workflow import wrong_state
from hbs_shared.auth import Principal
from hbs_shared.problems import Problem


class SheetCorrections(Corrections[ScoreSheet, SheetCorrection]):
    board_only = "Chỉ Hiệu trưởng hoặc Phó Hiệu trưởng mở điều chỉnh sổ điểm đã ký"
    field = "sheet_id"
    kind = "sheet"

    def __init__(self, reader: SheetReader, records: YearRecordService) -> None:
        super().__init__(CorrectionRepository(SheetCorrection, SheetCorrection.sheet_id))
        self.reader = reader
        self.records = records

    async def visible(self, session: AsyncSession, principal: Principal, subject_id: uuid.UUID) -> ScoreSheet:
        return await self.reader.get_visible(session, principal, subject_id)

    def stale(self, expected: int, current: int) -> Problem:
        return stale(expected, current)

    def require_correctable(self, subject: ScoreSheet) -> None:
        state = SheetState(subject.state)
        if state is not SheetState.signed:
            raise wrong_state(
                f"Sổ điểm đang ở trạng thái “{SHEETS.label(state)}”: chỉ điều chỉnh sổ điểm đã ký",
                f"only a signed sheet is corrected (this one is {state.value})",
            )

    async def names(self, session: AsyncSession, subject: ScoreSheet) -> dict[str, Any]:
        return audit.sheet_details(subject)

    async def reopen(
        self,
        session: AsyncSession,
        principal: Principal,
        subject: ScoreSheet,
        correction: SheetCorrection,
        minutes: Minutes,
    ) -> None:
        subject.state = SHEETS.next(SheetState(subject.state), SheetAction.correct)
        subject.correction_id = correction.id
        subject.signing_request_id = None
        subject.last_error = None
        await self.records.reopen_class(
            session,
            subject.school_id,
            subject.school_year,
            subject.class_name,
            f"Điều chỉnh sổ điểm {subject.subject} ({subject.term}) theo biên bản số {minutes.number}",
            principal,
        )
