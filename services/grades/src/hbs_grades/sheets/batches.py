"""A subject teacher signs all their ready sheets under one PIN activation (Đ8 Step 1, as the
homeroom teacher and the principal sign a class at once): which of the caller's sheets are ready
and why the others are not, then one signing request per confirmed sheet, all or nothing."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from hbs_grades.access import require_sheet_reader, require_sheet_teacher
from hbs_grades.models import ScoreSheet, SheetState
from hbs_grades.sheets.cells import column_label
from hbs_grades.sheets.corrections import require_signed_minutes
from hbs_grades.sheets.reading import stale
from hbs_grades.sheets.signing import SheetSigning
from hbs_grades.sheets.workflow import EDITABLE
from hbs_grades.windows.rules import ENTRY_STEP
from hbs_grades.windows.service import WindowsService
from hbs_shared.auth import Principal
from hbs_shared.labels import TERM_LABELS
from hbs_shared.problems import Problem

SIGNING_STEP = 1
MAX_SHEETS = 500
"""More sheets than any teacher has (a whole school's step 1 is ~900 sheets among ~60 teachers)."""


@dataclass(frozen=True)
class MissingScores:
    student_id: uuid.UUID
    full_name: str
    column_labels: list[str]


@dataclass
class Readiness:
    """One of the caller's unsigned sheets: ready (no `problem`) or why not."""

    sheet: ScoreSheet
    students: int
    problem: Problem | None = None
    missing: list[MissingScores] = field(default_factory=list)

    @property
    def ready(self) -> bool:
        return self.problem is None


def sheet_label(sheet: ScoreSheet) -> str:
    return f"Sổ điểm {sheet.subject} lớp {sheet.class_name} – {TERM_LABELS.get(sheet.term, sheet.term)}"


class SheetBatches:
    def __init__(self, signing: SheetSigning, windows: WindowsService) -> None:
        self.signing = signing
        self.reader = signing.reader
        self.windows = windows

    async def readiness(self, session: AsyncSession, sheet: ScoreSheet) -> Readiness:
        """Whether the sheet can be submitted (if open) and signed now, as its own signing would."""
        state = SheetState(sheet.state)
        if state not in EDITABLE:
            label = "đang được ký số" if state is SheetState.signing else "đã ký"
            return Readiness(
                sheet, 0, Problem(409, f"{sheet_label(sheet)} {label}", state.value, field="state")
            )
        view = await self.reader.view(session, sheet)
        readiness = Readiness(sheet, len(view.lines))
        gaps = [line for line in view.lines if line.missing]
        if not view.lines:
            readiness.problem = Problem(
                422, f"{sheet_label(sheet)}: lớp chưa có học sinh", "no student on the sheet", field="rows"
            )
        elif gaps:
            readiness.missing = [
                MissingScores(
                    line.student.id, line.student.full_name, [column_label(k) for k in line.missing]
                )
                for line in gaps
            ]
            names = ", ".join(m.full_name for m in readiness.missing[:5])
            more = f" và {len(gaps) - 5} học sinh khác" if len(gaps) > 5 else ""
            readiness.problem = Problem(
                422,
                f"{sheet_label(sheet)}: còn {len(gaps)} học sinh thiếu điểm ({names}{more})",
                "; ".join(f"{m.full_name}: {', '.join(m.column_labels)}" for m in readiness.missing[:20]),
                field="rows",
            )
        else:
            try:
                await require_signed_minutes(session, sheet)
                await self.windows.require_open_for_sheet(session, sheet, SIGNING_STEP)
            except Problem as refused:
                readiness.problem = refused
        return readiness

    async def preview(self, session: AsyncSession, principal: Principal) -> tuple[list[Readiness], int]:
        """The caller's own sheets not yet signed, each ready or not with the reason; and how
        many of theirs are signed already."""
        own = await self.reader.sheets.for_teacher(session, principal.school_id, principal.user_id)
        unsigned = [s for s in own if SheetState(s.state) is not SheetState.signed]
        return [await self.readiness(session, s) for s in unsigned], len(own) - len(unsigned)

    async def sign(
        self,
        session: AsyncSession,
        principal: Principal,
        chosen: Sequence[tuple[uuid.UUID, int]],
        activation_id: uuid.UUID,
    ) -> tuple[uuid.UUID, list[ScoreSheet]]:
        """Every chosen sheet (id, version the teacher confirmed) is checked before anything is
        written; the first that is not the caller's, has changed or is not ready refuses the whole
        batch with a problem naming it (`sheets[i]…`), so nothing is half-signed."""
        seen: set[uuid.UUID] = set()
        sheets: list[ScoreSheet] = []
        for index, (sheet_id, expected) in enumerate(chosen):
            where = f"sheets[{index}]"
            if sheet_id in seen:
                raise Problem(
                    422, "Một sổ điểm được chọn hai lần", f"{sheet_id} twice", field=f"{where}.sheet_id"
                )
            seen.add(sheet_id)
            try:
                sheet = require_sheet_reader(
                    principal, await self.reader.sheets.get(session, principal.school_id, sheet_id)
                )
                require_sheet_teacher(principal, sheet)
            except Problem as refused:
                raise _naming(refused, f"{where}.sheet_id", f"{refused.title} ({sheet_id})") from None
            label = sheet_label(sheet)
            if sheet.version != expected:
                changed = stale(expected, sheet.version)
                raise _naming(changed, f"{where}.expected_version", f"{label}: {changed.title}")
            readiness = await self.readiness(session, sheet)
            if (why := readiness.problem) is not None:
                title = why.title if why.title.startswith(label) else f"{label}: {why.title}"
                raise _naming(why, where, title, missing=readiness.missing)
            sheets.append(sheet)
        batch_id = uuid.uuid4()
        for sheet in sheets:
            if SheetState(sheet.state) is SheetState.open:
                await self.signing.submit(session, principal, sheet.id, sheet.version)
                self.windows.mark_sheet(session, sheet, ENTRY_STEP)  # entry ends with the submission
            await self.signing.request_signature(
                session, principal, sheet.id, sheet.version, activation_id, batch_id=batch_id
            )
            self.windows.mark_sheet(session, sheet, SIGNING_STEP, request_id=sheet.signing_request_id)
        return batch_id, sheets

    async def batch(
        self, session: AsyncSession, principal: Principal, batch_id: uuid.UUID
    ) -> list[ScoreSheet]:
        """The batch's sheets the caller may read (its teacher, the board); 404 when none."""
        found = [
            sheet
            for sheet in await self.reader.sheets.for_sign_batch(session, principal.school_id, batch_id)
            if _readable(principal, sheet)
        ]
        if not found:
            raise Problem(404, "Không tìm thấy lô ký sổ điểm", "no such batch", field="batch_id")
        return found


def _readable(principal: Principal, sheet: ScoreSheet) -> bool:
    try:
        require_sheet_reader(principal, sheet)
    except Problem:
        return False
    return True


def _naming(refused: Problem, where: str, title: str, *, missing: Sequence[MissingScores] = ()) -> Problem:
    """The refusal of one sheet as the batch's: the field says which of the chosen sheets."""
    extra = dict(refused.extra)
    if missing:
        extra["missing"] = [
            {"student_id": str(m.student_id), "full_name": m.full_name, "column_labels": m.column_labels}
            for m in missing
        ]
    return Problem(refused.status, title, refused.detail, field=where, extra=extra)
