"""HTTP shapes of score sheets."""

from __future__ import annotations

import uuid

from pydantic import BaseModel, Field

from hbs_grades.models import ScoreSheet, SheetState
from hbs_grades.sheets.workflow import state_label


class SheetOut(BaseModel):
    id: uuid.UUID
    school_year: str
    class_name: str
    subject: str
    term: str
    teacher_id: uuid.UUID
    teacher_name: str
    state: SheetState
    state_label: str
    version: int
    document_id: uuid.UUID | None
    document_sha256: str | None
    last_error: str | None

    @classmethod
    def of(cls, sheet: ScoreSheet) -> SheetOut:
        return cls(
            id=sheet.id,
            school_year=sheet.school_year,
            class_name=sheet.class_name,
            subject=sheet.subject,
            term=sheet.term,
            teacher_id=sheet.teacher_id,
            teacher_name=sheet.teacher_name,
            state=SheetState(sheet.state),
            state_label=state_label(SheetState(sheet.state)),
            version=sheet.version,
            document_id=sheet.document_id,
            document_sha256=sheet.document_sha256,
            last_error=sheet.last_error,
        )


class SheetAction(BaseModel):
    expected_version: int = Field(ge=1, description="The version the user saw; a stale one gets 409")
