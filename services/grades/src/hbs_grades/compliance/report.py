"""The compliance report's arithmetic (Đ10), pure: per person, step and period, how many items
were done on time, late (and by how long), are still open past their window, were returned, and
how many corrections after signing their work caused."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from hbs_grades.windows.rules import EffectiveWindow
from hbs_shared.names import name_key

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
    department: str = ""
    """Tổ chuyên môn (progress' subject→department map; the records' steps have their own)."""


@dataclass(frozen=True)
class Filters:
    """What the board narrows the report to; None is every value."""

    period: str | None = None
    step: int | None = None
    department: str | None = None
    teacher_id: uuid.UUID | None = None
    by_department: bool = False
    """One row per department, step and period instead of per person."""

    def admits(self, person_id: uuid.UUID | None, step: int, period: str, department: str) -> bool:
        return (
            (self.period is None or period == self.period)
            and (self.step is None or step == self.step)
            and (self.department is None or department == self.department)
            and (self.teacher_id is None or person_id == self.teacher_id)
        )

    def item(self, item: Item) -> Item | None:
        """The item as the report counts it: left out, or under its department when grouping."""
        if not self.admits(item.person_id, item.step, item.period, item.department):
            return None
        if self.by_department:
            return replace(item, person_id=None, person_name=item.department)
        return item

    def key(self, key: PersonKey, department: str) -> PersonKey | None:
        person_id, _name, step, period = key
        if not self.admits(person_id, step, period, department):
            return None
        return (None, department, step, period) if self.by_department else key


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


def _name_key(row: Row) -> tuple[tuple[bytes, bytes], int, str]:
    # People are listed by given name, then family and middle names, as Vietnamese lists are.
    return (name_key(row.person_name), row.step, row.period)


def compile_rows(
    items: Iterable[Item],
    returns: Iterable[PersonKey],
    corrections: Iterable[PersonKey],
    now: datetime,
    by_department: bool = False,
) -> list[Row]:
    """The report's rows: one per person (or department), step and period with anything to count."""
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
    if by_department:
        return sorted(rows.values(), key=lambda r: (r.person_name, r.step, r.period))
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
