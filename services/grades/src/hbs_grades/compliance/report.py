"""The compliance report's arithmetic (Đ10), pure: per person, step and period, how many items
were done on time, late (and by how long), are still open past their window, were returned, and
how many corrections after signing their work caused."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from hbs_grades.windows.rules import EffectiveWindow

PersonKey = tuple[uuid.UUID | None, str, int, str]
"""(person id, person name, step, period)."""


@dataclass(frozen=True)
class Item:
    """One thing one person must do at one step: a sheet to enter or sign, a record to sign."""

    person_id: uuid.UUID | None
    person_name: str
    step: int
    period: str
    window: EffectiveWindow | None
    finished_at: datetime | None
    """When the step was done; None while it is still to do."""


@dataclass
class Row:
    person_id: uuid.UUID | None
    person_name: str
    step: int
    period: str
    items: int = 0
    on_time: int = 0
    late: int = 0
    """Done after the school's closing day."""
    open_late: int = 0
    """Still not done, the closing day past."""
    pending: int = 0
    """Still not done, not (yet) late."""
    extended: int = 0
    """Items whose window was extended for this person or class."""
    returned: int = 0
    corrections: int = 0
    lateness: list[timedelta] = field(default_factory=list)

    @property
    def late_max(self) -> timedelta:
        return max(self.lateness, default=timedelta(0))

    @property
    def late_total(self) -> timedelta:
        return sum(self.lateness, timedelta(0))

    @property
    def late_average(self) -> timedelta:
        return self.late_total / len(self.lateness) if self.lateness else timedelta(0)


def _name_key(row: Row) -> tuple[str, str, int, str]:
    # People are listed by given name (the last word), as Vietnamese lists are.
    words = row.person_name.split()
    return (words[-1].casefold() if words else "", row.person_name.casefold(), row.step, row.period)


def compile_rows(
    items: Iterable[Item],
    returns: Iterable[PersonKey],
    corrections: Iterable[PersonKey],
    now: datetime,
) -> list[Row]:
    """The report's rows: one per person, step and period that has anything to count."""
    rows: dict[PersonKey, Row] = {}

    def row(key: PersonKey) -> Row:
        if key not in rows:
            rows[key] = Row(*key)
        return rows[key]

    for item in items:
        r = row((item.person_id, item.person_name, item.step, item.period))
        r.items += 1
        if item.window is not None and item.window.extension is not None:
            r.extended += 1
        late = item.window.lateness(item.finished_at, now) if item.window is not None else timedelta(0)
        if item.finished_at is not None:
            if late > timedelta(0):
                r.late += 1
            else:
                r.on_time += 1
        elif late > timedelta(0):
            r.open_late += 1
        else:
            r.pending += 1
        if late > timedelta(0):
            r.lateness.append(late)
    for key in returns:
        row(key).returned += 1
    for key in corrections:
        row(key).corrections += 1
    return sorted(rows.values(), key=_name_key)


def hours(value: timedelta) -> float:
    return round(value.total_seconds() / 3600, 1)


def spoken(value: timedelta) -> str:
    """ "2 ngày 5 giờ", "3 giờ", "" for none: how people say a lateness."""
    if value <= timedelta(0):
        return ""
    total_hours = int(value.total_seconds() // 3600)
    days, rest = divmod(total_hours, 24)
    if days and rest:
        return f"{days} ngày {rest} giờ"
    if days:
        return f"{days} ngày"
    return f"{rest} giờ" if rest else "dưới 1 giờ"
