"""Scores as decimals: parsing what a teacher typed, rounding half up to one digit."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal

ONE_DIGIT = Decimal("0.1")
ZERO = Decimal(0)
TEN = Decimal(10)

_SCORE_TEXT = re.compile(r"^[0-9]{1,2}(?:[.,][0-9])?$")


class ScoreError(ValueError):
    """A typed score that is not 0–10 with at most one decimal; the message says why (Vietnamese)."""


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
