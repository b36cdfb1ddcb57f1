"""Filters of the score-sheet list (the board sees every sheet of the school, ~900 rows): by class,
subject, teacher, semester and state, as query parameters, applied on the server. The choices come
from the sheets themselves; a value that is not among them is named as the field that is wrong."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from starlette.datastructures import QueryParams

from hbs_shared.names import name_key, text_key

FILTERS = {
    "class": ("class_name", "Lớp"),
    "subject": ("subject_code", "Môn"),
    "teacher": ("teacher_id", "Giáo viên"),
    "term": ("term", "Học kỳ"),
    "state": ("state", "Trạng thái"),
}
"""Query parameter → (the sheet's field, its Vietnamese name)."""


@dataclass
class SheetFilter:
    chosen: dict[str, str] = field(default_factory=dict)
    choices: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    total: int = 0

    @property
    def active(self) -> bool:
        return bool(self.chosen)


def _choices(sheets: list[dict[str, Any]]) -> dict[str, list[tuple[str, str]]]:
    """(value, label) per filter, as the sheets have them, in the order people look for them."""
    labels: dict[str, dict[str, str]] = {key: {} for key in FILTERS}
    for sheet in sheets:
        labels["class"][sheet["class_name"]] = sheet["class_name"]
        labels["subject"][sheet["subject_code"]] = sheet["subject"]
        if sheet.get("teacher_id"):
            labels["teacher"][str(sheet["teacher_id"])] = sheet["teacher_name"]
        labels["term"][sheet["term"]] = sheet.get("term_label") or sheet["term"]
        labels["state"][sheet["state"]] = sheet.get("state_label") or sheet["state"]
    ordered = {
        key: sorted(found.items(), key=lambda item: text_key(item[1])) for key, found in labels.items()
    }
    ordered["teacher"] = sorted(labels["teacher"].items(), key=lambda item: name_key(item[1]))
    ordered["term"] = sorted(labels["term"].items())
    return ordered


def filter_sheets(
    sheets: list[dict[str, Any]], query: QueryParams
) -> tuple[list[dict[str, Any]], SheetFilter]:
    """The sheets the query asks for; an unknown value is reported and that filter left out."""
    found = SheetFilter(choices=_choices(sheets), total=len(sheets))
    shown = sheets
    for key, (sheet_field, label) in FILTERS.items():
        value = query.get(key, "").strip()
        if not value:
            continue
        if value not in dict(found.choices[key]):
            found.errors.append(f"{label}: không có “{value[:40]}” trong danh sách sổ điểm.")
            continue
        found.chosen[key] = value
        shown = [s for s in shown if str(s.get(sheet_field) or "") == value]
    return shown, found
