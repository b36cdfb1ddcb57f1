"""The board's progress view (Đ4.1): per department, class, teacher and step, what is done, what
is missing, what is late and by how long, and who must act on each missing item."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession

from hbs_grades.access import BOARD_ROLES
from hbs_grades.progress.deadlines import Deadlines, NoDeadlines
from hbs_grades.progress.departments import RECORDS, department_of
from hbs_grades.progress.repository import ProgressRepository
from hbs_grades.progress.steps import (
    DONE_RECORD_STATES,
    RESPONSIBLE_ROLE,
    SHEET_STEPS,
    STEP_TITLES,
    ProgressStep,
    is_done,
    state_label,
)
from hbs_grades.roster.repository import NO_TEACHER
from hbs_shared.auth import Principal
from hbs_shared.problems import Problem
from hbs_shared.roles import Role

BOARD_ONLY = Problem(
    403,
    "Chỉ Ban Giám hiệu xem được tiến độ toàn trường",
    "the board (principal, vice-principals) only",
    field="role",
)
UNASSIGNED = "Chưa phân công giáo viên"
BOARD_NAMES = {Role.vice_principal: "Phó Hiệu trưởng", Role.principal: "Hiệu trưởng"}


class GroupBy(StrEnum):
    department = "department"
    class_name = "class"
    teacher = "teacher"
    subject = "subject"
    step = "step"


@dataclass
class Work:
    """One thing that must be done at a step: a score sheet, or a class's year records."""

    step: ProgressStep
    term: str | None
    class_name: str
    subject_code: str | None
    subject: str | None
    sheet_id: uuid.UUID | None
    responsible_id: uuid.UUID | None
    responsible_name: str
    responsible_role: Role
    counts: dict[str, int]
    """States of the sheet (one) or of the class's records."""
    due_at: datetime | None = None
    late_seconds: int = 0

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def done(self) -> int:
        return sum(n for state, n in self.counts.items() if is_done(self.step, state))

    @property
    def missing(self) -> int:
        return self.total - self.done

    @property
    def department(self) -> str:
        return department_of(self.subject_code) if self.step in SHEET_STEPS else RECORDS

    @property
    def state(self) -> str:
        """The sheet's state; for records, the state most of them are still in."""
        behind = {s: n for s, n in self.counts.items() if not is_done(self.step, s)} or self.counts
        return max(behind.items(), key=lambda kv: kv[1])[0] if behind else ""

    @property
    def state_label(self) -> str:
        return state_label(self.step, self.state)


@dataclass
class Filters:
    term: str | None = None
    class_name: str | None = None
    subject_code: str | None = None
    teacher_id: uuid.UUID | None = None
    department: str | None = None
    state: str | None = None
    late_only: bool = False

    def keep(self, work: Work) -> bool:
        if self.class_name and work.class_name != self.class_name:
            return False
        if self.subject_code and work.subject_code != self.subject_code:
            return False
        if self.teacher_id and work.responsible_id != self.teacher_id:
            return False
        if self.department and work.department != self.department:
            return False
        if self.state and not work.counts.get(self.state):
            return False
        return not (self.late_only and not work.late_seconds)


@dataclass
class Tally:
    key: str
    label: str
    total: int = 0
    done: int = 0
    late: int = 0
    """Missing units whose window has closed."""
    max_late_seconds: int = 0
    counts: Counter[str] = field(default_factory=Counter)

    @property
    def missing(self) -> int:
        return self.total - self.done

    def add(self, work: Work) -> None:
        self.total += work.total
        self.done += work.done
        self.counts.update(work.counts)
        if work.late_seconds:
            self.late += work.missing
            self.max_late_seconds = max(self.max_late_seconds, work.late_seconds)


