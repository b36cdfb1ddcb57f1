"""HTTP shape of the compliance report."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel

from hbs_grades.compliance.report import Row, hours, spoken
from hbs_grades.windows.rules import STEP_TITLES, period_label


class ComplianceRowOut(BaseModel):
    person_id: uuid.UUID | None
    person_name: str
    step: int
    step_label: str
    period: str
    period_label: str
    items: int
    on_time: int
    late: int
    open_late: int
    pending: int
    extended: int
    returned: int
    corrections: int
    late_max_hours: float
    late_total_hours: float
    late_average_hours: float
    late_max_text: str
    """"2 ngày 5 giờ"."""

    @classmethod
    def of(cls, row: Row, school_year: str) -> ComplianceRowOut:
        return cls(
            person_id=row.person_id,
            person_name=row.person_name,
            step=row.step,
            step_label=STEP_TITLES[row.step],
            period=row.period,
            period_label=period_label(row.period, school_year),
            items=row.items,
            on_time=row.on_time,
            late=row.late,
            open_late=row.open_late,
            pending=row.pending,
            extended=row.extended,
            returned=row.returned,
            corrections=row.corrections,
            late_max_hours=hours(row.late_max),
            late_total_hours=hours(row.late_total),
            late_average_hours=hours(row.late_average),
            late_max_text=spoken(row.late_max),
        )


class PersonChoice(BaseModel):
    id: uuid.UUID
    name: str


class ComplianceOut(BaseModel):
    school_year: str
    counted_at: datetime
    """Items still open are late until this moment."""
    group_by: str
    """person | department: whose name `person_name` is."""
    period: str | None
    step: int | None
    department: str | None
    teacher_id: uuid.UUID | None
    departments: list[str]
    """The filter's choices: every department (progress' map, and the records' steps)."""
    people: list[PersonChoice]
    """The filter's choices: everyone with an item this year."""
    rows: list[ComplianceRowOut]
