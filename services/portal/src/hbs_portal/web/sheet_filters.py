"""Filters of the score-sheet list (the board sees every sheet of the school, ~900 rows): by class,
subject, teacher, semester and state, as query parameters, applied on the server. The choices come
from the sheets themselves; a value that is not among them is named as the field that is wrong."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from starlette.datastructures import QueryParams

from hbs_portal.i18n import N_, _
from hbs_shared.names import name_key, text_key

FILTERS = {
    "class": ("class_name", N_("Lớp")),
    "subject": ("subject_code", N_("Môn")),
    "teacher": ("teacher_id", N_("Giáo viên")),
    "term": ("term", N_("Học kỳ")),
    "state": ("state", N_("Trạng thái")),
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
        labels["term"][sheet["term"]] = _(sheet.get("term_label") or sheet["term"])
        labels["state"][sheet["state"]] = _(sheet.get("state_label") or sheet["state"])
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
            found.errors.append(
                _("{label}: không có “{value}” trong danh sách sổ điểm.").format(
                    label=_(label), value=value[:40]
                )
            )
            continue
        found.chosen[key] = value
        shown = [s for s in shown if str(s.get(sheet_field) or "") == value]
    return shown, found
