"""Year record endpoints (Đ8 Steps 2–4) and corrections of signed sheets (Đ9).

Every one checks the caller against the class or record it names: a record of a class the
caller may not read is 404; readable but not theirs to act on is 403.
"""

from __future__ import annotations

import uuid
from collections import Counter

from fastapi import APIRouter, Request

from hbs_grades.models import RecordState
from hbs_grades.params import ClassName
from hbs_grades.records.schemas import (
    BatchOut,
    ClassCountsOut,
    ClassRecordsOut,
    RecordCorrectionIn,
    RecordCorrectionOut,
    RecordDetailOut,
    RecordOut,
    RemarksIn,
    ReturnIn,
    SchoolRecordsOut,
    SignIn,
)
from hbs_grades.records.workflow import STEP_NUMBER
from hbs_grades.school import CurrentSchoolYear, current_year
from hbs_grades.wiring import grades_of
from hbs_shared.auth import CurrentPrincipal
from hbs_shared.service import runtime_of

router = APIRouter(prefix="/records", tags=["year records"])


@router.get("", response_model=SchoolRecordsOut)
async def school_records(
    principal: CurrentPrincipal, year: CurrentSchoolYear, request: Request
) -> SchoolRecordsOut:
    """The board's overview: per class, how many records are in each state."""
    grades, db = grades_of(request), runtime_of(request).db
    async with grades.writing(db.is_sqlite), db.transaction() as session:
        summary = await grades.records.school_summary(session, principal, year)
    total: Counter[str] = Counter()
    for counts in summary.values():
        total.update(counts)
    return SchoolRecordsOut(
        school_year=year,
        counts=dict(total),
        classes=[ClassCountsOut(class_name=n, total=sum(c.values()), counts=c) for n, c in summary.items()],
    )


@router.get("/homeroom-classes", response_model=list[str])
async def homeroom_classes(
    principal: CurrentPrincipal, year: CurrentSchoolYear, request: Request
) -> list[str]:
    """The classes whose records the caller compiles and signs as homeroom teacher."""
    grades = grades_of(request)
    async with runtime_of(request).db.transaction() as session:
        return await grades.records.homeroom_classes(session, principal, year)


@router.get("/classes/{class_name}", response_model=ClassRecordsOut)
async def class_records(
    principal: CurrentPrincipal, year: CurrentSchoolYear, request: Request, class_name: str = ClassName
) -> ClassRecordsOut:
    """The class's records with their states, and what still keeps step 2 closed."""
    grades, db = grades_of(request), runtime_of(request).db
    async with grades.writing(db.is_sqlite), db.transaction() as session:
        view = await grades.records.class_records(session, principal, year, class_name)
        return ClassRecordsOut.of(view)


@router.get("/batches/{batch_id}", response_model=BatchOut)
async def batch_progress(batch_id: uuid.UUID, principal: CurrentPrincipal, request: Request) -> BatchOut:
    """How far a signing batch got: records per state, and the reasons of those that failed."""
    grades = grades_of(request)
    async with runtime_of(request).db.transaction() as session:
        progress = await grades.records.batch(session, principal, batch_id)
    return BatchOut(
        batch_id=batch_id,
        total=progress.total,
        counts=progress.counts,
        done=progress.done,
        failed=[{"record_id": str(r), "reason": reason} for r, reason in progress.failed],
    )


@router.get("/{record_id}", response_model=RecordDetailOut)
async def get_record(record_id: uuid.UUID, principal: CurrentPrincipal, request: Request) -> RecordDetailOut:
    """One record with its content as it would be signed now."""
    grades = grades_of(request)
    async with runtime_of(request).db.transaction() as session:
        record, student = await grades.records.get_visible(session, principal, record_id)
        content = await grades.records.content(session, record)
        return RecordDetailOut(
            **RecordOut.of(record, student).model_dump(), content=content.model_dump(mode="json")
        )


@router.put("/{record_id}/remarks", response_model=RecordOut)
async def edit_remarks(
    record_id: uuid.UUID, body: RemarksIn, principal: CurrentPrincipal, request: Request
) -> RecordOut:
    grades, db = grades_of(request), runtime_of(request).db
    async with grades.writing(db.is_sqlite), db.transaction() as session:
        record = await grades.records.edit_remarks(
            session, principal, record_id, body.expected_version, body.remarks
        )
        _, student = await grades.records.get_visible(session, principal, record.id)
        return RecordOut.of(record, student)


