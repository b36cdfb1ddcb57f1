"""Scores as decimals: parsing what a teacher typed, rounding half up to one digit."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal

ONE_DIGIT = Decimal("0.1")
STEP = ONE_DIGIT
"""Scores move in tenths: what the sheets accept (0–10, at most one digit after the point)."""
ZERO = Decimal(0)
TEN = Decimal(10)

_SCORE_TEXT = re.compile(r"^[0-9]{1,2}(?:[.,][0-9])?$")


class ScoreError(ValueError):
    """A score that is not 0–10 with at most one decimal; the message says why (Vietnamese) and
    `field` names the value when the engine was given it (e.g. "regular_2", "TOAN.semester1")."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def check_score(value: object, field: str, label: str) -> Decimal:
    """The engine's own guard: a Decimal in 0–10 that is a multiple of 0.1, else ScoreError.

    `label` is how a person names the field ("ĐĐGtx 2", "Toán, học kỳ I")."""
    if not isinstance(value, Decimal):
        # Binary floats are never scores here (8.25 must round to 8.3): refuse them outright.
        raise ScoreError(f"{label}: “{value}” không phải điểm (cần số thập phân từ 0 đến 10)", field)
    if not value.is_finite() or value < ZERO or value > TEN:
        raise ScoreError(f"{label}: điểm {value} ngoài khoảng 0–10", field)
    if value % STEP != ZERO:
        raise ScoreError(f"{label}: điểm {value} có quá một chữ số thập phân", field)
    return value


def round1(value: Decimal) -> Decimal:
    """Round half up to one digit after the point, in decimal arithmetic: 8.25 → 8.3."""
    return value.quantize(ONE_DIGIT, rounding=ROUND_HALF_UP)


def parse_score(text: str) -> Decimal:
    """A score as typed: "8", "8.5" or "8,5" (0–10, at most one digit after the point)."""
    cleaned = text.strip()
    if not _SCORE_TEXT.match(cleaned):
        raise ScoreError(f"“{text}” không phải điểm hợp lệ: điểm từ 0 đến 10, tối đa một chữ số thập phân")
    value = Decimal(cleaned.replace(",", "."))
    if value > TEN:
        raise ScoreError(f"“{text}” lớn hơn 10: điểm từ 0 đến 10")
    return value


def format_score(value: Decimal) -> str:
    """The canonical text of a score: "8", "8.5", "10" (no trailing ".0")."""
    text = f"{value.quantize(ONE_DIGIT, rounding=ROUND_HALF_UP):f}"
    return text[:-2] if text.endswith(".0") else text
