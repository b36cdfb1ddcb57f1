"""HTTP shapes of score sheets."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from hbs_grades.models import EntryChange, ScoreSheet, SheetCorrection, SheetState
from hbs_grades.records.schemas import CorrectionIn, CorrectionOut
from hbs_grades.roster.repository import NO_TEACHER
from hbs_grades.sheets.cells import assessment_keys, column_label, regular_key
from hbs_grades.sheets.corrections import CorrectedCell
from hbs_grades.sheets.entry import RowChange
from hbs_grades.sheets.merge import ShownChange
from hbs_grades.sheets.reading import SheetView
from hbs_grades.sheets.workflow import SHEETS
from hbs_shared.labels import TERM_LABELS


class SheetOut(BaseModel):
    id: uuid.UUID
    school_year: str
    class_name: str
    subject: str
    """The subject's Vietnamese name, e.g. "Toán"."""
    subject_code: str
    assessment: Literal["scored", "comment"]
    regular_count: int
    term: str
    """HK1 or HK2."""
    term_label: str
    teacher_id: uuid.UUID | None
    """None (teacher_name "Chưa phân công") while the class-subject has no teacher."""
    teacher_name: str
    state: SheetState
    state_label: str
    version: int
    document_id: uuid.UUID | None
    document_sha256: str | None
    last_error: str | None
    correction_id: uuid.UUID | None = None
    """The correction after signing (Đ9) the sheet is open under, until it is signed again."""

    @classmethod
    def of(cls, sheet: ScoreSheet) -> SheetOut:
        return cls(
            id=sheet.id,
            school_year=sheet.school_year,
            class_name=sheet.class_name,
            subject=sheet.subject,
            subject_code=sheet.subject_code,
            assessment="comment" if sheet.assessment == "comment" else "scored",
            regular_count=sheet.regular_count,
            term=sheet.term,
            term_label=TERM_LABELS.get(sheet.term, sheet.term),
            teacher_id=None if sheet.teacher_id == NO_TEACHER else sheet.teacher_id,
            teacher_name=sheet.teacher_name,
            state=SheetState(sheet.state),
            state_label=SHEETS.label(SheetState(sheet.state)),
            version=sheet.version,
            document_id=sheet.document_id,
            document_sha256=sheet.document_sha256,
            last_error=sheet.last_error,
            correction_id=sheet.correction_id,
        )


class SheetAction(BaseModel):
    expected_version: int = Field(
        ge=1, le=2_147_483_647, description="The version the user saw; a stale one gets 409"
    )


class SignAction(SheetAction):
    activation_id: uuid.UUID = Field(
        description="The signing activation (the signer's PIN, from the signing service): "
        "a login token alone never signs"
    )


class ColumnOut(BaseModel):
    key: str
    label: str


class RowOut(BaseModel):
    student_id: uuid.UUID
    national_id: str
    full_name: str
    regular: list[str | None]
    midterm: str | None
    final: str | None
    comment: str
    status: Literal["assessed", "exempt", "not_assessed"]
    result: str | None
    """ĐTBmhk (scored) or Đ/CĐ (comment), once every required assessment is given."""
    missing: list[str]


class SheetScoresOut(BaseModel):
    sheet: SheetOut
    columns: list[ColumnOut]
    rows: list[RowOut]
    complete: bool

    @classmethod
    def of(cls, view: SheetView) -> SheetScoresOut:
        count = view.sheet.regular_count
        keys = [*assessment_keys(count), "comment"]
        rows = [
            RowOut(
                student_id=line.student.id,
                national_id=line.student.national_id,
                full_name=line.student.full_name,
                regular=line.cells.regular_slots(count),
                midterm=line.cells.midterm,
                final=line.cells.final,
                comment=line.cells.comment,
                status=line.cells.status.value,
                result=line.result,
                missing=line.missing,
            )
            for line in view.lines
        ]
        return cls(
            sheet=SheetOut.of(view.sheet),
            columns=[ColumnOut(key=k, label=column_label(k)) for k in keys],
            rows=rows,
            complete=not any(r.missing for r in rows),
        )


ColumnKey = Annotated[str, StringConstraints(pattern=r"^(regular_[1-4]|midterm|final|comment|status)$")]
ShownText = Annotated[str, StringConstraints(max_length=2000)]


