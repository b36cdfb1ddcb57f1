"""The audit trail as the principal and the office read it: identity's and grades' entries merged,
newest first, in Vietnamese, with names rather than ids, at the school's clock (pure: no I/O)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from hbs_shared.audit.actions import FAULT_LABELS, SUBJECT_KIND_LABELS, action_label
from hbs_shared.display import day_text, school_time_text, score_text
from hbs_shared.labels import (
    FRONT_PAGE_LABELS,
    RECORD_STATE_LABELS,
    SHEET_STATE_LABELS,
    STEP_LABELS,
    TERM_LABELS,
)
from hbs_shared.roles import Role

SCHOOL_TIME = ZoneInfo("Asia/Ho_Chi_Minh")

SOURCES = {"identity": "Tài khoản, danh mục", "grades": "Sổ điểm, học bạ"}
"""Which service's trail an entry comes from."""

_FACTORS = {"password": "mật khẩu", "totp": "xác thực hai lớp", "signing_pin": "mã PIN ký số"}
_COLUMNS_SHOWN_IN_SUBJECT = {"class_name", "subject", "term", "student_name", "school_year"}
_DETAIL_LABELS = {
    "reason": "Lý do",
    "step": "Bước",
    "version": "Phiên bản",
    "edition": "Lần lập học bạ",
    "minutes_number": "Biên bản số",
    "minutes_date": "Ngày biên bản",
    "signed_at": "Ký lúc",
    "login": "Tên đăng nhập",
    "username": "Tên đăng nhập",
    "factor": "Yếu tố",
    "name": "Tên",
    "old_name": "Tên cũ",
    "count": "Số lượng",
    "retry_after": "Chờ (giây)",
    "roles": "Vai trò",
    "changed": "Đã sửa",
    "who": "Đối tượng",
    "pending": "Còn phải làm",
    "cells": "Ô đã sửa",
    "kind": "Loại",
    "national_id": "Mã định danh",
    "recipient_name": "Người được nhắc",
    "automatic": "Nhắc tự động",
    "by_email": "Gửi cả e-mail",
    "opens_on": "Mở từ ngày",
    "closes_on": "Đóng sau ngày",
    "base_closes_on": "Hạn chung",
    "window": "Thời hạn",
    "fields": "Thông tin",
    "note": "Ghi chú",
    "state": "Trạng thái",
    "signer_role": "Người ký",
    "students": "Học sinh",
    "removed": "Đã bỏ",
    "sampled": "Số học bạ chọn kiểm tra",
    "population_size": "Tổng số học bạ",
    "share_percent": "Tỷ lệ chọn (%)",
    "minimum": "Tối thiểu",
    "seed": "Hạt giống chọn mẫu",
    "algorithm": "Cách chọn",
    "teacher_name": "Giáo viên",
}
_STATES = {**SHEET_STATE_LABELS, **RECORD_STATE_LABELS}
_ROLES = {role.value: role.formal_label for role in Role}


@dataclass(frozen=True)
class AuditLine:
    """One row of the page."""

    moment: datetime
    source: str
    seq: int
    actor: str
    action: str
    subject: str
    details: list[str] = field(default_factory=list)
    address: str = ""

    @property
    def when(self) -> str:
        return local_time(self.moment)


def local_time(moment: datetime) -> str:
    """dd/mm/yyyy HH:mm as the school's clock reads it."""
    return school_time_text(moment)


def _moment(stamp: str) -> datetime:
    moment = datetime.fromisoformat(stamp)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _decimal(value: object) -> str:
    """A score with a decimal comma; any other text as it is."""
    return score_text(None if value is None else str(value))


def _value(key: str, value: Any) -> str:
    if key == "step" and isinstance(value, int):
        return f"{value} ({STEP_LABELS.get(value, '')})"
    if key == "factor":
        return _FACTORS.get(str(value), str(value))
    if key == "signed_at":
        return local_time(_moment(str(value)))
    if key == "minutes_date" or key.endswith("_on"):
        try:
            return day_text(str(value))
        except ValueError:
            return str(value)
    if key == "fields" and isinstance(value, list):
        return ", ".join(FRONT_PAGE_LABELS.get(str(v), str(v)) for v in value)
    if key == "state":
        return _STATES.get(str(value), str(value))
    if key == "signer_role":
        return _ROLES.get(str(value), str(value))
    if key == "cells" and isinstance(value, list):
        return "; ".join(_cell(cell) for cell in value if isinstance(cell, Mapping))
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, bool):
        return "có" if value else "không"
    return str(value)


