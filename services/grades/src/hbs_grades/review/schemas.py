"""HTTP shapes of review samples (mẫu kiểm tra) and personal-data checks (kiểm tra thông tin cá nhân)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from hbs_grades.models import RecordState
from hbs_grades.records.content import personal_data
from hbs_grades.records.workflow import RECORDS
from hbs_grades.review.draw import ALGORITHM
from hbs_grades.review.overview import ClassReview
from hbs_grades.review.samples import Redraw, SampleState, SampleView, Verdict
from hbs_grades.review.verification import FIELDS, CheckState, Status, StudentCheck

FieldName = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[a-z_]+$")]
"""A front-page field (review.verification.FIELDS); an unknown one is a 422 naming it."""


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _text(value: str | None) -> str | None:
    if value is None:
        return None
    cleaned = value.strip()
    if any(ord(c) < 32 and c not in "\n\r\t" for c in cleaned):
        raise ValueError("không được chứa ký tự điều khiển")
    return cleaned


class ReviewSettingsIn(_In):
    share_percent: int = Field(ge=1, le=100)
    minimum: int = Field(ge=1, le=100)


class ReviewSettingsOut(BaseModel):
    share_percent: int
    minimum: int


class VerdictIn(_In):
    verdict: Verdict
    reason: str | None = Field(default=None, min_length=1, max_length=1000)
    subject_code: str | None = Field(default=None, min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_.-]+$")
    """For a return about a score: the subject whose teacher must act."""

    _clean = field_validator("reason")(_text)


class SampleItemOut(BaseModel):
    record_id: uuid.UUID
    student_id: uuid.UUID
    full_name: str
    rank: int
    record_state: RecordState | None
    record_state_label: str
    verdict: Literal["pending", "correct", "returned"]
    reason: str | None
    returned_to: str | None
    returned_to_name: str | None
    decided_by_name: str | None
    decided_at: datetime | None
    history: list[dict[str, Any]]


class SampleOut(BaseModel):
    id: uuid.UUID
    school_year: str
    class_name: str
    algorithm: str
    seed: str
    population_size: int
    share_percent: int
    minimum: int
    drawn_by_name: str
    drawn_at: datetime
    superseded: bool
    state: SampleState
    items: list[SampleItemOut]

    @classmethod
    def of(cls, view: SampleView) -> SampleOut:
        s = view.sample
        items = []
        for i in view.items:
            record = view.records.get(i.record_id)
            student = view.students.get(i.student_id)
            state = RecordState(record.state) if record else None
            items.append(
                SampleItemOut(
                    record_id=i.record_id,
                    student_id=i.student_id,
                    full_name=student.full_name if student else "",
                    rank=i.rank,
                    record_state=state,
                    record_state_label=RECORDS.label(state) if state else "",
                    verdict=i.verdict,
                    reason=i.reason,
                    returned_to=i.returned_to,
                    returned_to_name=i.returned_to_name,
                    decided_by_name=i.decided_by_name,
                    decided_at=i.decided_at,
                    history=i.history,
                )
            )
        return cls(
            id=s.id,
            school_year=s.school_year,
            class_name=s.class_name,
            algorithm=ALGORITHM,
            seed=s.seed,
            population_size=len(s.population),
            share_percent=s.share_percent,
            minimum=s.minimum,
            drawn_by_name=s.drawn_by_name,
            drawn_at=s.drawn_at,
            superseded=s.superseded,
            state=view.state,
            items=items,
        )


class RedrawOut(BaseModel):
    sample_id: uuid.UUID
    algorithm: str
    identical: bool
    stored: list[str]
    drawn: list[str]

    @classmethod
    def of(cls, redraw: Redraw) -> RedrawOut:
        return cls(
            sample_id=redraw.sample_id,
            algorithm=redraw.algorithm,
            identical=redraw.identical,
            stored=redraw.stored,
            drawn=redraw.drawn,
        )


class PersonalDataCheckIn(_In):
    state: CheckState
    fields: list[FieldName] = Field(default_factory=list, max_length=len(FIELDS))
    note: str = Field(default="", max_length=2000)
    change_request_id: uuid.UUID | None = None
    """The change request the portal made in identity for a discrepancy."""

    @field_validator("note")
    @classmethod
    def _clean_note(cls, value: str) -> str:
        return _text(value) or ""


class VerifyAllIn(_In):
    """Đánh dấu tất cả đúng: the students whose every field the teacher confirms at once."""

    student_ids: list[uuid.UUID] = Field(min_length=1, max_length=200)
    confirmed: bool
    """The teacher says she compared each front page with the documents; must be true."""

    @field_validator("confirmed")
    @classmethod
    def _must_confirm(cls, value: bool) -> bool:
        if not value:
            raise ValueError("cần xác nhận đã đối chiếu với giấy khai sinh và hồ sơ gốc")
        return value


class PersonalDataOut(BaseModel):
    student_id: uuid.UUID
    full_name: str
    data: dict[str, str]
    """Each front-page field as grades holds it (dates as dd/mm/yyyy)."""
    status: Status
    fields: list[str]
    note: str
    change_request_id: uuid.UUID | None
    checked_by_name: str | None
    checked_at: datetime | None

    @classmethod
    def of(cls, found: StudentCheck) -> PersonalDataOut:
        raw = personal_data(found.student).model_dump()
        data = {}
        for name in FIELDS:
            value = raw.get(name)
            if isinstance(value, date):
                data[name] = value.strftime("%d/%m/%Y")
            elif name == "gender":
                data[name] = "Nữ" if value == "female" else "Nam"
            else:
                data[name] = "" if value is None else str(value)
        check = found.check
        return cls(
            student_id=found.student.id,
            full_name=found.student.full_name,
            data=data,
            status=found.status,
            fields=list(check.fields) if check else [],
            note=check.note if check else "",
            change_request_id=check.change_request_id if check else None,
            checked_by_name=check.checked_by_name if check else None,
            checked_at=check.checked_at if check else None,
        )


class ClassReviewOut(BaseModel):
    """One class in the board's overview: its review sample and the homeroom check."""

    class_name: str
    sample_state: str
    """none | open | returned | passed."""
    sample_size: int
    sample_pending: int
    sample_returned: int
    students: int
    verified: int
    discrepancy: int
    unchecked: int
    """Never checked, or checked before the data changed (stale)."""
    ready_for_step3: bool

    @classmethod
    def of(cls, review: ClassReview) -> ClassReviewOut:
        return cls(
            class_name=review.class_name,
            sample_state=review.sample_state,
            sample_size=review.sample_items.total(),
            sample_pending=review.sample_items["pending"],
            sample_returned=review.sample_items["returned"],
            students=review.students,
            verified=review.checks["verified"],
            discrepancy=review.checks["discrepancy"],
            unchecked=review.checks["unchecked"] + review.checks["stale"],
            ready_for_step3=review.ready_for_step3,
        )
