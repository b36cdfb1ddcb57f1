"""A save made on an older version of the sheet (another tab, a colleague's Excel upload between
the page being drawn and saved): merged cell by cell against what the page showed.

A cell the teacher left as shown keeps its newer stored value; a cell the teacher changed is
applied when nobody else changed it since; a cell both changed is a conflict, and then nothing is
saved: the answer names each conflict with both values so the page can show them side by side."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from hbs_grades.sheets.cells import CellError, normalise_cell, parse_status
from hbs_grades.sheets.entry import RowChange, SheetEntry
from hbs_grades.sheets.reading import SheetView
from hbs_shared.auth import Principal
from hbs_shared.curriculum import Assessment
from hbs_shared.problems import Problem


@dataclass(frozen=True)
class ShownChange:
    """One student's typed cells, and (if the page sent them) the values the page showed."""

    change: RowChange
    shown: Mapping[str, str | None] | None = None


@dataclass(frozen=True)
class Conflict:
    student_id: uuid.UUID
    column: str
    yours: str | None
    theirs: str | None


def _canonical(assessment: Assessment, key: str, text: str | None) -> str | None:
    """A cell's value for comparing: "7,5" and "7.5" are the same score; "" is empty; "Miễn" is exempt."""
    if key == "status":
        try:
            return parse_status(text).value  # an empty status cell is "assessed"
        except CellError:
            return (text or "").strip()
    if text is None or not text.strip():
        return None
    if key == "comment":
        return text.strip()
    try:
        return normalise_cell(assessment, text)
    except CellError:
        return text.strip()  # the save itself will name what is wrong with it


def merge_stale(
    rows: Sequence[ShownChange], current: Mapping[uuid.UUID, Mapping[str, str | None]], assessment: Assessment
) -> tuple[list[RowChange], list[Conflict]]:
    """The cells to apply on the current version, and the conflicts (cells both sides changed)."""
    changes: list[RowChange] = []
    conflicts: list[Conflict] = []
    for row in rows:
        if row.shown is None:
            changes.append(row.change)  # no shown values: the caller's cells as they are
            continue
        stored = current.get(row.change.student_id, {})
        kept: dict[str, str | None] = {}
        for key, typed in row.change.cells.items():
            shown = _canonical(assessment, key, row.shown.get(key))
            if _canonical(assessment, key, typed) == shown:
                continue  # untouched by the teacher: the newer stored value stays
            theirs = stored.get(key)
            if _canonical(assessment, key, theirs) == _canonical(assessment, key, typed):
                continue  # already stored (e.g. by an earlier upload of this very file): nothing to do
            if _canonical(assessment, key, theirs) != shown:
                conflicts.append(Conflict(row.change.student_id, key, typed, theirs))
                continue
            kept[key] = typed
        if kept:
            changes.append(RowChange(row.change.student_id, kept))
    return changes, conflicts


def _stored(view: SheetView) -> dict[uuid.UUID, dict[str, str | None]]:
    keys = [f"regular_{i}" for i in range(1, view.sheet.regular_count + 1)]
    keys += ["midterm", "final", "comment", "status"]
    return {line.student.id: {key: line.cells.value(key) for key in keys} for line in view.lines}


async def save_merging(
    service: SheetEntry,
    session: AsyncSession,
    principal: Principal,
    sheet_id: uuid.UUID,
    expected: int,
    rows: Sequence[ShownChange],
    reason: str | None,
) -> SheetView:
    """Save at `expected`; when the sheet moved on and the page sent what it showed, merge."""
    plain = [row.change for row in rows]
    if all(row.shown is None for row in rows):
        return await service.save(session, principal, sheet_id, expected, plain, reason)
    view = await service.reader.visible_view(session, principal, sheet_id)
    if view.sheet.version == expected:
        return await service.save(session, principal, sheet_id, expected, plain, reason)
    changes, conflicts = merge_stale(rows, _stored(view), Assessment(view.sheet.assessment))
    if conflicts:
        raise Problem(
            409,
            "Sổ điểm vừa được lưu ở nơi khác: có ô bạn sửa mà người khác cũng đã sửa",
            f"{len(conflicts)} cell(s) changed since version {expected}",
            field="expected_version",
            extra={
                "code": "stale_cells",
                "current_version": view.sheet.version,
                "conflicts": [
                    {
                        "student_id": str(c.student_id),
                        "column": c.column,
                        "yours": c.yours,
                        "theirs": c.theirs,
                    }
                    for c in conflicts
                ],
            },
        )
    return await service.save(session, principal, sheet_id, view.sheet.version, changes, reason)
