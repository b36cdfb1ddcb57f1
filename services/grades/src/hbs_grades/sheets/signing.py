"""Submitting a sheet and asking signing for step 1 (Đ8): the teacher signs the sheet as it is."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from hbs_grades import audit
from hbs_grades.audit import AuditAction
from hbs_grades.models import ScoreSheet, SheetState, Term
from hbs_grades.sheets.cells import column_label
from hbs_grades.sheets.corrections import require_signed_minutes
from hbs_grades.sheets.reading import SheetReader
from hbs_grades.sheets.workflow import SHEETS, SheetAction
from hbs_shared.auth import Principal
from hbs_shared.curriculum import Assessment, subject
from hbs_shared.events.contracts import SheetSigningRequestedV2
from hbs_shared.messaging.outbox import OutboxRepository
from hbs_shared.problems import Problem
from hbs_shared.records import ScoreSheetContent, SheetRow
from hbs_shared.school_facts import SchoolFactsStore


def signed_subject_name(sheet: ScoreSheet) -> str:
    """The subject's name as a signed document prints it (the programme's, else the sheet's own)."""
    return subject(sheet.subject_code).name if sheet.subject_code != "UNKNOWN" else sheet.subject


class SheetSigning:
    def __init__(
        self,
        reader: SheetReader,
        outbox: OutboxRepository | None = None,
        *,
        school: SchoolFactsStore | None = None,
    ) -> None:
        self.reader = reader
        self.outbox = outbox or OutboxRepository()
        self.school = school or SchoolFactsStore()

    async def submit(
        self, session: AsyncSession, principal: Principal, sheet_id: uuid.UUID, expected: int
    ) -> ScoreSheet:
        sheet = await self.reader.owned(session, principal, sheet_id, expected)
        if SheetState(sheet.state) is SheetState.open:
            view = await self.reader.view(session, sheet)
            gaps = [line for line in view.lines if line.missing]
            if gaps:
                raise Problem(
                    422,
                    "Sổ điểm còn thiếu đánh giá, chưa nộp được",
                    "; ".join(
                        f"{line.student.full_name}: {', '.join(column_label(k) for k in line.missing)}"
                        for line in gaps[:20]
                    ),
                    field="rows",
                    extra={
                        "missing": [
                            {
                                "student_id": str(line.student.id),
                                "full_name": line.student.full_name,
                                "columns": line.missing,
                                "column_labels": [column_label(k) for k in line.missing],
                            }
                            for line in gaps
                        ]
                    },
                )
        sheet.state = SHEETS.next(SheetState(sheet.state), SheetAction.submit)
        await session.flush()
        await audit.record(
            session,
            school_id=sheet.school_id,
            actor=principal,
            action=AuditAction.sheet_submitted,
            subject=("sheet", sheet.id),
            details=audit.sheet_details(sheet, version=sheet.version),
        )
        return sheet

    async def content(self, session: AsyncSession, sheet: ScoreSheet) -> ScoreSheetContent:
        """What the subject teacher signs: the sheet as it is now."""
        view = await self.reader.view(session, sheet)
        return ScoreSheetContent(
            sheet_id=sheet.id,
            sheet_version=sheet.version,
            school_name=(await self.school.require(session, sheet.school_id)).name,
            school_year=sheet.school_year,
            term="HK2" if sheet.term == Term.hk2.value else "HK1",
            class_name=sheet.class_name,
            subject_code=sheet.subject_code,
            subject_name=signed_subject_name(sheet),
            assessment="comment" if sheet.assessment == Assessment.comment.value else "scored",
            regular_count=sheet.regular_count,
            teacher_name=sheet.teacher_name,
            rows=[
                SheetRow(
                    student_id=line.student.id,
                    national_id=line.student.national_id,
                    full_name=line.student.full_name,
                    regular=[v for v in line.cells.regular_slots(sheet.regular_count) if v is not None],
                    midterm=line.cells.midterm,
                    final=line.cells.final,
                    average=line.result,
                    comment=line.cells.comment,
                    status=line.cells.status.value,
                )
                for line in view.lines
            ],
        )

    async def request_signature(
        self,
        session: AsyncSession,
        principal: Principal,
        sheet_id: uuid.UUID,
        expected: int,
        activation_id: uuid.UUID,
        *,
        batch_id: uuid.UUID | None = None,
    ) -> ScoreSheet:
        """`batch_id`: the teacher's "sign all ready sheets" batch it belongs to (None: alone)."""
        sheet = await self.reader.owned(session, principal, sheet_id, expected)
        await require_signed_minutes(session, sheet)
        sheet.state = SHEETS.next(SheetState(sheet.state), SheetAction.request_signature)
        sheet.signing_request_id = uuid.uuid4()
        sheet.sign_batch_id = batch_id
        sheet.last_error = None
        batch = {} if batch_id is None else {"batch_id": str(batch_id)}
        await session.flush()
        await self.outbox.add(
            session,
            SheetSigningRequestedV2(
                request_id=sheet.signing_request_id,
                activation_id=activation_id,
                signer_user_id=principal.user_id,
                signer_name=principal.name,
                signer_role="subject_teacher",
                sheet=await self.content(session, sheet),
            ),
            sheet.school_id,
        )
        await audit.record(
            session,
            school_id=sheet.school_id,
            actor=principal,
            action=AuditAction.sheet_signing_requested,
            subject=("sheet", sheet.id),
            details=audit.sheet_details(sheet, version=sheet.version, step=1, **batch),
        )
        return sheet
