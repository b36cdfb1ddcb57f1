"""HTTP shapes of the progress view."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict

from hbs_grades.progress.service import Tally, Work
from hbs_grades.progress.steps import STEP_TITLES


class TallyOut(BaseModel):
    key: str
    label: str
    total: int
    done: int
    missing: int
    late: int
    """Missing units (sheets, records) whose window has closed."""
    max_late_seconds: int
    counts: dict[str, int]

    @classmethod
    def of(cls, tally: Tally) -> TallyOut:
        return cls(
            key=tally.key,
            label=tally.label,
            total=tally.total,
            done=tally.done,
            missing=tally.missing,
            late=tally.late,
            max_late_seconds=tally.max_late_seconds,
            counts=dict(tally.counts),
        )


class ChoiceOut(BaseModel):
    model_config = ConfigDict(frozen=True)

    value: str
    label: str


class ProgressOut(BaseModel):
    school_year: str
    now: datetime
    term: str | None
    step: str
    group_by: str
    steps: list[TallyOut]
    groups: list[TallyOut]
    states: list[ChoiceOut]
    """The states of the chosen step, for the filter and the chart's legend."""
    classes: list[str]
    subjects: list[ChoiceOut]
    teachers: list[ChoiceOut]
    departments: list[str]
    deadlines_known: bool
    """False while no time window is set for anything shown: "late" cannot be judged yet."""


class ItemOut(BaseModel):
    """A missing item and the person who must act on it."""

    step: str
    step_label: str
    term: str | None
    class_name: str
    subject_code: str | None
    subject: str | None
    department: str
    sheet_id: uuid.UUID | None
    state: str
    state_label: str
    total: int
    missing: int
    responsible_id: uuid.UUID | None
    responsible_name: str
    responsible_role: str
    can_remind: bool
    """A teacher to remind (the board reminds itself by other means)."""
    due_at: datetime | None
    late_seconds: int

    @classmethod
    def of(cls, work: Work) -> ItemOut:
        return cls(
            step=work.step.value,
            step_label=STEP_TITLES[work.step],
            term=work.term,
            class_name=work.class_name,
            subject_code=work.subject_code,
            subject=work.subject,
            department=work.department,
            sheet_id=work.sheet_id,
            state=work.state,
            state_label=work.state_label,
            total=work.total,
            missing=work.missing,
            responsible_id=work.responsible_id,
            responsible_name=work.responsible_name,
            responsible_role=work.responsible_role.value,
            can_remind=work.responsible_id is not None,
            due_at=work.due_at,
            late_seconds=work.late_seconds,
        )


class ItemsOut(BaseModel):
    school_year: str
    now: datetime
    items: list[ItemOut]
