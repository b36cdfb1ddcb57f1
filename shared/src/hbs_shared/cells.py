"""Values written into a spreadsheet or CSV cell that a user's program must not run.

A text that starts with `=`, `+`, `-`, `@`, a tab or a carriage return is taken by Excel,
LibreOffice and Google Sheets as a formula (CSV/formula injection, OWASP): a student named
`=HYPERLINK(...)` would become a live link in the office's export. Such text is written with a
leading apostrophe for CSV and as a string cell with the quote prefix for .xlsx, so it is shown
exactly as typed and never evaluated. Numbers, dates and booleans are left as they are.
"""

from __future__ import annotations

import re
from typing import Any

# What the .xlsx format cannot hold (the same set openpyxl refuses with IllegalCharacterError).
ILLEGAL_CHARACTERS_RE = re.compile(r"[\000-\010]|[\013-\014]|[\016-\037]")

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def is_formula_like(value: object) -> bool:
    """True for a text a spreadsheet program would evaluate."""
    return isinstance(value, str) and value.startswith(FORMULA_TRIGGERS)


def csv_safe(value: Any) -> Any:
    """The value for a CSV cell: formula-like text gets a leading apostrophe."""
    return "'" + value if is_formula_like(value) else value


def set_xlsx_value(cell: Any, value: Any) -> None:
    """Write `value` into an openpyxl cell; formula-like text stays typed text (quotePrefix).

    Control characters an .xlsx cannot hold are dropped rather than failing the whole export."""
    if isinstance(value, str):
        value = ILLEGAL_CHARACTERS_RE.sub("", value)
    if is_formula_like(value):
        cell.value = value
        cell.data_type = "s"  # openpyxl would otherwise store "=..." as a formula
        cell.quotePrefix = True
    else:
        cell.value = value
