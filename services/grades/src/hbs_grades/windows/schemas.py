"""HTTP shapes of time windows and extensions."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

from hbs_grades.windows.mine import MyDeadline
from hbs_grades.windows.models import TimeWindow, WindowExtension
from hbs_grades.windows.rules import STEP_TITLES, EffectiveWindow, Period, period_label
from hbs_grades.windows.service import ExtensionSpec, WindowSpec

SchoolYear = Annotated[str, Field(pattern=r"^\d{4}-\d{4}$", max_length=9)]
Step = Annotated[int, Field(ge=0, le=4)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WindowIn(_In):
    period: Period
    step: Step
    opens_on: date | None = None
    closes_on: date | None = None
    """Both dates set the window; neither removes it (the step is then always open)."""

    def spec(self) -> WindowSpec:
        return WindowSpec(self.period.value, self.step, self.opens_on, self.closes_on)


class WindowsIn(_In):
    school_year: SchoolYear
    windows: list[WindowIn] = Field(max_length=20)


class WindowOut(BaseModel):
    period: str
    period_label: str
    step: int
    step_label: str
    opens_on: date
    closes_on: date
    label: str
    """"Hạn ký sổ điểm Học kỳ I: 05/09/2026 – 20/12/2026"."""
    state: str
    """not_open | open | closed, now."""
    set_by_name: str
    set_at: datetime

    @classmethod
    def of(cls, row: TimeWindow, window: EffectiveWindow, now: datetime) -> WindowOut:
        return cls(
            period=row.period,
            period_label=period_label(row.period, row.school_year),
            step=row.step,
            step_label=STEP_TITLES[row.step],
            opens_on=row.opens_on,
            closes_on=row.closes_on,
            label=window.label,
            state=window.state_at(now),
            set_by_name=row.set_by_name,
            set_at=row.set_at,
        )


class YearWindowsOut(BaseModel):
    school_year: str
    windows: list[WindowOut]


def _reason(value: str) -> str:
    cleaned = value.strip()
    if any(ord(c) < 32 and c not in "\n\r\t" for c in cleaned):
        raise ValueError("không được chứa ký tự điều khiển")
    if not cleaned:
        raise ValueError("cần ghi lý do")
    return cleaned


class ExtensionIn(_In):
    school_year: SchoolYear
    period: Period
    step: Step
    teacher_id: uuid.UUID | None = None
    class_name: str | None = Field(default=None, min_length=1, max_length=40, pattern=r"^[^\x00-\x1f\x7f]+$")
    closes_on: date
    reason: str = Field(min_length=1, max_length=1000)

    _clean = field_validator("reason")(_reason)

    def spec(self) -> ExtensionSpec:
        return ExtensionSpec(
            self.school_year,
            self.period.value,
            self.step,
            self.closes_on,
            self.reason,
            teacher_id=self.teacher_id,
            class_name=self.class_name,
        )


class ExtensionOut(BaseModel):
    id: uuid.UUID
    school_year: str
    period: str
    period_label: str
    step: int
    step_label: str
    teacher_id: uuid.UUID | None
    teacher_name: str
    class_name: str | None
    closes_on: date
    reason: str
    granted_by: uuid.UUID
    granted_by_name: str
    granted_at: datetime

    @classmethod
    def of(cls, row: WindowExtension) -> ExtensionOut:
        return cls(
            id=row.id,
            school_year=row.school_year,
            period=row.period,
            period_label=period_label(row.period, row.school_year),
            step=row.step,
            step_label=STEP_TITLES[row.step],
            teacher_id=row.teacher_id,
            teacher_name=row.teacher_name,
            class_name=row.class_name,
            closes_on=row.closes_on,
            reason=row.reason,
            granted_by=row.granted_by,
            granted_by_name=row.granted_by_name,
            granted_at=row.granted_at,
        )


class MyDeadlineOut(BaseModel):
    """One of the caller's own deadlines."""

    period: str
    period_label: str
    step: int
    step_label: str
    class_name: str | None
    opens_on: date
    closes_on: date
    """The day the caller may act until (an extension's, when one applies)."""
    school_closes_on: date
    extended: bool
    extension_reason: str | None
    label: str
    state: str
    """not_open | open | closed, now."""
    days: int
    text: str
    """"còn 5 ngày", "đã quá hạn 3 ngày"."""

    @classmethod
    def of(cls, mine: MyDeadline) -> MyDeadlineOut:
        w = mine.window
        return cls(
            period=w.period,
            period_label=period_label(w.period, w.school_year),
            step=w.step,
            step_label=STEP_TITLES[w.step],
            class_name=mine.class_name,
            opens_on=w.opens_on,
            closes_on=w.closes_on,
            school_closes_on=w.base_closes_on,
            extended=w.extension is not None,
            extension_reason=w.extension.reason if w.extension is not None else None,
            label=w.label,
            state=mine.state,
            days=mine.days,
            text=mine.text,
        )


class MyDeadlinesOut(BaseModel):
    school_year: str
    deadlines: list[MyDeadlineOut]
