"""HTTP shapes of "sign all my ready sheets": the preview, the request, the batch's progress."""

from __future__ import annotations

import uuid
from collections import Counter

from pydantic import BaseModel, ConfigDict, Field

from hbs_grades.models import ScoreSheet, SheetState
from hbs_grades.sheets.batches import MAX_SHEETS, Readiness
from hbs_grades.sheets.schemas import SheetOut


class MissingOut(BaseModel):
    student_id: uuid.UUID
    full_name: str
    column_labels: list[str]


class ReadinessOut(BaseModel):
    sheet: SheetOut
    students: int
    """Sĩ số: the students on the sheet's class list."""
    reason: str | None
    """Why it cannot be signed now (Vietnamese), None when ready."""
    code: str | None
    """missing_scores, no_students, state, window_closed, minutes_unsigned; None when ready."""
    missing: list[MissingOut]

    @classmethod
    def of(cls, readiness: Readiness) -> ReadinessOut:
        problem = readiness.problem
        return cls(
            sheet=SheetOut.of(readiness.sheet),
            students=readiness.students,
            reason=None if problem is None else problem.title,
            code=None if problem is None else _code(readiness),
            missing=[MissingOut(**vars(m)) for m in readiness.missing],
        )


def _code(readiness: Readiness) -> str:
    problem = readiness.problem
    assert problem is not None
    if readiness.missing:
        return "missing_scores"
    if problem.field == "rows":
        return "no_students"
    if problem.field == "state":
        return "state"
    if problem.field == "correction_id":
        return "minutes_unsigned"
    return str(problem.extra.get("code", "window_closed"))


class ReadyToSignOut(BaseModel):
    ready: list[ReadinessOut]
    not_ready: list[ReadinessOut]
    signed: int
    """How many of the caller's sheets are signed already (not listed)."""

    @classmethod
    def of(cls, found: list[Readiness], signed: int) -> ReadyToSignOut:
        return cls(
            ready=[ReadinessOut.of(r) for r in found if r.ready],
            not_ready=[ReadinessOut.of(r) for r in found if not r.ready],
            signed=signed,
        )


class ChosenSheet(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sheet_id: uuid.UUID
    expected_version: int = Field(ge=1, le=2_147_483_647, description="The version the preview showed")


class SignSheetsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sheets: list[ChosenSheet] = Field(min_length=1, max_length=MAX_SHEETS)
    activation_id: uuid.UUID = Field(
        description="One signature activation (the signer's PIN) whose subject ids are these sheets' ids"
    )


class SheetBatchOut(BaseModel):
    batch_id: uuid.UUID
    sheets: list[SheetOut]
    counts: dict[str, int]
    """Sheets per state."""
    done: bool
    """Nothing of the batch is being signed any more (each signed, or back with its error)."""

    @classmethod
    def of(cls, batch_id: uuid.UUID, sheets: list[ScoreSheet]) -> SheetBatchOut:
        counts: Counter[str] = Counter(str(s.state) for s in sheets)
        return cls(
            batch_id=batch_id,
            sheets=[SheetOut.of(s) for s in sheets],
            counts=dict(counts),
            done=counts[SheetState.signing.value] == 0,
        )
