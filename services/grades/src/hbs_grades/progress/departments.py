"""Tổ chuyên môn of a subject. Identity lets the office put a staff member in a department, but
grades hears nothing of it and schools group their departments by subject anyway: this is the
usual grouping of an upper-secondary school, by subject code (hbs_shared.curriculum)."""

from __future__ import annotations

from hbs_shared.curriculum import SUBJECTS_BY_CODE

OTHER = "Tổ khác"
RECORDS = "Học bạ (GVCN, Ban Giám hiệu)"
"""Where the year record's steps (2–4) are counted: they follow no subject."""

DEPARTMENT_OF_SUBJECT: dict[str, str] = {
    "TOAN": "Tổ Toán – Tin",
    "TIN_HOC": "Tổ Toán – Tin",
    "NGU_VAN": "Tổ Ngữ văn",
    "NGOAI_NGU_1": "Tổ Ngoại ngữ",
    "VAT_LI": "Tổ Khoa học tự nhiên",
    "HOA_HOC": "Tổ Khoa học tự nhiên",
    "SINH_HOC": "Tổ Khoa học tự nhiên",
    "CONG_NGHE": "Tổ Khoa học tự nhiên",
    "LICH_SU": "Tổ Khoa học xã hội",
    "DIA_LI": "Tổ Khoa học xã hội",
    "GDKT_PL": "Tổ Khoa học xã hội",
    "GD_DIA_PHUONG": "Tổ Khoa học xã hội",
    "GDTC": "Tổ Thể chất – Nghệ thuật – Quốc phòng",
    "GDQPAN": "Tổ Thể chất – Nghệ thuật – Quốc phòng",
    "AM_NHAC": "Tổ Thể chất – Nghệ thuật – Quốc phòng",
    "MI_THUAT": "Tổ Thể chất – Nghệ thuật – Quốc phòng",
    "HDTN_HN": "Tổ Chủ nhiệm – Hoạt động trải nghiệm",
    "CHUYEN_DE": "Tổ Chủ nhiệm – Hoạt động trải nghiệm",
}
assert set(DEPARTMENT_OF_SUBJECT) <= set(SUBJECTS_BY_CODE)


def department_of(subject_code: str | None) -> str:
    return DEPARTMENT_OF_SUBJECT.get(subject_code or "", OTHER)


def department_of_step(step: int, subject_code: str | None) -> str:
    """A sheet's steps (entry, 1) go to its subject's department; the record's steps to RECORDS."""
    return department_of(subject_code) if step in (0, 1) else RECORDS


def departments() -> list[str]:
    return sorted(set(DEPARTMENT_OF_SUBJECT.values()))
