"""Review samples (Đ4.2, Đ8 step 3) and the homeroom teacher's check of personal data (Đ6.1).

Each endpoint checks the caller against the class or sample it names: a class the caller may not
read is 404; readable but not theirs to act on is 403.
"""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request

from hbs_grades.params import ClassName
from hbs_grades.review.overview import school_overview
from hbs_grades.review.schemas import (
    ClassReviewOut,
    PersonalDataCheckIn,
    PersonalDataOut,
    RedrawOut,
    ReviewSettingsIn,
    ReviewSettingsOut,
    SampleOut,
    VerdictIn,
    VerifyAllIn,
)
from hbs_grades.school import CurrentSchoolYear
from hbs_grades.wiring import grades_of
from hbs_shared.auth import CurrentPrincipal
from hbs_shared.service import runtime_of

router = APIRouter(prefix="/review", tags=["review"])


@router.get("/overview", response_model=list[ClassReviewOut])
async def review_overview(
    principal: CurrentPrincipal, year: CurrentSchoolYear, request: Request
) -> list[ClassReviewOut]:
    """Per class: its review sample's state and the homeroom check (N of M verified), the board's
    view of which classes step 3 can sign."""
    async with runtime_of(request).db.transaction() as session:
        return [ClassReviewOut.of(c) for c in await school_overview(session, principal, year)]


@router.get("/settings", response_model=ReviewSettingsOut)
async def review_settings(principal: CurrentPrincipal, request: Request) -> ReviewSettingsOut:
    """The school's sample size rule: a share of each class's records, at least a minimum."""
    async with runtime_of(request).db.transaction() as session:
        share, minimum = await grades_of(request).review.settings(session, principal)
    return ReviewSettingsOut(share_percent=share, minimum=minimum)


@router.put("/settings", response_model=ReviewSettingsOut)
async def update_review_settings(
    body: ReviewSettingsIn, principal: CurrentPrincipal, request: Request
) -> ReviewSettingsOut:
    grades, db = grades_of(request), runtime_of(request).db
    async with grades.writing(db.is_sqlite), db.transaction() as session:
        share, minimum = await grades.review.update_settings(
            session, principal, body.share_percent, body.minimum
        )
    return ReviewSettingsOut(share_percent=share, minimum=minimum)


@router.post("/classes/{class_name}/samples", response_model=SampleOut, status_code=201)
async def draw_sample(
    principal: CurrentPrincipal, year: CurrentSchoolYear, request: Request, class_name: str = ClassName
) -> SampleOut:
    """Chọn mẫu kiểm tra: a new random sample of the class's records (the previous one is kept)."""
    grades, db = grades_of(request), runtime_of(request).db
    async with grades.writing(db.is_sqlite), db.transaction() as session:
        return SampleOut.of(await grades.review.draw(session, principal, year, class_name))


@router.get("/classes/{class_name}/samples", response_model=list[SampleOut])
async def class_samples(
    principal: CurrentPrincipal, year: CurrentSchoolYear, request: Request, class_name: str = ClassName
) -> list[SampleOut]:
    """Every sample of the class with its verdicts, the current one first."""
    async with runtime_of(request).db.transaction() as session:
        views = await grades_of(request).review.history(session, principal, year, class_name)
        return [SampleOut.of(v) for v in views]


@router.get("/samples/{sample_id}/redraw", response_model=RedrawOut)
async def redraw_sample(sample_id: uuid.UUID, principal: CurrentPrincipal, request: Request) -> RedrawOut:
    """Draw again from the stored seed and population and compare with the stored sample."""
    async with runtime_of(request).db.transaction() as session:
        return RedrawOut.of(await grades_of(request).review.redraw(session, principal, sample_id))


@router.post("/samples/{sample_id}/records/{record_id}/verdict", response_model=SampleOut)
async def give_verdict(
    sample_id: uuid.UUID, record_id: uuid.UUID, body: VerdictIn, principal: CurrentPrincipal, request: Request
) -> SampleOut:
    """Đúng, or Trả lại with a reason to whoever must act (the subject's teacher or the homeroom teacher)."""
    grades, db = grades_of(request), runtime_of(request).db
    async with grades.writing(db.is_sqlite), db.transaction() as session:
        view = await grades.review.verdict(
            session,
            principal,
            sample_id,
            record_id,
            verdict=body.verdict,
            reason=body.reason,
            subject_code=body.subject_code,
        )
        return SampleOut.of(view)


@router.get("/classes/{class_name}/personal-data", response_model=list[PersonalDataOut])
async def class_personal_data(
    principal: CurrentPrincipal, year: CurrentSchoolYear, request: Request, class_name: str = ClassName
) -> list[PersonalDataOut]:
    """Each current student's front page and the homeroom teacher's check of it, in class-list order."""
    async with runtime_of(request).db.transaction() as session:
        found = await grades_of(request).records.checks.for_class(session, principal, year, class_name)
        return [PersonalDataOut.of(f) for f in found]


@router.post("/classes/{class_name}/personal-data/verify-all", response_model=list[PersonalDataOut])
async def verify_all_personal_data(
    body: VerifyAllIn,
    principal: CurrentPrincipal,
    year: CurrentSchoolYear,
    request: Request,
    class_name: str = ClassName,
) -> list[PersonalDataOut]:
    """Đánh dấu tất cả đúng (the homeroom teacher): every field of the chosen students verified at
    once, each still its own check with who and when; all or nothing. Returns the class's checks."""
    grades, db = grades_of(request), runtime_of(request).db
    async with grades.writing(db.is_sqlite), db.transaction() as session:
        found = await grades.records.checks.verify_all(session, principal, year, class_name, body.student_ids)
        return [PersonalDataOut.of(f) for f in found]


@router.put("/students/{student_id}/personal-data", response_model=PersonalDataOut)
async def check_personal_data(
    student_id: uuid.UUID,
    body: PersonalDataCheckIn,
    principal: CurrentPrincipal,
    year: CurrentSchoolYear,
    request: Request,
) -> PersonalDataOut:
    """The homeroom teacher's check: every field ticked (verified) or a discrepancy with a note."""
    grades, db = grades_of(request), runtime_of(request).db
    async with grades.writing(db.is_sqlite), db.transaction() as session:
        found = await grades.records.checks.record(
            session,
            principal,
            year,
            student_id,
            state=body.state,
            fields=body.fields,
            note=body.note,
            change_request_id=body.change_request_id,
        )
        return PersonalDataOut.of(found)
