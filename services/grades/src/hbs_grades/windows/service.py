"""Time windows (Đ5) as use cases: the board sets them and extends them for one teacher or class;
the sheet and record endpoints ask whether a step is open; the workflow's moments are marked so
that lateness can be counted afterwards (compliance, the board's progress view).

Services never commit: the endpoint or the event handler does, once."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from hbs_grades import audit
from hbs_grades.access import BOARD_ROLES
from hbs_grades.models import ScoreSheet, YearRecord
from hbs_grades.roster.repository import RosterRepository
from hbs_grades.windows.models import StepMark, TimeWindow, WindowExtension
from hbs_grades.windows.repository import WindowRepository
from hbs_grades.windows.rules import (
    ENTRY_STEP,
    WINDOW_NAMES,
    EffectiveWindow,
    Extension,
    Period,
    day,
    effective,
    period_label,
    valid_pair,
)
from hbs_shared.auth import Principal
from hbs_shared.problems import Problem

Clock = Callable[[], datetime]


@dataclass(frozen=True)
class WindowSpec:
    """One window as the board sets it: both dates, or neither to remove it."""

    period: str
    step: int
    opens_on: date | None
    closes_on: date | None


@dataclass(frozen=True)
class ExtensionSpec:
    school_year: str
    period: str
    step: int
    closes_on: date
    reason: str
    teacher_id: uuid.UUID | None = None
    class_name: str | None = None


def _extension(row: WindowExtension) -> Extension:
    return Extension(row.closes_on, row.teacher_id, row.class_name, row.reason)


@dataclass(frozen=True)
class YearWindows:
    """Every window and extension of a school year, loaded once: `for_` answers without SQL
    (the compliance report and the progress view ask it for every item)."""

    school_year: str
    windows: list[TimeWindow]
    extensions: list[WindowExtension]

    def for_(
        self, period: str, step: int, *, teacher_id: uuid.UUID | None = None, class_name: str | None = None
    ) -> EffectiveWindow | None:
        base = next((w for w in self.windows if w.period == period and w.step == step), None)
        if base is None:
            return None
        extensions = [_extension(e) for e in self.extensions if e.period == period and e.step == step]
        return effective(
            self.school_year,
            period,
            step,
            base.opens_on,
            base.closes_on,
            extensions,
            teacher_id=teacher_id,
            class_name=class_name,
        )


def require_board(principal: Principal, title: str) -> None:
    if not principal.has_role(*BOARD_ROLES):
        raise Problem(403, title, "the board (principal, vice-principals) only", field="role")


class WindowsService:
    def __init__(self, repository: WindowRepository | None = None, clock: Clock | None = None) -> None:
        self.repository = repository or WindowRepository()
        self.roster = RosterRepository()
        self.clock: Clock = clock or (lambda: datetime.now(UTC))

    # ------------------------------------------------------------------ reading

    async def year(self, session: AsyncSession, school_id: str, school_year: str) -> YearWindows:
        return YearWindows(
            school_year,
            await self.repository.windows(session, school_id, school_year),
            await self.repository.extensions(session, school_id, school_year),
        )

    async def window_for(
        self,
        session: AsyncSession,
        school_id: str,
        school_year: str,
        period: str,
        step: int,
        teacher_id: uuid.UUID | None = None,
        class_name: str | None = None,
    ) -> EffectiveWindow | None:
        """The window in force for this step (with the latest extension for this teacher or
        class), or None when the school set none: a step without a window is always open."""
        base, extensions = await self.repository.window_with_extensions(
            session, school_id, school_year, period, step
        )
        if base is None:
            return None
        return effective(
            school_year,
            period,
            step,
            base.opens_on,
            base.closes_on,
            [_extension(e) for e in extensions],
            teacher_id=teacher_id,
            class_name=class_name,
        )

    async def require_open(
        self,
        session: AsyncSession,
        school_id: str,
        school_year: str,
        period: str,
        step: int,
        *,
        teacher_id: uuid.UUID | None,
        class_name: str | None,
        field: str,
    ) -> EffectiveWindow | None:
        """A 409 naming the window when the step is not open now for this teacher or class."""
        window = await self.window_for(session, school_id, school_year, period, step, teacher_id, class_name)
        now = self.clock()
        if window is not None and window.state_at(now) != "open":
            raise window.refusal(field, now)
        return window

    async def require_open_for_sheet(self, session: AsyncSession, sheet: ScoreSheet, step: int) -> None:
        """Entry (step 0) or signing (step 1) of a sheet, in its semester's window. A sheet reopened
        under a correction (Đ9) follows the board's minutes, not the window."""
        if sheet.correction_id is not None or sheet.term not in (Period.hk1, Period.hk2):
            return
        await self.require_open(
            session,
            sheet.school_id,
            sheet.school_year,
            sheet.term,
            step,
            teacher_id=sheet.teacher_id,
            class_name=sheet.class_name,
            field="sheet_id",
        )

    # ------------------------------------------------------------------ the board sets them

    async def set_windows(
        self, session: AsyncSession, principal: Principal, school_year: str, specs: Sequence[WindowSpec]
    ) -> list[TimeWindow]:
        """Set (or remove) the given windows of a year, all or nothing; the others stay."""
        require_board(principal, "Chỉ Ban Giám hiệu đặt thời hạn được")
        seen: set[tuple[str, int]] = set()
        for index, spec in enumerate(specs):
            where = f"windows[{index}]"
            if not valid_pair(spec.period, spec.step):
                raise Problem(
                    422,
                    "Thời hạn không hợp lệ: nhập điểm và ký sổ điểm theo học kỳ, ký học bạ theo năm học",
                    f"no window for step {spec.step} in period {spec.period}",
                    field=f"{where}.period",
                )
            if (spec.period, spec.step) in seen:
                raise Problem(422, "Một thời hạn được nhập hai lần", "duplicate window", field=where)
            seen.add((spec.period, spec.step))
            if (spec.opens_on is None) != (spec.closes_on is None):
                missing = "opens_on" if spec.opens_on is None else "closes_on"
                raise Problem(
                    422, "Cần cả ngày mở và ngày đóng", f"{missing} is missing", field=f"{where}.{missing}"
                )
            if spec.opens_on is not None and spec.closes_on is not None and spec.closes_on < spec.opens_on:
                raise Problem(
                    422,
                    f"Ngày đóng ({day(spec.closes_on)}) trước ngày mở ({day(spec.opens_on)})",
                    "closes_on before opens_on",
                    field=f"{where}.closes_on",
                )
        now = self.clock()
        for spec in specs:
            row = await self.repository.window(
                session, principal.school_id, school_year, spec.period, spec.step
            )
            if spec.opens_on is None or spec.closes_on is None:
                if row is not None:
                    await self._audit_window(session, principal, row, removed=True)
                    await self.repository.delete_window(session, row)
                continue
            if row is None:
                row = TimeWindow(
                    id=uuid.uuid4(),
                    school_id=principal.school_id,
                    school_year=school_year,
                    period=spec.period,
                    step=spec.step,
                )
                self.repository.add(session, row)
            row.opens_on, row.closes_on = spec.opens_on, spec.closes_on
            row.set_by, row.set_by_name, row.set_at = principal.user_id, principal.name, now
            await self._audit_window(session, principal, row, removed=False)
        await session.flush()
        return await self.repository.windows(session, principal.school_id, school_year)

    async def extend(
        self, session: AsyncSession, principal: Principal, spec: ExtensionSpec
    ) -> WindowExtension:
        """Gia hạn for one teacher or one class: a later closing day, with the reason kept."""
        require_board(principal, "Chỉ Ban Giám hiệu gia hạn được")
        if (spec.teacher_id is None) == (spec.class_name is None):
            raise Problem(
                422,
                "Chọn một giáo viên hoặc một lớp để gia hạn",
                "teacher_id or class_name",
                field="teacher_id",
            )
        if not valid_pair(spec.period, spec.step):
            raise Problem(422, "Thời hạn không hợp lệ", "no such window", field="period")
        reason = spec.reason.strip()
        if not reason:
            raise Problem(422, "Cần ghi lý do gia hạn", "reason is empty", field="reason")
        if spec.teacher_id is not None and spec.step in (3, 4):
            raise Problem(
                422,
                "Bước 3 và 4 do Ban Giám hiệu ký: gia hạn theo lớp",
                "the board's steps are extended per class",
                field="teacher_id",
            )
        base = await self.window_for(session, principal.school_id, spec.school_year, spec.period, spec.step)
        if base is None:
            raise Problem(
                422, "Bước này chưa đặt thời hạn, không cần gia hạn", "no window to extend", field="step"
            )
        if spec.closes_on <= base.base_closes_on:
            raise Problem(
                422,
                f"Ngày gia hạn phải sau ngày đóng {day(base.base_closes_on)}",
                "closes_on not after the window's closing day",
                field="closes_on",
            )
        teacher_name = ""
        assignments = await self.roster.active_assignments(session, principal.school_id, spec.school_year)
        if spec.teacher_id is not None:
            mine = [a for a in assignments if a.teacher_id == spec.teacher_id]
            if not mine:
                raise Problem(
                    422,
                    "Không tìm thấy giáo viên được phân công năm học này",
                    "unknown teacher",
                    field="teacher_id",
                )
            teacher_name = mine[0].teacher_name
        elif spec.class_name not in {a.class_name for a in assignments}:
            raise Problem(422, "Không tìm thấy lớp trong năm học này", "unknown class", field="class_name")
        row = WindowExtension(
            id=uuid.uuid4(),
            school_id=principal.school_id,
            school_year=spec.school_year,
            period=spec.period,
            step=spec.step,
            teacher_id=spec.teacher_id,
            teacher_name=teacher_name,
            class_name=spec.class_name,
            closes_on=spec.closes_on,
            reason=reason,
            granted_by=principal.user_id,
            granted_by_name=principal.name,
            granted_at=self.clock(),
        )
        self.repository.add(session, row)
        await session.flush()
        await audit.record(
            session,
            school_id=row.school_id,
            actor=principal,
            action=audit.AuditAction.window_extended,
            subject=("window", row.id),
            details={
                "window": base.name,
                "school_year": row.school_year,
                "teacher_name": row.teacher_name or None,
                "class_name": row.class_name,
                "closes_on": row.closes_on,
                "base_closes_on": base.base_closes_on,
                "reason": row.reason,
            },
        )
        return row

    async def _audit_window(
        self, session: AsyncSession, principal: Principal, row: TimeWindow, *, removed: bool
    ) -> None:
        """Đặt thời hạn, or its removal: the window's name and dates, never only its id."""
        await audit.record(
            session,
            school_id=row.school_id,
            actor=principal,
            action=audit.AuditAction.window_set,
            subject=("window", row.id),
            details={
                "window": f"Hạn {WINDOW_NAMES[row.step]} {period_label(row.period, row.school_year)}",
                "school_year": row.school_year,
                "opens_on": None if removed else row.opens_on,
                "closes_on": None if removed else row.closes_on,
                "removed": removed,
            },
        )

    async def extensions(
        self, session: AsyncSession, principal: Principal, school_year: str
    ) -> list[WindowExtension]:
        require_board(principal, "Chỉ Ban Giám hiệu xem được các lần gia hạn")
        return await self.repository.extensions(session, principal.school_id, school_year)

    # ------------------------------------------------------------------ the workflow's moments

    def mark_sheet(
        self, session: AsyncSession, sheet: ScoreSheet, step: int, *, request_id: uuid.UUID | None = None
    ) -> None:
        """Entry finished (step 0, done now) or the signature asked for (step 1, done when signing
        replies). Under a correction the moment is not the window's: not marked."""
        if sheet.correction_id is not None or sheet.term not in (Period.hk1, Period.hk2):
            return
        now = self.clock()
        self.repository.add(
            session,
            StepMark(
                school_id=sheet.school_id,
                school_year=sheet.school_year,
                period=sheet.term,
                step=step,
                kind="done",
                item_kind="sheet",
                item_id=sheet.id,
                class_name=sheet.class_name,
                subject=sheet.subject,
                person_id=sheet.teacher_id,
                person_name=sheet.teacher_name,
                request_id=request_id,
                requested_at=now,
                done_at=now if step == ENTRY_STEP else None,
                note="",
            ),
        )

    def mark_records(
        self, session: AsyncSession, principal: Principal, step: int, records: Sequence[YearRecord]
    ) -> None:
        """Steps 2–4 asked for by `principal`: each record's mark is done when signing replies."""
        now = self.clock()
        for record in records:
            self.repository.add(
                session,
                StepMark(
                    school_id=record.school_id,
                    school_year=record.school_year,
                    period=Period.year.value,
                    step=step,
                    kind="done",
                    item_kind="record",
                    item_id=record.id,
                    class_name=record.class_name,
                    subject="",
                    person_id=principal.user_id,
                    person_name=principal.name,
                    request_id=record.request_id,
                    requested_at=now,
                    done_at=None,
                    note="",
                ),
            )

    async def mark_returned(
        self, session: AsyncSession, principal: Principal, records: Sequence[YearRecord], reason: str
    ) -> None:
        """Records given back to their homeroom teacher (counted against that teacher's step 2)."""
        now = self.clock()
        homeroom: dict[str, tuple[uuid.UUID | None, str]] = {}
        for record in records:
            if record.class_name not in homeroom:
                found = await self.roster.homeroom_teachers(
                    session, record.school_id, record.school_year, record.class_name
                )
                homeroom[record.class_name] = (
                    (found[0].teacher_id, found[0].teacher_name) if found else (None, "")
                )
            person_id, person_name = homeroom[record.class_name]
            self.repository.add(
                session,
                StepMark(
                    school_id=record.school_id,
                    school_year=record.school_year,
                    period=Period.year.value,
                    step=2,
                    kind="returned",
                    item_kind="record",
                    item_id=record.id,
                    class_name=record.class_name,
                    subject="",
                    person_id=person_id,
                    person_name=person_name,
                    request_id=None,
                    requested_at=now,
                    done_at=now,
                    note=f"{principal.name}: {reason}"[:2000],
                ),
            )
        await session.flush()

    async def signed(
        self, session: AsyncSession, school_id: str, request_id: uuid.UUID, signed_at: datetime
    ) -> None:
        """Signing completed the school's request: its step is done at the signature's moment."""
        await self.repository.complete(session, school_id, request_id, signed_at)
