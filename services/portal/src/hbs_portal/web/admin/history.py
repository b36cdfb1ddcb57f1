"""A student's personal-data history as the office reads it: per version, each changed field with
its old and new value (identity keeps the whole record at every version; the previous one is the
"old"). Dates as dd/mm/yyyy, codes by their Vietnamese name, an empty value as "(trống)"."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hbs_portal.i18n import N_, _
from hbs_shared.display import day_text

EMPTY = N_("(trống)")
CODES = {
    "gender": {"male": N_("Nam"), "female": N_("Nữ")},
    "disability": {"true": N_("Có"), "false": N_("Không")},
}


@dataclass(frozen=True)
class FieldChange:
    label: str
    old: str
    new: str


def shown(field: str, value: Any) -> str:
    if value is None or value == "":
        return _(EMPTY)
    if isinstance(value, bool):
        value = str(value).lower()
    text = str(value)
    if field in CODES:
        return _(CODES[field].get(text, text))
    if field.startswith("date_") or field.endswith("_on"):
        try:
            return day_text(text) or text
        except ValueError:
            return text  # not a day after all: shown as stored
    return text


def with_changes(versions: list[dict[str, Any]], labels: Mapping[str, str]) -> list[dict[str, Any]]:
    """The versions, newest first, each with `changes`: what each changed field was and became."""
    ordered = sorted(versions, key=lambda v: int(v["version"]))
    previous: dict[str, Any] = {}
    out = []
    for version in ordered:
        data = version.get("data") or {}
        changes = [
            FieldChange(
                labels.get(field, field),
                shown(field, previous.get(field)) if previous else _(EMPTY),
                shown(field, data.get(field)),
            )
            for field in version.get("changed_fields", [])
        ]
        out.append({**version, "changes": changes})
        previous = data
    return list(reversed(out))