def _cell(cell: Mapping[str, Any]) -> str:
    old, new = (_decimal(cell.get(k)) if cell.get(k) is not None else "(trống)" for k in ("old", "new"))
    column = cell.get("column_label") or cell.get("column")
    return f"{cell.get('student_name') or ''} – {column}: {old} → {new}"


def detail_lines(details: Mapping[str, Any]) -> list[str]:
    """The details worth reading, labelled in Vietnamese; ids and hashes are left out."""
    lines = []
    for key, value in details.items():
        if key in _COLUMNS_SHOWN_IN_SUBJECT or key.endswith("_id") or key in {"sha256", "hash"}:
            continue
        if value in (None, "", [], {}):
            continue
        lines.append(f"{_DETAIL_LABELS.get(key, key)}: {_value(key, value)}")
    return lines


def grades_subject(kind: str | None, details: Mapping[str, Any]) -> str:
    """A sheet by subject, class and semester; a record by student and class."""
    label = SUBJECT_KIND_LABELS.get(kind or "", kind or "")
    if kind == "sheet":
        term = TERM_LABELS.get(str(details.get("term", "")), str(details.get("term", "")))
        return f"{label} {details.get('subject', '')} – lớp {details.get('class_name', '')} – {term}"
    if kind == "record":
        return f"{label} của {details.get('student_name', '')} – lớp {details.get('class_name', '')}"
    named = details.get("class_name") or details.get("teacher_name") or details.get("name") or ""
    return f"{label} {named}".strip()


def from_grades(entry: Mapping[str, Any]) -> AuditLine:
    details = entry.get("details") or {}
    return AuditLine(
        moment=_moment(entry["occurred_at"]),
        source=SOURCES["grades"],
        seq=int(entry["seq"]),
        actor=entry.get("actor_name") or "",
        action=action_label(entry["action"]),
        subject=grades_subject(entry.get("subject_kind"), details),
        details=detail_lines(details),
    )


def from_identity(entry: Mapping[str, Any]) -> AuditLine:
    kind = entry.get("object_type") or ""
    name = entry.get("object_name") or ""
    label = SUBJECT_KIND_LABELS.get(kind, kind)
    return AuditLine(
        moment=_moment(entry["at"]),
        source=SOURCES["identity"],
        seq=int(entry["seq"]),
        actor=entry.get("actor_name") or "",
        action=action_label(entry["action"]),
        subject=f"{label} {name}".strip() if name or kind else "",
        details=detail_lines(entry.get("detail") or {}),
        address=entry.get("source") or "",
    )


def merged(identity: Iterable[Mapping[str, Any]], grades: Iterable[Mapping[str, Any]]) -> list[AuditLine]:
    """Both trails as one, newest first."""
    lines = [from_identity(e) for e in identity] + [from_grades(e) for e in grades]
    return sorted(lines, key=lambda line: line.moment, reverse=True)


@dataclass(frozen=True)
class ChainState:
    """The indicator of one service's chain."""

    source: str
    intact: bool
    text: str


def chain_state(service: str, status: Mapping[str, Any]) -> ChainState:
    """ "chuỗi kiểm chứng: toàn vẹn" or "… hỏng tại mục N" with what is wrong."""
    source = SOURCES.get(service, service)
    broken = status.get("broken")
    if status.get("intact") and not broken:
        return ChainState(source, True, f"Chuỗi kiểm chứng: toàn vẹn ({status.get('checked', 0)} mục)")
    seq = broken.get("seq") if isinstance(broken, Mapping) else "?"
    fault = broken.get("fault") if isinstance(broken, Mapping) else ""
    why = FAULT_LABELS.get(str(fault), str(fault))
    return ChainState(source, False, f"Chuỗi kiểm chứng: hỏng tại mục {seq} – {why}")
