"""Revocation of an approved year record (thu hồi học bạ, Đ9): the principal annuls a sealed
record under the board's minutes (biên bản: number, date, reason, who). The record becomes
`revoked` (final: no correction, return or re-signing brings it back) and signing is told by
`grades.record.revoked` on the record's own topic; every signed version then verifies as revoked."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from hbs_grades import audit
from hbs_grades.corrections import CorrectionRepository, Corrections, Minutes
from hbs_grades.models import RecordRevocation, RecordState, YearRecord
from hbs_grades.records.service import YearRecordService, stale
from hbs_grades.records.workflow import RECORDS, RecordAction
from hbs_grades.workflow import wrong_state
from hbs_shared.auth import Principal
from hbs_shared.events.contracts import RecordRevoked
from hbs_shared.messaging.outbox import OutboxRepository
from hbs_shared.problems import Problem
from hbs_shared.roles import Role


class RecordRevocations(Corrections[YearRecord, RecordRevocation]):
    board_only = "Chỉ Hiệu trưởng thu hồi học bạ đã phê duyệt"
    field = "record_id"
    kind = "record"
    opened_action = audit.AuditAction.record_revoked

    def __init__(self, service: YearRecordService, outbox: OutboxRepository | None = None) -> None:
        super().__init__(CorrectionRepository(RecordRevocation, RecordRevocation.record_id))
        self.service = service
        self.outbox = outbox or OutboxRepository()

    async def revoke(
        self,
        session: AsyncSession,
        principal: Principal,
        record_id: uuid.UUID,
        *,
        expected: int,
        minutes: Minutes,
    ) -> tuple[YearRecord, RecordRevocation]:
        """Đ3: the principal decides on a record's re-issue; the board's minutes say why."""
        record = await self.visible(session, principal, record_id)
        if not principal.has_role(Role.principal):
            raise Problem(403, self.board_only, "only the principal revokes a record", field=self.field)
        return await self.open(session, principal, record.id, expected=expected, minutes=minutes)

    async def visible(self, session: AsyncSession, principal: Principal, subject_id: uuid.UUID) -> YearRecord:
        record, _ = await self.service.get_visible(session, principal, subject_id)
        return record

    def stale(self, expected: int, current: int) -> Problem:
        return stale("expected_version", expected, current)

    def require_correctable(self, subject: YearRecord) -> None:
        state = RecordState(subject.state)
        if state is not RecordState.approved or subject.document_id is None:
            raise wrong_state(
                f"Học bạ đang ở trạng thái “{RECORDS.label(state)}”: "
                "chỉ thu hồi học bạ đã phê duyệt, đóng dấu",
                f"only an approved (sealed) record is revoked (this one is {state.value})",
            )

    async def names(self, session: AsyncSession, subject: YearRecord) -> dict[str, Any]:
        return await audit.record_details(session, subject)

    async def reopen(
        self,
        session: AsyncSession,
        principal: Principal,
        subject: YearRecord,
        correction: RecordRevocation,
        minutes: Minutes,
    ) -> None:
        """Not reopened: revoked, and signing told in the same transaction (outbox)."""
        subject.state = RECORDS.next(RecordState(subject.state), RecordAction.revoke)
        subject.request_id = None
        await self.outbox.add(
            session,
            RecordRevoked(
                record_id=subject.id,
                document_id=subject.document_id,
                minutes_number=minutes.number,
                minutes_date=minutes.on,
                reason=minutes.reason,
                revoked_by=principal.user_id,
                revoked_by_role="principal",
                revoked_at=datetime.now(UTC),
            ),
            subject.school_id,
        )
