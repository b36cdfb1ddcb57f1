"""HTTP shapes of year records and corrections."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from hbs_grades.corrections import Minutes
from hbs_grades.models import RecordCorrection, RecordState, SheetCorrection, Student, YearRecord
from hbs_grades.records.service import ClassRecords
from hbs_grades.records.workflow import RECORDS, Step
from hbs_shared.display import school_today

MAX_VERSION = 2_147_483_647
"""A version is a 32-bit integer in the database: a larger one is a 422, never a 500."""
Version = Annotated[int, Field(ge=1, le=MAX_VERSION)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _text(value: str) -> str:
    cleaned = value.strip()
    if any(ord(c) < 32 and c not in "\n\r\t" for c in cleaned):
        raise ValueError("không được chứa ký tự điều khiển")
    return cleaned


class RecordOut(BaseModel):
    id: uuid.UUID
    school_year: str
    class_name: str
    student_id: uuid.UUID
    full_name: str
    state: RecordState
    state_label: str
    version: int
    edition: int
    remarks: str
    document_id: uuid.UUID | None
    document_sha256: str | None
    last_error: str | None
    returned_reason: str | None
    batch_id: uuid.UUID | None

    @classmethod
    def of(cls, record: YearRecord, student: Student) -> RecordOut:
        state = RecordState(record.state)
        return cls(
            id=record.id,
            school_year=record.school_year,
            class_name=record.class_name,
            student_id=record.student_id,
            full_name=student.full_name,
            state=state,
            state_label=RECORDS.label(state),
            version=record.version,
            edition=record.edition,
            remarks=record.remarks,
            document_id=record.document_id,
            document_sha256=record.document_sha256,
            last_error=record.last_error,
            returned_reason=record.returned_reason,
            batch_id=record.batch_id,
        )


class ClassRecordsOut(BaseModel):
    school_year: str
    class_name: str
    counts: dict[str, int]
    """Records per state."""
    ready_for_homeroom: bool
    missing: list[str]
    """Why the homeroom teacher cannot sign yet (Vietnamese), empty when they can."""
    records: list[RecordOut]

    @classmethod
    def of(cls, view: ClassRecords) -> ClassRecordsOut:
        return cls(
            school_year=view.school_year,
            class_name=view.class_name,
            counts=view.counts,
            ready_for_homeroom=not view.missing,
            missing=view.missing,
            records=[RecordOut.of(r, s) for r, s in view.lines],
        )


class ClassCountsOut(BaseModel):
    class_name: str
    total: int
    counts: dict[str, int]


class SchoolRecordsOut(BaseModel):
    school_year: str
    counts: dict[str, int]
    classes: list[ClassCountsOut]


class RecordDetailOut(RecordOut):
    content: dict[str, Any]
    """The year page as it would be signed now (YearRecordContent)."""


class RemarksIn(_In):
    expected_version: int = Field(ge=1, le=MAX_VERSION)
    remarks: str = Field(max_length=4000)

    _clean = field_validator("remarks")(_text)


class SignIn(_In):
    step: Step
    activation_id: uuid.UUID
    batch_id: uuid.UUID
    """The batch the activation was made for (POST /activations with this batch id)."""
    class_names: list[Annotated[str, Field(max_length=40)]] = Field(min_length=1, max_length=200)
    expected: dict[uuid.UUID, Annotated[int, Field(ge=1, le=MAX_VERSION)]] | None = Field(
        default=None, max_length=5000
    )
    """Record id → the version the signer reviewed; when given, it must match every record signed."""

    @field_validator("class_names")
    @classmethod
    def _names(cls, names: list[str]) -> list[str]:
        for name in names:
            if not 1 <= len(name.strip()) <= 40:
                raise ValueError("tên lớp từ 1 đến 40 ký tự")
        return [n.strip() for n in names]


class BatchOut(BaseModel):
    batch_id: uuid.UUID
    total: int
    counts: dict[str, int]
    """Records per state: the batch is done when none is in a signing state."""
    done: bool
    failed: list[dict[str, str]]


class ReturnIn(_In):
    reason: str = Field(min_length=3, max_length=1000)
    expected_version: int | None = Field(default=None, ge=1, le=MAX_VERSION)

    _clean = field_validator("reason")(_text)


class CorrectionIn(_In):
    expected_version: int = Field(ge=1, le=MAX_VERSION)
    """The sheet's version."""
    minutes_number: str = Field(min_length=1, max_length=60)
    """Số biên bản."""
    minutes_date: date
    reason: str = Field(min_length=3, max_length=2000)

    _clean = field_validator("minutes_number", "reason")(_text)

    @field_validator("minutes_date")
    @classmethod
    def _not_future(cls, value: date) -> date:
        if value > school_today():
            raise ValueError("ngày biên bản không được ở tương lai")
        return value

    def minutes(self) -> Minutes:
        return Minutes(self.minutes_number, self.minutes_date, self.reason)


class MinutesOut(BaseModel):
    """A correction after signing as the board opened it (sheets and records alike)."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    minutes_number: str
    minutes_date: date
    reason: str
    opened_by_name: str
    opened_at: datetime
    superseded_document_id: uuid.UUID | None


class CorrectionOut(MinutesOut):
    sheet_id: uuid.UUID
    new_document_id: uuid.UUID | None
    closed_at: datetime | None

    @classmethod
    def of(cls, c: SheetCorrection) -> CorrectionOut:
        return cls.model_validate(c)


class RecordCorrectionIn(CorrectionIn):
    """The same minutes as a sheet's correction; `expected_version` is the record's version."""


class RecordCorrectionOut(MinutesOut):
    record_id: uuid.UUID

    @classmethod
    def of(cls, c: RecordCorrection) -> RecordCorrectionOut:
        return cls.model_validate(c)
