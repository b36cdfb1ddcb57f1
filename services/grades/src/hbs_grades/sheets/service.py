"""Score sheet use cases. Services never commit: the endpoint or handler does, once."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from hbs_grades.models import ScoreSheet, SheetState
from hbs_grades.sheets.repository import ScoreSheetRepository
from hbs_grades.sheets.workflow import SheetAction, next_state
from hbs_shared.auth import Principal
from hbs_shared.demo import demo_person
from hbs_shared.events.contracts import SheetSigningRequested, SigningCompleted, SigningFailed
from hbs_shared.logging import get_logger
from hbs_shared.messaging.outbox import OutboxRepository
from hbs_shared.problems import Problem

log = get_logger(__name__)

OVERSIGHT_ROLES = ("principal", "vice_principal", "system_admin", "office_admin")
NOT_FOUND = Problem(404, "Không tìm thấy sổ điểm", "no such score sheet", field="sheet_id")


class ScoreSheetService:
    def __init__(
        self, sheets: ScoreSheetRepository | None = None, outbox: OutboxRepository | None = None
    ) -> None:
        self.sheets = sheets or ScoreSheetRepository()
        self.outbox = outbox or OutboxRepository()

    async def visible_to(self, session: AsyncSession, principal: Principal) -> list[ScoreSheet]:
        if principal.has_role(*OVERSIGHT_ROLES):
            return await self.sheets.for_school(session, principal.school_id)
        return await self.sheets.for_teacher(session, principal.school_id, principal.user_id)

    async def get_visible(
        self, session: AsyncSession, principal: Principal, sheet_id: uuid.UUID
    ) -> ScoreSheet:
        sheet = await self.sheets.get(session, sheet_id)
        # Another school's sheet, or a colleague's, is "not found": its existence is not disclosed.
        if sheet is None or sheet.school_id != principal.school_id:
            raise NOT_FOUND
        if sheet.teacher_id != principal.user_id and not principal.has_role(*OVERSIGHT_ROLES):
            raise NOT_FOUND
        return sheet

    async def _owned(
        self, session: AsyncSession, principal: Principal, sheet_id: uuid.UUID, expected: int
    ) -> ScoreSheet:
        sheet = await self.get_visible(session, principal, sheet_id)
        if sheet.teacher_id != principal.user_id:
            raise Problem(
                403,
                "Chỉ giáo viên bộ môn được phân công mới thao tác được sổ điểm này",
                "only the assigned subject teacher may do this",
                field="sheet_id",
            )
        if sheet.version != expected:
            raise Problem(
                409,
                "Sổ điểm vừa được thay đổi ở nơi khác, hãy tải lại",
                f"expected version {expected}, current version {sheet.version}",
                field="expected_version",
                extra={"current_version": sheet.version},
            )
        return sheet

    async def submit(
        self, session: AsyncSession, principal: Principal, sheet_id: uuid.UUID, expected: int
    ) -> ScoreSheet:
        sheet = await self._owned(session, principal, sheet_id, expected)
        sheet.state = next_state(SheetState(sheet.state), SheetAction.submit)
        await session.flush()
        return sheet

    async def request_signature(
        self, session: AsyncSession, principal: Principal, sheet_id: uuid.UUID, expected: int
    ) -> ScoreSheet:
        sheet = await self._owned(session, principal, sheet_id, expected)
        sheet.state = next_state(SheetState(sheet.state), SheetAction.request_signature)
        sheet.signing_request_id = uuid.uuid4()
        sheet.last_error = None
        await session.flush()
        await self.outbox.add(
            session,
            SheetSigningRequested(
                request_id=sheet.signing_request_id,
                sheet_id=sheet.id,
                sheet_version=sheet.version,
                signer_user_id=principal.user_id,
                signer_name=principal.name,
                signer_role="subject_teacher",
                class_name=sheet.class_name,
                subject=sheet.subject,
                term=sheet.term,
                school_year=sheet.school_year,
            ),
            sheet.school_id,
        )
        return sheet

    async def _signing_sheet(
        self, session: AsyncSession, subject_id: uuid.UUID, request_id: uuid.UUID
    ) -> ScoreSheet | None:
        sheet = await self.sheets.get(session, subject_id)
        if sheet is None or sheet.signing_request_id != request_id:
            # A reply to a request superseded or unknown here: recorded in the inbox, no effect.
            log.warning("signing reply for no current request", request_id=str(request_id))
            return None
        return sheet

    async def on_signing_completed(self, session: AsyncSession, event: SigningCompleted) -> None:
        sheet = await self._signing_sheet(session, event.subject_id, event.request_id)
        if sheet is None:
            return
        sheet.state = next_state(SheetState(sheet.state), SheetAction.signature_completed)
        sheet.document_id = event.document_id
        sheet.document_sha256 = event.sha256

    async def on_signing_failed(self, session: AsyncSession, event: SigningFailed) -> None:
        sheet = await self._signing_sheet(session, event.subject_id, event.request_id)
        if sheet is None:
            return
        sheet.state = next_state(SheetState(sheet.state), SheetAction.signature_failed)
        sheet.last_error = event.reason

    async def seed_demo(self, session: AsyncSession, school_id: str, school_year: str) -> int:
        plan = [
            ("gv.toan", "10A1", "Toán"),
            ("gv.toan", "10A2", "Toán"),
            ("gv.toan", "11 Toán chuyên", "Toán"),
            ("gv.van", "10A1", "Ngữ văn"),
        ]
        created = 0
        for username, class_name, subject in plan:
            if await self.sheets.exists(session, school_id, school_year, class_name, subject, "HK I"):
                continue
            teacher = demo_person(username)
            self.sheets.add(
                session,
                ScoreSheet(
                    school_id=school_id,
                    school_year=school_year,
                    class_name=class_name,
                    subject=subject,
                    term="HK I",
                    teacher_id=teacher.user_id,
                    teacher_name=teacher.full_name,
                    state=SheetState.open,
                ),
            )
            created += 1
        return created
