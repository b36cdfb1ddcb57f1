"""The rules of time windows, pure: which steps and periods exist, when a window opens and closes
(dates in Asia/Ho_Chi_Minh, the closing day inclusive), the window in force for one person or
class, and how late an item is."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from hbs_shared.labels import TERM_LABELS
from hbs_shared.problems import Problem

SCHOOL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
ENTRY_STEP = 0
"""Score entry (nhập điểm), before Đ8's step 1."""
STEPS: tuple[int, ...] = (0, 1, 2, 3, 4)
SHEET_STEPS: tuple[int, ...] = (0, 1)
"""Per semester: a score sheet is entered and signed once per semester."""
RECORD_STEPS: tuple[int, ...] = (2, 3, 4)
"""Per year: a year record is signed once a year."""


class Period(StrEnum):
    hk1 = "HK1"
    hk2 = "HK2"
    year = "year"


WINDOW_NAMES: dict[int, str] = {
    0: "nhập điểm",
    1: "ký sổ điểm",
    2: "GVCN ký học bạ",
    3: "PHT ký duyệt học bạ",
    4: "Hiệu trưởng ký phê duyệt học bạ",
}
"""What each window is for, as its name reads in a sentence ("Hạn ký sổ điểm …")."""
STEP_TITLES: dict[int, str] = {step: name[0].upper() + name[1:] for step, name in WINDOW_NAMES.items()}


def periods_of(step: int) -> tuple[Period, ...]:
    """The periods a step has a window in: semesters for sheets, the year for records."""
    return (Period.hk1, Period.hk2) if step in SHEET_STEPS else (Period.year,)


def valid_pair(period: str, step: int) -> bool:
    return step in STEPS and period in {p.value for p in periods_of(step)}


def period_label(period: str, school_year: str) -> str:
    return TERM_LABELS.get(period) or f"năm học {school_year}"


def day(value: date) -> str:
    return value.strftime("%d/%m/%Y")


def opening(opens_on: date) -> datetime:
    """The first moment of the opening day, in the school's time zone."""
    return datetime.combine(opens_on, time(), SCHOOL_TZ)


def deadline(closes_on: date) -> datetime:
    """The first moment after the closing day (the closing day counts whole)."""
    return datetime.combine(closes_on + timedelta(days=1), time(), SCHOOL_TZ)


def lateness(closes_on: date, finished_at: datetime | None, now: datetime) -> timedelta:
    """How long past the closing day an item was finished, or is still unfinished at `now`;
    zero when it was (or still can be) on time. Moments must be aware."""
    late = (finished_at or now) - deadline(closes_on)
    return late if late > timedelta(0) else timedelta(0)


def late_days(late: timedelta) -> float:
    """Lateness in days, to one decimal hour's precision (for reports)."""
    return round(late.total_seconds() / 86400, 2)


@dataclass(frozen=True)
class Extension:
    """A later closing date for one teacher or one class (the fields the rules need)."""

    closes_on: date
    teacher_id: object | None
    class_name: str | None
    reason: str


@dataclass(frozen=True)
class EffectiveWindow:
    """The window in force for one step, period and (optionally) teacher or class: the school's
    dates, with its closing pushed to the latest extension that applies."""

    school_year: str
    period: str
    step: int
    opens_on: date
    base_closes_on: date
    """The school's closing day: lateness is counted from it, extension or not."""
    closes_on: date
    """The day the action is allowed until (the extension's, when one applies)."""
    extension: Extension | None = None

    @property
    def name(self) -> str:
        """ "Hạn ký sổ điểm Học kỳ I"."""
        return f"Hạn {WINDOW_NAMES[self.step]} {period_label(self.period, self.school_year)}"

    @property
    def label(self) -> str:
        """ "Hạn ký sổ điểm Học kỳ I: 05/09/2026 – 20/12/2026" (with the extension when one applies)."""
        text = f"{self.name}: {day(self.opens_on)} – {day(self.base_closes_on)}"
        if self.extension is not None:
            text += f", gia hạn đến {day(self.closes_on)}"
        return text

    def state_at(self, moment: datetime) -> str:
        """`not_open`, `open` or `closed` at an aware moment."""
        if moment < opening(self.opens_on):
            return "not_open"
        return "open" if moment < deadline(self.closes_on) else "closed"

    def lateness(self, finished_at: datetime | None, now: datetime) -> timedelta:
        """Counted from the school's closing day: an extension lets the work be done, late."""
        return lateness(self.base_closes_on, finished_at, now)

    def refusal(self, field: str, moment: datetime) -> Problem:
        """The 409 of an action at `moment` outside this window, naming it."""
        return Problem(
            409,
            f"{self.label} {'chưa mở' if self.state_at(moment) == 'not_open' else 'đã đóng'}",
            f"the window of step {self.step} ({self.period}) is not open",
            field=field,
            extra={
                "code": "window_closed",
                "window": {
                    "school_year": self.school_year,
                    "period": self.period,
                    "step": self.step,
                    "opens_on": self.opens_on.isoformat(),
                    "closes_on": self.closes_on.isoformat(),
                },
            },
        )


def effective(
    school_year: str,
    period: str,
    step: int,
    opens_on: date,
    closes_on: date,
    extensions: list[Extension],
    *,
    teacher_id: object | None = None,
    class_name: str | None = None,
) -> EffectiveWindow:
    """The school's window with the latest extension granted to this teacher or this class."""
    applying = [
        e
        for e in extensions
        if (e.teacher_id is not None and e.teacher_id == teacher_id)
        or (e.class_name is not None and e.class_name == class_name)
    ]
    best = max(applying, key=lambda e: e.closes_on, default=None)
    if best is None or best.closes_on <= closes_on:
        return EffectiveWindow(school_year, period, step, opens_on, closes_on, closes_on)
    return EffectiveWindow(school_year, period, step, opens_on, closes_on, best.closes_on, best)
