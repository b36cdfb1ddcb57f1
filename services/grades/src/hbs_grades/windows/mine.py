"""A staff member's own deadlines: the windows of the steps that concern them (score entry and
step 1 per semester for a subject teacher, step 2 for a homeroom teacher), with the extensions
granted to them or their class, and the days left or past (in Asia/Ho_Chi_Minh)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime

from hbs_grades.windows.rules import SCHOOL_TZ, EffectiveWindow, Period, day, periods_of
from hbs_grades.windows.service import YearWindows


@dataclass(frozen=True)
class MyDeadline:
    window: EffectiveWindow
    class_name: str | None
    """Set when the window is this class's (an extension for the class, or step 2's class)."""
    state: str
    days: int
    """Days left until the closing day (0 on it); days past it once closed; days to the opening."""

    @property
    def text(self) -> str:
        """ "còn 5 ngày", "hết hạn hôm nay", "đã quá hạn 3 ngày", "mở từ 05/09/2026"."""
        if self.state == "not_open":
            return f"mở từ {day(self.window.opens_on)}"
        if self.state == "closed":
            return f"đã quá hạn {self.days} ngày"
        return "hết hạn hôm nay" if self.days == 0 else f"còn {self.days} ngày"


def deadline_of(window: EffectiveWindow, class_name: str | None, now: datetime) -> MyDeadline:
    today: date = now.astimezone(SCHOOL_TZ).date()
    state = window.state_at(now)
    if state == "closed":
        days = (today - window.closes_on).days
    elif state == "not_open":
        days = (window.opens_on - today).days
    else:
        days = (window.closes_on - today).days
    return MyDeadline(window, class_name, state, days)


def my_deadlines(
    year: YearWindows,
    teacher_id: uuid.UUID,
    subject_classes: set[str],
    homeroom_classes: set[str],
    now: datetime,
) -> list[MyDeadline]:
    """Per step and period: the teacher's window (with their own extension), and one more line per
    class of theirs whose extension closes later than that."""
    found: list[MyDeadline] = []
    wanted = [(s, sorted(subject_classes)) for s in (0, 1)] if subject_classes else []
    if homeroom_classes:
        wanted.append((2, sorted(homeroom_classes)))
    for step, classes in wanted:
        for period in periods_of(step):
            own = year.for_(period.value, step, teacher_id=teacher_id)
            if own is None:
                continue  # no window set: the step is always open
            if step != 2:
                found.append(deadline_of(own, None, now))
            for class_name in classes:
                theirs = year.for_(period.value, step, teacher_id=teacher_id, class_name=class_name)
                if theirs is not None and (step == 2 or theirs.closes_on > own.closes_on):
                    found.append(deadline_of(theirs, class_name, now))
    order = {Period.hk1.value: 0, Period.hk2.value: 1, Period.year.value: 2}
    return sorted(found, key=lambda d: (order[d.window.period], d.window.step, d.class_name or ""))
