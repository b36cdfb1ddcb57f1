"""The subjects of the 2018 upper-secondary programme (Chương trình GDPT 2018), by code.

Reference data from the regulation, shared so identity can validate teaching assignments and
grades can build class plans from the same codes. Grades owns each class's plan.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Assessment(StrEnum):
    scored = "scored"
    """Đánh giá bằng nhận xét kết hợp điểm số (0–10)."""
    comment = "comment"
    """Đánh giá bằng nhận xét: Đạt / Chưa đạt."""


class SubjectGroup(StrEnum):
    compulsory = "compulsory"
    elective = "elective"
    topic = "topic"
    """Chuyên đề học tập."""


@dataclass(frozen=True)
class Subject:
    code: str
    name: str
    assessment: Assessment
    group: SubjectGroup


SUBJECTS: tuple[Subject, ...] = (
    Subject("NGU_VAN", "Ngữ văn", Assessment.scored, SubjectGroup.compulsory),
    Subject("TOAN", "Toán", Assessment.scored, SubjectGroup.compulsory),
    Subject("NGOAI_NGU_1", "Ngoại ngữ 1", Assessment.scored, SubjectGroup.compulsory),
    Subject("LICH_SU", "Lịch sử", Assessment.scored, SubjectGroup.compulsory),
    Subject("GDTC", "Giáo dục thể chất", Assessment.comment, SubjectGroup.compulsory),
    Subject("GDQPAN", "Giáo dục quốc phòng và an ninh", Assessment.scored, SubjectGroup.compulsory),
    Subject("HDTN_HN", "Hoạt động trải nghiệm, hướng nghiệp", Assessment.comment, SubjectGroup.compulsory),
    Subject(
        "GD_DIA_PHUONG",
        "Nội dung giáo dục của địa phương",
        Assessment.comment,
        SubjectGroup.compulsory,
    ),
    Subject("DIA_LI", "Địa lí", Assessment.scored, SubjectGroup.elective),
    Subject("GDKT_PL", "Giáo dục kinh tế và pháp luật", Assessment.scored, SubjectGroup.elective),
    Subject("VAT_LI", "Vật lí", Assessment.scored, SubjectGroup.elective),
    Subject("HOA_HOC", "Hoá học", Assessment.scored, SubjectGroup.elective),
    Subject("SINH_HOC", "Sinh học", Assessment.scored, SubjectGroup.elective),
    Subject("CONG_NGHE", "Công nghệ", Assessment.scored, SubjectGroup.elective),
    Subject("TIN_HOC", "Tin học", Assessment.scored, SubjectGroup.elective),
    Subject("AM_NHAC", "Âm nhạc", Assessment.comment, SubjectGroup.elective),
    Subject("MI_THUAT", "Mĩ thuật", Assessment.comment, SubjectGroup.elective),
    Subject("CHUYEN_DE", "Chuyên đề học tập", Assessment.comment, SubjectGroup.topic),
)

SUBJECTS_BY_CODE: dict[str, Subject] = {subject.code: subject for subject in SUBJECTS}


def subject(code: str) -> Subject:
    """The subject with this code; KeyError names the unknown code."""
    try:
        return SUBJECTS_BY_CODE[code]
    except KeyError:
        raise KeyError(f"unknown subject code {code!r}") from None
