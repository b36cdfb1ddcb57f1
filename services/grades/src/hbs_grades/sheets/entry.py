"""Entering scores: a sheet is saved all or nothing, every changed cell audited."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from hbs_grades import audit
from hbs_grades.audit import AuditAction
from hbs_grades.corrections import CorrectionRepository
from hbs_grades.models import SheetCorrection, SheetState
from hbs_grades.results import Status
from hbs_grades.sheets.cells import (
    CellError,
    Cells,
    assessment_keys,
    column_label,
    missing,
    normalise_cell,
    parse_status,
    semester_result,
)
from hbs_grades.sheets.corrections import open_cells
from hbs_grades.sheets.reading import SheetLine, SheetReader, SheetView, stale
from hbs_grades.sheets.repository import ScoreSheetRepository
from hbs_grades.sheets.workflow import EDITABLE, SHEETS
from hbs_shared.auth import Principal
from hbs_shared.curriculum import Assessment
from hbs_shared.problems import Problem


@dataclass(frozen=True)
class CellProblem:
    """One refused cell: which student, which column, what was typed, why."""

    row: int
    student_id: uuid.UUID | None
    full_name: str
    column: str
    value: str | None
    message: str

    def field_path(self) -> str:
        if self.column.startswith("regular_"):
            return f"rows[{self.row}].regular[{int(self.column.removeprefix('regular_')) - 1}]"
        return f"rows[{self.row}].{self.column}"

    def as_dict(self) -> dict[str, object]:
        return {
            "field": self.field_path(),
            "row": self.row,
            "student_id": str(self.student_id) if self.student_id else None,
            "full_name": self.full_name,
            "column": self.column,
            "column_label": column_label(self.column),
            "value": self.value,
            "message": self.message,
        }


def cells_problem(problems: Sequence[CellProblem]) -> Problem:
    first = problems[0]
    return Problem(
        422,
        "Có ô không hợp lệ, chưa lưu gì",
        "; ".join(f"{p.full_name or p.student_id} – {p.column}: {p.message}" for p in problems[:20]),
        field=first.field_path(),
        extra={"errors": [p.as_dict() for p in problems]},
    )


@dataclass(frozen=True)
class RowChange:
    """What a save asks for one student: column key → typed text (None or "" erases)."""

    student_id: uuid.UUID
    cells: Mapping[str, str | None]


class SheetEntry:
    def __init__(self, reader: SheetReader, sheets: ScoreSheetRepository | None = None) -> None:
        self.reader = reader
        self.sheets = sheets or ScoreSheetRepository()
        self.corrections = CorrectionRepository(SheetCorrection, SheetCorrection.sheet_id)

    async def save(
        self,
        session: AsyncSession,
        principal: Principal,
        sheet_id: uuid.UUID,
        expected: int,
        rows: Sequence[RowChange],
        reason: str | None = None,
    ) -> SheetView:
        """Store the changed cells of a sheet, all or nothing, each change audited."""
        sheet = await self.reader.owned(session, principal, sheet_id, expected)
        state = SheetState(sheet.state)
        if state not in EDITABLE:
            raise Problem(
                409,
                "Sổ điểm đã gửi ký, không sửa được (cần thủ tục điều chỉnh có biên bản)",
                f"cannot change a sheet that is {state.value} ({SHEETS.label(state)})",
                field="state",
            )
        reason = (reason or "").strip() or None
        if state is SheetState.submitted and reason is None:
            raise Problem(
                422,
                "Sổ điểm đã nộp: cần ghi lý do sửa",
                "a change to a submitted sheet needs a reason",
                field="reason",
            )
        view = await self.reader.view(session, sheet)
        by_student = {line.student.id: line for line in view.lines}
        assessment = Assessment(sheet.assessment)
        allowed = {*assessment_keys(sheet.regular_count), "comment", "status"}
        # Under a correction after signing only the cells its minutes list may change (Đ9.2).
        correction = (
            await self.corrections.get(session, sheet.school_id, sheet.correction_id)
            if sheet.correction_id
            else None
        )
        under = open_cells(correction)

        problems: list[CellProblem] = []
        planned: list[tuple[SheetLine, dict[str, str | None]]] = []
        seen: set[uuid.UUID] = set()
        for index, row in enumerate(rows):
            line = by_student.get(row.student_id)
            if line is None or row.student_id in seen:
                message = "học sinh không có trong lớp" if line is None else "học sinh xuất hiện hai lần"
                problems.append(
                    CellProblem(index, row.student_id, "", "student_id", str(row.student_id), message)
                )
                continue
            seen.add(row.student_id)
            name = line.student.full_name
            normalised: dict[str, str | None] = {}
            for key, text in row.cells.items():
                if key not in allowed:
                    problems.append(
                        CellProblem(index, row.student_id, name, key, text, "cột không có trong sổ điểm")
                    )
                    continue
                try:
                    if key == "comment":
                        normalised[key] = (text or "").strip()[:2000] or None
                    elif key == "status":
                        status = parse_status(text)
                        if status is Status.not_assessed and not line.student.disability:
                            raise CellError("“Không đánh giá” chỉ dành cho học sinh khuyết tật theo quy định")
                        normalised[key] = status.value
                    else:
                        normalised[key] = normalise_cell(assessment, text)
                except CellError as error:
                    problems.append(CellProblem(index, row.student_id, name, key, text, str(error)))
                    continue
                if (
                    under is not None
                    and normalised[key] != line.cells.value(key)
                    and (str(row.student_id), key) not in under
                ):
                    problems.append(
                        CellProblem(
                            index,
                            row.student_id,
                            name,
                            key,
                            text,
                            f"ô {column_label(key)} của {name} không thuộc biên bản điều chỉnh "
                            f"số {correction.minutes_number if correction else ''}: không sửa được",
                        )
                    )
            planned.append((line, normalised))
        if problems:
            raise cells_problem(problems)

        now = datetime.now(UTC)
        # Read once: a mapped attribute costs a descriptor call, and the loops below run per cell.
        sheet_key, regular_count, correction_id = sheet.id, sheet.regular_count, sheet.correction_id
        next_version = sheet.version + 1
        audit_rows: list[dict[str, object]] = []
        inserts: list[dict[str, object]] = []
        updates: list[dict[str, object]] = []
        for line, normalised in planned:
            cells, student_id = line.cells, line.student.id
            new = Cells(
                cells.regular_slots(regular_count),
                cells.midterm,
                cells.final,
                cells.comment,
                cells.status,
            )
            touched = False
            for key, value in normalised.items():
                old_value = cells.value(key)
                if old_value == value:
                    continue
                touched = True
                if key.startswith("regular_"):
                    new.regular[int(key.removeprefix("regular_")) - 1] = value
                elif key == "midterm":
                    new.midterm = value
                elif key == "final":
                    new.final = value
                elif key == "comment":
                    new.comment = value or ""
                else:
                    new.status = Status(value or Status.assessed.value)
                audit_rows.append(
                    {
                        "sheet_id": sheet_key,
                        "student_id": student_id,
                        "column": key,
                        "old_value": old_value,
                        "new_value": value,
                        "changed_by": principal.user_id,
                        "changed_by_name": principal.name,
                        "changed_at": now,
                        "sheet_state": state.value,
                        "sheet_version": next_version,
                        "reason": reason,
                        "correction_id": correction_id,
                    }
                )
            if not touched:
                continue
            result = semester_result(new, assessment, regular_count)
            values: dict[str, object] = {
                "sheet_id": sheet_key,
                "student_id": student_id,
                "regular": list(new.regular),
                "midterm": new.midterm,
                "final": new.final,
                "comment": new.comment,
                "status": new.status.value,
                "result": result,
            }
            (updates if student_id in view.stored else inserts).append(values)
            view.stored.add(student_id)
            line.cells = new
            line.result = result
            line.missing = missing(new, regular_count)
        changed = len(audit_rows)
        await self.sheets.write_lines(session, inserts, updates)
        await self.sheets.add_changes(session, audit_rows)
        if changed:
            # Every save that changed something is a new version of the sheet; a concurrent save
            # of the same version loses here (UPDATE … WHERE version = expected).
            sheet.updated_at = now
            try:
                await session.flush()
            except StaleDataError:
                raise stale(expected, expected + 1) from None
            if state is SheetState.submitted or sheet.correction_id is not None:
                await self._audit_late_changes(session, principal, view, audit_rows, reason)
        return view

    async def _audit_late_changes(
        self,
        session: AsyncSession,
        principal: Principal,
        view: SheetView,
        changes: Sequence[Mapping[str, object]],
        reason: str | None,
    ) -> None:
        """Changes once the sheet was submitted, or under a correction after signing, go to the
        audit trail (Đ9.2): one entry per save, naming every cell, its old and new value."""
        sheet = view.sheet
        names = {str(line.student.id): line.student.full_name for line in view.lines}
        cells = [
            {
                "student_id": str(change["student_id"]),
                "student_name": names.get(str(change["student_id"]), ""),
                "column": change["column"],
                "column_label": column_label(str(change["column"])),
                "old": change["old_value"],
                "new": change["new_value"],
            }
            for change in changes
        ]
        await audit.record(
            session,
            school_id=sheet.school_id,
            actor=principal,
            action=AuditAction.scores_changed,
            subject=("sheet", sheet.id),
            details=audit.sheet_details(
                sheet,
                version=sheet.version,
                reason=reason,
                correction_id=sheet.correction_id,
                cells=cells,
            ),
        )
