"""The audit trail as the principal and the office read it: identity's and grades' entries merged,
newest first, in Vietnamese, with names rather than ids, at the school's clock (pure: no I/O)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from hbs_portal.i18n import N_, _
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

SOURCES = {"identity": N_("Tài khoản, danh mục"), "grades": N_("Sổ điểm, học bạ")}
"""Which service's trail an entry comes from."""

_FACTORS = {"password": N_("mật khẩu"), "totp": N_("xác thực hai lớp"), "signing_pin": N_("mã PIN ký số")}
_COLUMNS_SHOWN_IN_SUBJECT = {"class_name", "subject", "term", "student_name", "school_year"}
_DETAIL_LABELS = {
    "reason": N_("Lý do"),
    "step": N_("Bước"),
    "version": N_("Phiên bản"),
    "edition": N_("Lần lập học bạ"),
    "minutes_number": N_("Biên bản số"),
    "minutes_date": N_("Ngày biên bản"),
    "signed_at": N_("Ký lúc"),
    "login": N_("Tên đăng nhập"),
    "username": N_("Tên đăng nhập"),
    "factor": N_("Yếu tố"),
    "name": N_("Tên"),
    "old_name": N_("Tên cũ"),
    "count": N_("Số lượng"),
    "retry_after": N_("Chờ (giây)"),
    "roles": N_("Vai trò"),
    "changed": N_("Đã sửa"),
    "who": N_("Đối tượng"),
    "pending": N_("Còn phải làm"),
    "cells": N_("Ô đã sửa"),
    "kind": N_("Loại"),
    "national_id": N_("Mã định danh"),
    "recipient_name": N_("Người được nhắc"),
    "automatic": N_("Nhắc tự động"),
    "by_email": N_("Gửi cả e-mail"),
    "opens_on": N_("Mở từ ngày"),
    "closes_on": N_("Đóng sau ngày"),
    "base_closes_on": N_("Hạn chung"),
    "window": N_("Thời hạn"),
    "fields": N_("Thông tin"),
    "note": N_("Ghi chú"),
    "state": N_("Trạng thái"),
    "signer_role": N_("Người ký"),
    "students": N_("Học sinh"),
    "removed": N_("Đã bỏ"),
    "sampled": N_("Số học bạ chọn kiểm tra"),
    "population_size": N_("Tổng số học bạ"),
    "share_percent": N_("Tỷ lệ chọn (%)"),
    "minimum": N_("Tối thiểu"),
    "seed": N_("Hạt giống chọn mẫu"),
    "algorithm": N_("Cách chọn"),
    "teacher_name": N_("Giáo viên"),
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
        return f"{value} ({_(STEP_LABELS.get(value, ''))})"
    if key == "factor":
        return _(_FACTORS.get(str(value), str(value)))
    if key == "signed_at":
        return local_time(_moment(str(value)))
    if key == "minutes_date" or key.endswith("_on"):
        try:
            return day_text(str(value))
        except ValueError:
            return str(value)
    if key == "fields" and isinstance(value, list):
        return ", ".join(_(FRONT_PAGE_LABELS.get(str(v), str(v))) for v in value)
    if key == "state":
        return _(_STATES.get(str(value), str(value)))
    if key == "signer_role":
        return _(_ROLES.get(str(value), str(value)))
    if key == "cells" and isinstance(value, list):
        return "; ".join(_cell(cell) for cell in value if isinstance(cell, Mapping))
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, bool):
        return _("có") if value else _("không")
    return str(value)


def _cell(cell: Mapping[str, Any]) -> str:
    old, new = (_decimal(cell.get(k)) if cell.get(k) is not None else _("(trống)") for k in ("old", "new"))
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
        lines.append(f"{_(_DETAIL_LABELS.get(key, key))}: {_value(key, value)}")
    return lines


def grades_subject(kind: str | None, details: Mapping[str, Any]) -> str:
    """A sheet by subject, class and semester; a record by student and class."""
    label = _(SUBJECT_KIND_LABELS.get(kind or "", kind or ""))
    if kind == "sheet":
        term = _(TERM_LABELS.get(str(details.get("term", "")), str(details.get("term", ""))))
        return _("{kind} {subject} – lớp {class_name} – {term}").format(
            kind=label,
            subject=details.get("subject", ""),
            class_name=details.get("class_name", ""),
            term=term,
        )
    if kind == "record":
        return _("{kind} của {student} – lớp {class_name}").format(
            kind=label, student=details.get("student_name", ""), class_name=details.get("class_name", "")
        )
    named = details.get("class_name") or details.get("teacher_name") or details.get("name") or ""
    return f"{label} {named}".strip()


def from_grades(entry: Mapping[str, Any]) -> AuditLine:
    details = entry.get("details") or {}
    return AuditLine(
        moment=_moment(entry["occurred_at"]),
        source=_(SOURCES["grades"]),
        seq=int(entry["seq"]),
        actor=entry.get("actor_name") or "",
        action=_(action_label(entry["action"])),
        subject=grades_subject(entry.get("subject_kind"), details),
        details=detail_lines(details),
    )


def from_identity(entry: Mapping[str, Any]) -> AuditLine:
    kind = entry.get("object_type") or ""
    name = entry.get("object_name") or ""
    label = _(SUBJECT_KIND_LABELS.get(kind, kind))
    return AuditLine(
        moment=_moment(entry["at"]),
        source=_(SOURCES["identity"]),
        seq=int(entry["seq"]),
        actor=entry.get("actor_name") or "",
        action=_(action_label(entry["action"])),
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
    source = _(SOURCES.get(service, service))
    broken = status.get("broken")
    if status.get("intact") and not broken:
        return ChainState(
            source, True, _("Chuỗi kiểm chứng: toàn vẹn ({n} mục)").format(n=status.get("checked", 0))
        )
    seq = broken.get("seq") if isinstance(broken, Mapping) else "?"
    fault = broken.get("fault") if isinstance(broken, Mapping) else ""
    why = _(FAULT_LABELS.get(str(fault), str(fault)))
    return ChainState(
        source, False, _("Chuỗi kiểm chứng: hỏng tại mục {seq} – {why}").format(seq=seq, why=why)
    )