@dataclass
class Progress:
    school_year: str
    now: datetime
    works: list[Work]
    """Every unit of every step (filters applied)."""

    def of(self, step: ProgressStep) -> list[Work]:
        return [w for w in self.works if w.step is step]

    def steps(self) -> list[Tally]:
        out = []
        for step in ProgressStep:
            tally = Tally(step.value, STEP_TITLES[step])
            for work in self.of(step):
                tally.add(work)
            out.append(tally)
        return out

    def groups(self, step: ProgressStep, group_by: GroupBy) -> list[Tally]:
        if group_by is GroupBy.step:
            return self.steps()
        keyed: dict[str, Tally] = {}
        for work in self.of(step):
            key, label = _key(work, group_by)
            keyed.setdefault(key, Tally(key, label)).add(work)
        return sorted(keyed.values(), key=lambda t: (-t.late, -t.missing, t.label.casefold()))

    def missing(self, step: ProgressStep | None) -> list[Work]:
        found = [w for w in self.works if (step is None or w.step is step) and w.missing]
        return sorted(
            found,
            key=lambda w: (
                -w.late_seconds,
                list(ProgressStep).index(w.step),
                w.class_name,
                w.subject or "",
                w.term or "",
            ),
        )


def _key(work: Work, group_by: GroupBy) -> tuple[str, str]:
    if group_by is GroupBy.department:
        return work.department, work.department
    if group_by is GroupBy.class_name:
        return work.class_name, work.class_name
    if group_by is GroupBy.subject:
        return work.subject_code or "", work.subject or "Học bạ"
    return (str(work.responsible_id) if work.responsible_id else work.responsible_name), work.responsible_name


class ProgressService:
    def __init__(
        self, deadlines: Deadlines | None = None, clock: Callable[[], datetime] | None = None
    ) -> None:
        self.deadlines: Deadlines = deadlines or NoDeadlines()
        """Replaced by the time windows' own (hbs_grades.windows) once they exist."""
        self.clock = clock or (lambda: datetime.now(UTC))
        self.repo = ProgressRepository()

    def require_board(self, principal: Principal) -> None:
        if not principal.has_role(*BOARD_ROLES):
            raise BOARD_ONLY

    async def progress(
        self, session: AsyncSession, school_id: str, school_year: str, filters: Filters
    ) -> Progress:
        works = await self.works(session, school_id, school_year, filters.term)
        now = self.clock()
        book = await self.deadlines.book(session, school_id, school_year)
        for work in works:
            work.due_at = book.due(work.step, work.term, work.class_name, work.responsible_id)
            if work.missing and work.due_at is not None and now > work.due_at:
                work.late_seconds = int((now - work.due_at).total_seconds())
        return Progress(school_year, now, [w for w in works if filters.keep(w)])

    async def works(
        self, session: AsyncSession, school_id: str, school_year: str, term: str | None
    ) -> list[Work]:
        works: list[Work] = []
        for sheet in await self.repo.sheets(session, school_id, school_year, term):
            teacher = None if sheet.teacher_id == NO_TEACHER else sheet.teacher_id
            for step in SHEET_STEPS:
                works.append(
                    Work(
                        step=step,
                        term=sheet.term,
                        class_name=sheet.class_name,
                        subject_code=sheet.subject_code,
                        subject=sheet.subject,
                        sheet_id=sheet.id,
                        responsible_id=teacher,
                        responsible_name=sheet.teacher_name if teacher else UNASSIGNED,
                        responsible_role=RESPONSIBLE_ROLE[step],
                        counts={str(sheet.state): 1},
                    )
                )
        homerooms = await self.repo.homerooms(session, school_id, school_year)
        for class_name, counts in sorted(
            (await self.repo.record_counts(session, school_id, school_year)).items()
        ):
            for step in DONE_RECORD_STATES:
                works.append(self._record_work(step, class_name, counts, homerooms.get(class_name)))
        return works

    @staticmethod
    def _record_work(step: ProgressStep, class_name: str, counts: dict[str, int], homeroom: object) -> Work:
        role = RESPONSIBLE_ROLE[step]
        if role is Role.homeroom_teacher:
            teacher_id = getattr(homeroom, "teacher_id", None)
            name = getattr(homeroom, "teacher_name", None) or "Lớp chưa có GVCN"
        else:
            teacher_id, name = None, BOARD_NAMES[role]
        return Work(step, None, class_name, None, None, None, teacher_id, name, role, dict(counts))


def flatten(values: Iterable[str | None]) -> list[str]:
    return sorted({v for v in values if v})
