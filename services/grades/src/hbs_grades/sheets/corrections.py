"""Correction of a signed score sheet (Đ9): minutes confirmed by the board, the old version kept.

The board opens it with the minutes' number, date, who was present, the cells it corrects and
why; the sheet reopens for its teacher, who may change those cells only (`sheets/entry.py`), every
changed cell is logged against the correction, the board member signs the minutes
(`sheets/minutes.py`), and the teacher signs the sheet again through step 1 (`sheets/handlers.py`
closes the correction then). Signing keeps every version of a subject: the newest is current,
so the old PDF then verifies as superseded. The class's year records go back to be signed again
as a new edition, and their content carries the number of corrected cells and their subjects.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from hbs_grades import audit
from hbs_grades.corrections import CorrectionRepository, Corrections, Minutes
from hbs_grades.models import ScoreSheet, SheetCorrection, SheetState
from hbs_grades.records.service import YearRecordService
from hbs_grades.sheets.cells import assessment_keys, column_label
from hbs_grades.sheets.reading import SheetReader, SheetView, stale
from hbs_grades.sheets.workflow import SHEETS, SheetAction
from hbs_grades.workflow import wrong_state
from hbs_shared.auth import Principal
from hbs_shared.problems import Problem

CORRECTABLE_EXTRA = ("comment",)
"""Besides the assessments (ĐĐGtx k, ĐĐGgk, ĐĐGck), a correction may change a student's comment."""


@dataclass(frozen=True)
class CorrectedCell:
    """A cell the minutes put under the correction: a student's column on the sheet."""

    student_id: uuid.UUID
    column: str


def listed_cells(view: SheetView, cells: Sequence[CorrectedCell]) -> list[dict[str, Any]]:
    """The minutes' cells as the correction keeps them (class-list order, with the signed value);
    a 422 naming the first cell that is not on the sheet or is listed twice."""
    lines = {line.student.id: line for line in view.lines}
    columns = [*assessment_keys(view.sheet.regular_count), *CORRECTABLE_EXTRA]
    seen: set[tuple[uuid.UUID, str]] = set()
    for index, cell in enumerate(cells):
        line = lines.get(cell.student_id)
        if line is None:
            raise Problem(
                422,
                "Ô điều chỉnh: học sinh không có trong sổ điểm",
                f"student {cell.student_id} is not on the sheet",
                field=f"cells[{index}].student_id",
            )
        if cell.column not in columns:
            raise Problem(
                422,
                f"Ô điều chỉnh: sổ điểm không có cột “{cell.column}” "
                f"(các cột: {', '.join(column_label(c) for c in columns)})",
                f"column {cell.column!r} is not on the sheet",
                field=f"cells[{index}].column",
            )
        if (cell.student_id, cell.column) in seen:
            raise Problem(
                422,
                f"Ô điều chỉnh ghi hai lần: {line.student.full_name} – {column_label(cell.column)}",
                "a cell is listed twice",
                field=f"cells[{index}]",
            )
        seen.add((cell.student_id, cell.column))
    order = {column: position for position, column in enumerate(columns)}
    return [
        {
            "student_id": str(line.student.id),
            "column": column,
            "old_value": line.cells.value(column),
        }
        for line in view.lines
        for column in sorted((c for s, c in seen if s == line.student.id), key=order.__getitem__)
    ]


def open_cells(correction: SheetCorrection | None) -> set[tuple[str, str]] | None:
    """The (student id, column) pairs an open correction lets change; None when the correction
    predates listed cells (any cell may change, as it could then)."""
    if correction is None or not correction.cells:
        return None
    return {(str(cell["student_id"]), str(cell["column"])) for cell in correction.cells}