class RowIn(BaseModel):
    """One student's cells; a field left out is unchanged, null or "" erases it."""

    student_id: uuid.UUID
    regular: list[Annotated[str, Field(max_length=20)] | None] | None = Field(default=None, max_length=4)
    """ĐĐGtx 1…n in order; for a comment subject Đ / CĐ."""
    midterm: str | None = Field(default=None, max_length=20)
    final: str | None = Field(default=None, max_length=20)
    comment: str | None = Field(default=None, max_length=2000)
    status: Literal["assessed", "exempt", "not_assessed"] | None = None
    shown: dict[ColumnKey, ShownText | None] | None = Field(default=None, max_length=8)
    """The values the page showed (column key → text) when the sheet had `expected_version`: a save
    on an older version is then merged cell by cell (sheets/merge.py) instead of refused."""

    def shown_change(self) -> ShownChange:
        return ShownChange(self.change(), self.shown)

    def change(self) -> RowChange:
        cells: dict[str, str | None] = {}
        given = self.model_fields_set
        if "regular" in given:
            for index, value in enumerate(self.regular or [], start=1):
                cells[regular_key(index)] = value
        for name in ("midterm", "final", "comment"):
            if name in given:
                cells[name] = getattr(self, name)
        if "status" in given:
            cells["status"] = self.status or "assessed"
        return RowChange(self.student_id, cells)


class SaveScores(SheetAction):
    rows: list[RowIn] = Field(max_length=200)
    reason: str | None = Field(default=None, max_length=1000)
    """Required once the sheet has been submitted."""


class ChangeOut(BaseModel):
    student_id: uuid.UUID
    column: str
    column_label: str
    old_value: str | None
    new_value: str | None
    changed_by: uuid.UUID
    changed_by_name: str
    changed_at: datetime
    sheet_state: str
    sheet_version: int
    reason: str | None

    @classmethod
    def of(cls, change: EntryChange) -> ChangeOut:
        return cls(
            student_id=change.student_id,
            column=change.column,
            column_label=column_label(change.column),
            old_value=change.old_value,
            new_value=change.new_value,
            changed_by=change.changed_by,
            changed_by_name=change.changed_by_name,
            changed_at=change.changed_at,
            sheet_state=change.sheet_state,
            sheet_version=change.sheet_version,
            reason=change.reason,
        )


PresentLine = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class CorrectedCellIn(BaseModel):
    """One cell the minutes correct: a student on the sheet and a column (regular_k, midterm,
    final, comment); grades checks both against the sheet."""

    model_config = ConfigDict(extra="forbid")

    student_id: uuid.UUID
    column: str = Field(pattern=r"^(regular_[1-4]|midterm|final|comment)$")

    def cell(self) -> CorrectedCell:
        return CorrectedCell(self.student_id, self.column)


class SheetCorrectionIn(CorrectionIn):
    """The minutes in full: besides number, date and reason, who was present and what is corrected."""

    present: list[PresentLine] = Field(min_length=1, max_length=20)
    """One line per person present (name and role), as the minutes list them."""
    cells: list[CorrectedCellIn] = Field(min_length=1, max_length=400)

    @field_validator("present")
    @classmethod
    def _no_control(cls, lines: list[str]) -> list[str]:
        if any(ord(c) < 32 for line in lines for c in line):
            raise ValueError("không được chứa ký tự điều khiển")
        return lines


class CorrectedCellOut(BaseModel):
    student_id: uuid.UUID
    column: str
    column_label: str
    old_value: str | None


class SheetCorrectionOut(CorrectionOut):
    """A sheet's correction with its minutes in full and the state of the minutes' signature."""

    opened_by: uuid.UUID
    """The board member who opened it: the one who signs its minutes."""
    present: list[str]
    cells: list[CorrectedCellOut]
    minutes_state: Literal["unsigned", "signing", "signed"]
    minutes_document_id: uuid.UUID | None
    minutes_signed_at: datetime | None
    minutes_error: str | None

    @classmethod
    def of(cls, c: SheetCorrection) -> SheetCorrectionOut:
        state: Literal["unsigned", "signing", "signed"] = (
            "signed" if c.minutes_document_id else "signing" if c.minutes_request_id else "unsigned"
        )
        return cls.model_validate(
            {
                **CorrectionOut.of(c).model_dump(),
                "opened_by": c.opened_by,
                "present": list(c.present or []),
                "cells": [
                    CorrectedCellOut(
                        student_id=uuid.UUID(str(cell["student_id"])),
                        column=str(cell["column"]),
                        column_label=column_label(str(cell["column"])),
                        old_value=cell.get("old_value"),
                    )
                    for cell in c.cells or []
                ],
                "minutes_state": state,
                "minutes_document_id": c.minutes_document_id,
                "minutes_signed_at": c.minutes_signed_at,
                "minutes_error": c.minutes_error,
            }
        )


class MinutesSignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    activation_id: uuid.UUID = Field(
        description="The board member's signing activation for this correction (PIN, from signing)"
    )