@router.post("/sign", response_model=BatchOut, status_code=202)
async def sign(
    body: SignIn, principal: CurrentPrincipal, year: CurrentSchoolYear, request: Request
) -> BatchOut:
    """Start a step for the classes: one signature request per ready record, one activation."""
    grades, runtime = grades_of(request), runtime_of(request)
    async with grades.writing(runtime.db.is_sqlite), runtime.db.transaction() as session:
        started = await grades.records.sign(
            session,
            principal,
            school_year=year,
            step=body.step,
            class_names=body.class_names,
            activation_id=body.activation_id,
            batch_id=body.batch_id,
            expected=body.expected,
        )
        grades.windows.mark_records(session, principal, STEP_NUMBER[body.step], started.records)
        counts = Counter(RecordState(r.state).value for r in started.records)
    runtime.relay.nudge()
    return BatchOut(
        batch_id=started.batch_id, total=len(started.records), counts=dict(counts), done=False, failed=[]
    )


@router.post("/{record_id}/return", response_model=list[RecordOut])
async def give_back(
    record_id: uuid.UUID, body: ReturnIn, principal: CurrentPrincipal, request: Request
) -> list[RecordOut]:
    """Trả lại GVCN with a reason: the record becomes a draft again (a new edition)."""
    return await _give_back(request, principal, body, record_id=record_id)


@router.post("/classes/{class_name}/return", response_model=list[RecordOut])
async def give_back_class(
    body: ReturnIn, principal: CurrentPrincipal, request: Request, class_name: str = ClassName
) -> list[RecordOut]:
    return await _give_back(request, principal, body, class_name=class_name)


async def _give_back(
    request: Request,
    principal: CurrentPrincipal,
    body: ReturnIn,
    *,
    record_id: uuid.UUID | None = None,
    class_name: str | None = None,
) -> list[RecordOut]:
    grades, db = grades_of(request), runtime_of(request).db
    year = await current_year(request, principal)
    async with grades.writing(db.is_sqlite), db.transaction() as session:
        records = await grades.records.give_back(
            session,
            principal,
            school_year=year,
            reason=body.reason,
            record_id=record_id,
            class_name=class_name,
            expected=body.expected_version,
        )
        await grades.windows.mark_returned(session, principal, records, body.reason)
        out = []
        for record in records:
            student = await grades.roster.roster.student(session, record.school_id, record.student_id)
            if student is not None:
                out.append(RecordOut.of(record, student))
        return out


@router.post("/{record_id}/corrections", response_model=RecordOut, status_code=201)
async def correct_record(
    record_id: uuid.UUID, body: RecordCorrectionIn, principal: CurrentPrincipal, request: Request
) -> RecordOut:
    """Reopen an approved record under the board's minutes (Đ9): conduct, attendance, remarks."""
    grades, db = grades_of(request), runtime_of(request).db
    async with grades.writing(db.is_sqlite), db.transaction() as session:
        record, _ = await grades.record_corrections.open(
            session, principal, record_id, expected=body.expected_version, minutes=body.minutes()
        )
        _, student = await grades.records.get_visible(session, principal, record.id)
        return RecordOut.of(record, student)


@router.post("/{record_id}/revocation", response_model=RecordOut, status_code=201)
async def revoke_record(
    record_id: uuid.UUID, body: RecordCorrectionIn, principal: CurrentPrincipal, request: Request
) -> RecordOut:
    """Annul an approved record under the board's minutes (thu hồi, Đ9): only the principal; final.
    Every signed version of it then verifies as revoked (signing learns it by an event)."""
    grades, db = grades_of(request), runtime_of(request).db
    revocations = grades.record_revocations
    assert revocations is not None
    async with grades.writing(db.is_sqlite), db.transaction() as session:
        record, _ = await revocations.revoke(
            session, principal, record_id, expected=body.expected_version, minutes=body.minutes()
        )
        _, student = await grades.records.get_visible(session, principal, record.id)
        out = RecordOut.of(record, student)
    runtime_of(request).relay.nudge()
    return out


@router.get("/{record_id}/revocation", response_model=list[RecordCorrectionOut])
async def record_revocation(
    record_id: uuid.UUID, principal: CurrentPrincipal, request: Request
) -> list[RecordCorrectionOut]:
    """The minutes a record was revoked under (none, or one)."""
    grades = grades_of(request)
    revocations = grades.record_revocations
    assert revocations is not None
    async with runtime_of(request).db.transaction() as session:
        found = await revocations.of(session, principal, record_id)
        return [RecordCorrectionOut.model_validate(c) for c in found]


@router.get("/{record_id}/corrections", response_model=list[RecordCorrectionOut])
async def record_corrections(
    record_id: uuid.UUID, principal: CurrentPrincipal, request: Request
) -> list[RecordCorrectionOut]:
    grades = grades_of(request)
    async with runtime_of(request).db.transaction() as session:
        found = await grades.record_corrections.of(session, principal, record_id)
        return [RecordCorrectionOut.of(c) for c in found]
