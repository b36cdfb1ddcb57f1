"""How scores and moments are shown to people, in one place: decimal comma, Vietnam's time.

Every page, PDF, spreadsheet and message shows a score as "8,5" and a moment as
"07/12/2026 04:11" (dd/mm/yyyy HH:mm, Asia/Ho_Chi_Minh), whatever the server's zone.
Services exchange scores as "8.5" and moments as ISO 8601 in UTC; only what people read
goes through here.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

__all__ = [
    "SCHOOL_TIME",
    "TIME_FORMAT",
    "average_text",
    "day_text",
    "school_time_text",
    "school_today",
    "score_number",
    "score_text",
]

SCHOOL_TIME = ZoneInfo("Asia/Ho_Chi_Minh")
TIME_FORMAT = "%d/%m/%Y %H:%M"
DAY_FORMAT = "%d/%m/%Y"
_NUMBER = re.compile(r"\s*\d{1,3}([.,]\d+)?\s*$")


def score_number(value: Decimal | float | int | str | None) -> Decimal | None:
    """A score as a number ("8,5" or "8.5" → 8.5), or None for what is not one ("Đ", "Miễn", "")."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, str):
        return Decimal(value.strip().replace(",", ".")) if _NUMBER.match(value) else None
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)


def score_text(value: Decimal | float | int | str | None) -> str:
    """A score as people read it: "8.5" → "8,5", 8 → "8", "7.25" → "7,25", "8.0" → "8".

    The digits are kept as given (scores have one, class averages two); what is not a number
    ("Đ", "Miễn") is shown as it is, None as ""."""
    number = score_number(value)
    if number is None:
        return "" if value is None else str(value)
    text = f"{number:f}"
    return (text[:-2] if text.endswith(".0") else text).replace(".", ",")


def average_text(value: Decimal | float | int | str | None) -> str:
    """An average (ĐTBmhk, ĐTBmcn, a class's mean) as people read it: one decimal at least,
    "9.0" → "9,0", 9 → "9,0", "7.25" → "7,25" (DOMAIN: "9,0", not "9"); "Đ" and None as
    `score_text` shows them."""
    number = score_number(value)
    if number is None:
        return score_text(value)
    text = f"{number:f}"
    return (text if "." in text else f"{text}.0").replace(".", ",")


def school_today(now: datetime | None = None) -> date:
    """Today in Vietnam: from 17:00 UTC it is already tomorrow there, whatever the server's zone."""
    return (now or datetime.now(UTC)).astimezone(SCHOOL_TIME).date()


def _moment(value: datetime | str) -> datetime:
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    # Services store UTC; a moment without a zone (SQLite drops it) is UTC.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def school_time_text(value: datetime | str | None) -> str:
    """A moment in Vietnam's time, dd/mm/yyyy HH:mm; an ISO text or a datetime; None → ""."""
    if value is None or value == "":
        return ""
    return _moment(value).astimezone(SCHOOL_TIME).strftime(TIME_FORMAT)


def day_text(value: date | str | None) -> str:
    """A calendar day, dd/mm/yyyy; an ISO text ("2026-12-07") or a date; None → ""."""
    if value is None or value == "":
        return ""
    if isinstance(value, datetime):
        return _moment(value).astimezone(SCHOOL_TIME).strftime(DAY_FORMAT)
    day = date.fromisoformat(value[:10]) if isinstance(value, str) else value
    return day.strftime(DAY_FORMAT)
