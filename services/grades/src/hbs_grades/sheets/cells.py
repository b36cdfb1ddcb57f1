"""A sheet's cells: what may be typed in each, what is missing, each row's semester result.

Pure functions; the service stores canonical texts ("8.5", "8", "Đ", "CĐ").
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal

from hbs_grades.results import (
    PassMark,
    ScoreError,
    Status,
    comment_semester_result,
    format_score,
    parse_score,
    required_assessments,
    semester_average,
)
from hbs_shared.curriculum import Assessment
from hbs_shared.labels import SUBJECT_STATUS_LABELS

_PASS = {"Đ": PassMark.dat, "ĐẠT": PassMark.dat, "D": PassMark.dat, "DAT": PassMark.dat}
_FAIL = {
    "CĐ": PassMark.chua_dat,
    "CHƯA ĐẠT": PassMark.chua_dat,
    "CD": PassMark.chua_dat,
    "CHUA DAT": PassMark.chua_dat,
}
_MARKS = {mark.value: mark for mark in PassMark}
STATUS_LABELS = {status: SUBJECT_STATUS_LABELS[status.value] for status in Status}


class CellError(ValueError):
    """A cell that cannot be stored; the message is for the teacher (Vietnamese)."""


def regular_key(index: int) -> str:
    """Column key of the regular assessment number `index` (1-based)."""
    return f"regular_{index}"


_LABELS = {
    "midterm": "ĐĐGgk",
    "final": "ĐĐGck",
    "comment": "Nhận xét",
    "status": "Miễn / không đánh giá",
    "conduct": "Rèn luyện",
    "conduct_comment": "Nhận xét rèn luyện",
    "absent_excused": "Nghỉ có phép",
    "absent_unexcused": "Nghỉ không phép",
    "summer_training": "Rèn luyện hè",
    "student_id": "Học sinh",
}


def column_label(key: str) -> str:
    if key.startswith("regular_"):
        return f"ĐĐGtx {key.removeprefix('regular_')}"
    if key.startswith("reexam."):
        return f"Kiểm tra lại {key.removeprefix('reexam.')}"
    return _LABELS.get(key, key)


def normalise_cell(assessment: Assessment, text: str | None) -> str | None:
    """The canonical text of a typed cell, None if empty; CellError if it is not allowed."""
    if text is None:
        return None
    cleaned = unicodedata.normalize("NFC", str(text)).strip()
    if not cleaned:
        return None
    if assessment is Assessment.scored:
        try:
            return format_score(parse_score(cleaned))
        except ScoreError as error:
            raise CellError(str(error)) from None
    upper = " ".join(cleaned.upper().split())
    mark = _PASS.get(upper) or _FAIL.get(upper)
    if mark is None:
        raise CellError(f"“{text}” không hợp lệ: môn đánh giá bằng nhận xét nhận Đ (Đạt) hoặc CĐ (Chưa đạt)")
    return mark.value


def parse_status(text: str | None) -> Status:
    cleaned = unicodedata.normalize("NFC", (text or "").strip()).casefold()
    for status, label in STATUS_LABELS.items():
        if cleaned in (status.value, label.casefold()):
            return status
    if cleaned in ("miễn học", "mien", "miễn"):
        return Status.exempt
    raise CellError(f"“{text}” không hợp lệ: để trống, “Miễn” hoặc “Không đánh giá”")


@dataclass
class Cells:
    """One student's line as stored."""

    regular: list[str | None] = field(default_factory=list)
    midterm: str | None = None
    final: str | None = None
    comment: str = ""
    status: Status = Status.assessed

    def value(self, key: str) -> str | None:
        if key.startswith("regular_"):
            index = int(key.removeprefix("regular_")) - 1
            return self.regular[index] if index < len(self.regular) else None
        if key == "midterm":
            return self.midterm
        if key == "final":
            return self.final
        if key == "comment":
            return self.comment or None
        return self.status.value

    def regular_slots(self, count: int) -> list[str | None]:
        return [self.regular[i] if i < len(self.regular) else None for i in range(count)]


def assessment_keys(regular_count: int) -> list[str]:
    return [*(regular_key(i) for i in range(1, regular_count + 1)), "midterm", "final"]


def missing(cells: Cells, regular_count: int) -> list[str]:
    """The required assessments not given yet (none for an exempt or not-assessed student)."""
    if cells.status is not Status.assessed:
        return []
    return [key for key in assessment_keys(regular_count) if cells.value(key) is None]


def semester_result(cells: Cells, assessment: Assessment, regular_count: int) -> str | None:
    """ĐTBmhk (scored) or Đ/CĐ (comment) once every required assessment is given; else None.

    Stored cells are canonical texts already, so they are read without re-validation.
    """
    if cells.status is not Status.assessed:
        return None
    regular = cells.regular[:regular_count]
    if len(regular) < regular_count or cells.midterm is None or cells.final is None or None in regular:
        return None
    if assessment is Assessment.scored:
        return str(
            semester_average([Decimal(v) for v in regular if v], Decimal(cells.midterm), Decimal(cells.final))
        )
    marks = [_MARKS[v] for v in (*regular, cells.midterm, cells.final) if v]
    return comment_semester_result(marks, required_assessments(assessment, regular_count)).value