async def require_signed_minutes(session: AsyncSession, sheet: ScoreSheet) -> None:
    """A sheet corrected under minutes is signed again only once the board member has signed the
    minutes (Đ9.2: the change rests on minutes the board confirmed); a 409 naming them otherwise.
    A correction from before minutes listed their cells has no minutes to sign: it is not held."""
    if sheet.correction_id is None:
        return
    correction = await CorrectionRepository(SheetCorrection, SheetCorrection.sheet_id).get(
        session, sheet.school_id, sheet.correction_id
    )
    if correction is None or not correction.cells or correction.minutes_document_id is not None:
        return
    raise Problem(
        409,
        f"Biên bản điều chỉnh số {correction.minutes_number} chưa được {correction.opened_by_name} ký số: "
        "ký lại sổ điểm sau khi biên bản được ký",
        "the correction's minutes are not signed yet",
        field="correction_id",
    )


class SheetCorrections(Corrections[ScoreSheet, SheetCorrection]):
    board_only = "Chỉ Hiệu trưởng hoặc Phó Hiệu trưởng mở điều chỉnh sổ điểm đã ký"
    field = "sheet_id"
    kind = "sheet"

    def __init__(self, reader: SheetReader, records: YearRecordService) -> None:
        super().__init__(CorrectionRepository(SheetCorrection, SheetCorrection.sheet_id))
        self.reader = reader
        self.records = records

    async def visible(self, session: AsyncSession, principal: Principal, subject_id: uuid.UUID) -> ScoreSheet:
        return await self.reader.get_visible(session, principal, subject_id)

    def stale(self, expected: int, current: int) -> Problem:
        return stale(expected, current)

    def require_correctable(self, subject: ScoreSheet) -> None:
        state = SheetState(subject.state)
        if state is not SheetState.signed:
            raise wrong_state(
                f"Sổ điểm đang ở trạng thái “{SHEETS.label(state)}”: chỉ điều chỉnh sổ điểm đã ký",
                f"only a signed sheet is corrected (this one is {state.value})",
            )

    async def names(self, session: AsyncSession, subject: ScoreSheet) -> dict[str, Any]:
        return audit.sheet_details(subject)

    async def reopen(
        self,
        session: AsyncSession,
        principal: Principal,
        subject: ScoreSheet,
        correction: SheetCorrection,
        minutes: Minutes,
    ) -> None:
        subject.state = SHEETS.next(SheetState(subject.state), SheetAction.correct)
        subject.correction_id = correction.id
        subject.signing_request_id = None
        subject.last_error = None
        await self.records.reopen_class(
            session,
            subject.school_id,
            subject.school_year,
            subject.class_name,
            f"Điều chỉnh sổ điểm {subject.subject} ({subject.term}) theo biên bản số {minutes.number}",
            principal,
        )

    async def open_sheet(
        self,
        session: AsyncSession,
        principal: Principal,
        sheet_id: uuid.UUID,
        *,
        expected: int,
        minutes: Minutes,
        present: Sequence[str],
        cells: Sequence[CorrectedCell],
    ) -> tuple[ScoreSheet, SheetCorrection]:
        """Open the correction with the minutes in full: a wrong cell is a 422 and the whole
        transaction (the sheet and the class's records reopened) is rolled back with it."""

        async def fill(sheet: ScoreSheet, correction: SheetCorrection) -> dict[str, Any]:
            view = await self.reader.view(session, sheet)
            correction.present = list(present)
            correction.cells = listed_cells(view, cells)
            names = {str(line.student.id): line.student.full_name for line in view.lines}
            return {
                "present": list(present),
                "cells": [
                    f"{names[c['student_id']]} – {column_label(c['column'])} ({c['old_value'] or 'trống'})"
                    for c in correction.cells
                ],
            }

        return await self.open(session, principal, sheet_id, expected=expected, minutes=minutes, fill=fill)

    async def current(self, session: AsyncSession, sheet: ScoreSheet) -> SheetCorrection | None:
        """The correction the sheet is open under, if any."""
        if sheet.correction_id is None:
            return None
        return await self.repository.get(session, sheet.school_id, sheet.correction_id)
