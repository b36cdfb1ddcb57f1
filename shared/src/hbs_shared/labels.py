"""The Vietnamese names of the codes every service shows: terms, ratings, signing steps, states.

Grades stores the codes; the portal, the exports and the signed PDF show these names. One
list here so a screen, a spreadsheet and a document never name the same thing two ways.
"""

from __future__ import annotations

from hbs_shared.roles import Role

TERM_LABELS: dict[str, str] = {"HK1": "Học kỳ I", "HK2": "Học kỳ II"}
"""The two semesters (học kỳ) by their code in national data."""
YEAR_LABEL = "Cả năm"
"""The whole school year, beside the two semesters."""
YEAR_END_LABEL = "Cuối năm"
"""Values kept at the end of the year (summer training, re-examination)."""
PERIOD_LABELS: dict[str, str] = {**TERM_LABELS, "year": YEAR_LABEL}
"""A period a report covers: a semester or the whole year."""

RATING_LABELS: dict[str, str] = {"T": "Tốt", "K": "Khá", "Đ": "Đạt", "CĐ": "Chưa đạt"}
"""Learning results (kết quả học tập) by their national code (Thông tư 22, Điều 9)."""
CONDUCT_LABELS: dict[str, str] = RATING_LABELS
"""Conduct (kết quả rèn luyện) uses the same four levels and codes (Thông tư 22, Điều 8)."""
PASS_LABELS: dict[str, str] = {"Đ": RATING_LABELS["Đ"], "CĐ": RATING_LABELS["CĐ"]}
"""A comment-assessed subject: Đạt / Chưa đạt."""
SUBJECT_STATUS_LABELS: dict[str, str] = {"assessed": "", "exempt": "Miễn", "not_assessed": "Không đánh giá"}
"""Whether a subject counts for a student; an assessed subject shows nothing."""

SIGNING_STEPS: dict[int, Role] = {
    1: Role.subject_teacher,
    2: Role.homeroom_teacher,
    3: Role.vice_principal,
    4: Role.principal,
}
"""Who signs at each step of Điều 8: the sheet (1), then the year record (2–4, with the seal at 4)."""
STEP_LABELS: dict[int, str] = {
    1: "Giáo viên bộ môn ký sổ điểm",
    2: "Giáo viên chủ nhiệm ký học bạ",
    3: "Phó Hiệu trưởng ký duyệt học bạ",
    4: "Hiệu trưởng ký phê duyệt, đóng dấu học bạ",
}

SHEET_STATE_LABELS: dict[str, str] = {
    "open": "đang nhập điểm",
    "submitted": "đã nộp",
    "signing": "đang ký",
    "signed": "đã ký",
}
"""A score sheet's states (grades' SheetState)."""
RECORD_STATE_LABELS: dict[str, str] = {
    "draft": "đang lập",
    "signing_homeroom": "GVCN đang ký",
    "homeroom_signed": "GVCN đã ký",
    "signing_vice_principal": "PHT đang ký",
    "reviewed": "PHT đã duyệt",
    "signing_principal": "Hiệu trưởng đang ký",
    "approved": "đã phê duyệt, đóng dấu",
}
"""A year record's states (grades' RecordState)."""


def step_of(role: str) -> int:
    """The step at which `role` signs; a ValueError for a role that signs at no step."""
    for step, signer in SIGNING_STEPS.items():
        if signer == role:
            return step
    raise ValueError(f"{role!r} signs at no step of Điều 8")
