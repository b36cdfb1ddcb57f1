"""The Vietnamese names of the codes every service shows: terms, ratings, signing steps, states.

Grades stores the codes; the portal, the exports and the signed PDF show these names. One
list here so a screen, a spreadsheet and a document never name the same thing two ways.
"""

from __future__ import annotations

from hbs_shared.signing_order import SIGNING_STEPS, step_of

__all__ = [
    "CONDUCT_LABELS",
    "PASS_LABELS",
    "PERIOD_LABELS",
    "RATING_LABELS",
    "RECORD_STATE_LABELS",
    "SHEET_STATE_LABELS",
    "SIGNING_STEPS",
    "STEP_LABELS",
    "SUBJECT_STATUS_LABELS",
    "TERM_LABELS",
    "YEAR_END_LABEL",
    "YEAR_LABEL",
    "step_of",
]

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

STEP_LABELS: dict[int, str] = {
    1: "Giáo viên bộ môn ký sổ điểm",
    2: "Giáo viên chủ nhiệm ký học bạ",
    3: "Phó Hiệu trưởng ký duyệt học bạ",
    4: "Hiệu trưởng ký phê duyệt, đóng dấu học bạ",
}
"""What each step of the signing order (hbs_shared.signing_order) is, by its number."""

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
    "revoked": "đã thu hồi",
}
"""A year record's states (grades' RecordState)."""

FRONT_PAGE_LABELS: dict[str, str] = {
    "full_name": "Họ và tên",
    "national_id": "Mã định danh",
    "date_of_birth": "Ngày sinh",
    "gender": "Giới tính",
    "birthplace": "Nơi sinh",
    "ethnicity": "Dân tộc",
    "nationality": "Quốc tịch",
    "address": "Nơi ở hiện nay",
    "father_name": "Họ tên cha",
    "mother_name": "Họ tên mẹ",
    "guardian_name": "Họ tên người giám hộ",
    "policy_group": "Đối tượng chính sách",
}
"""The personal data on a record's front page (DOMAIN §3b), in the order the homeroom teacher
checks it against the birth certificate and the original file (Đ6.1)."""
