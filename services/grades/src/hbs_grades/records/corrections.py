"""Correction of an approved year record (Đ9): conduct, attendance or remarks wrong after the
seal. Under the board's minutes the record becomes a draft again (a new edition), which unlocks its
conduct; it is then signed from step 2, and the sealed PDF verifies as superseded. A *sheet*'s
correction is `sheets/corrections.py`."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from hbs_grades import audit
from hbs_grades.corrections import CorrectionRepository, Corrections, Minutes
from hbs_grades.models import RecordCorrection, RecordState, YearRecord
from hbs_grades.records.service import YearRecordService, stale
from hbs_grades.records.workflow import RECORDS, RecordAction, new_edition
from hbs_grades.workflow import wrong_state
from hbs_shared.auth import Principal
from hbs_shared.problems import Problem


class RecordCorrections(Corrections[YearRecord, RecordCorrection]):
    board_only = "Chỉ Hiệu trưởng hoặc Phó Hiệu trưởng mở điều chỉnh học bạ đã phê duyệt"
    field = "record_id"
    kind = "record"

    def __init__(self, service: YearRecordService) -> None:
        super().__init__(CorrectionRepository(RecordCorrection, RecordCorrection.record_id))
        self.service = service

    async def visible(self, session: AsyncSession, principal: Principal, subject_id: uuid.UUID) -> YearRecord:
        record, _ = await self.service.get_visible(session, principal, subject_id)
        return record

    def stale(self, expected: int, current: int) -> Problem:
        return stale("expected_version", expected, current)

    def require_correctable(self, subject: YearRecord) -> None:
        state = RecordState(subject.state)
        if state is not RecordState.approved:
            raise wrong_state(
                f"Học bạ đang ở trạng thái “{RECORDS.label(state)}”: chỉ điều chỉnh học bạ đã phê duyệt "
                "(học bạ chưa phê duyệt thì trả lại GVCN)",
                f"only an approved record is corrected (this one is {state.value})",
            )

    async def names(self, session: AsyncSession, subject: YearRecord) -> dict[str, Any]:
        return await audit.record_details(session, subject)

    async def reopen(
        self,
        session: AsyncSession,
        principal: Principal,
        subject: YearRecord,
        correction: RecordCorrection,
        minutes: Minutes,
    ) -> None:
        """Under the board's minutes the record becomes a draft again, so its conduct, attendance
        and remarks can change; it is then signed from step 2."""
        subject.state = RECORDS.next(RecordState(subject.state), RecordAction.reopen)
        new_edition(subject, f"Điều chỉnh theo {minutes.label()}: {minutes.reason}")
