"""The machine-readable content of what gets signed: a score sheet and a student's year record.

Grades produces these (the data, computed by the Thông tư 22 rules); signing renders them into
PDF, embeds them as the machine-readable attachment and signs. Scores are decimal strings with
one digit ("8.3") so no binary float ever touches them; ratings use the national codes.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Rating = Literal["T", "K", "Đ", "CĐ"]
"""Tốt / Khá / Đạt / Chưa đạt, as in national data."""
PassMark = Literal["Đ", "CĐ"]
"""Đạt / Chưa đạt of a comment-assessed subject."""
Score = str
"""A score or average as a decimal string with at most one digit after the point."""

_SCORE = r"^(10(\.0)?|\d(\.\d)?)$"
_YEAR = r"^\d{4}-\d{4}$"


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SheetRow(_Frozen):
    """One student's line of a score sheet."""

    student_id: uuid.UUID
    national_id: str = Field(min_length=1, max_length=32)
    full_name: str = Field(min_length=1, max_length=200)
    regular: list[str] = Field(default_factory=list, max_length=8)
    """ĐĐGtx: scores for a scored subject, "Đ"/"CĐ" for a comment subject."""
    midterm: str | None = None
    """ĐĐGgk."""
    final: str | None = None
    """ĐĐGck."""
    average: Score | PassMark | None = None
    """ĐTBmhk for a scored subject; Đ/CĐ for a comment subject."""
    comment: str = Field(default="", max_length=2000)
    status: Literal["assessed", "exempt", "not_assessed"] = "assessed"


class ScoreSheetContent(_Frozen):
    """Sổ điểm of one class-subject-term: what the subject teacher signs (Đ8 Step 1)."""

    sheet_id: uuid.UUID
    sheet_version: int = Field(ge=1)
    school_name: str = Field(min_length=1, max_length=200)
    school_year: str = Field(pattern=_YEAR)
    term: Literal["HK1", "HK2"]
    class_name: str = Field(min_length=1, max_length=40)
    subject_code: str = Field(min_length=1, max_length=40)
    subject_name: str = Field(min_length=1, max_length=120)
    assessment: Literal["scored", "comment"]
    regular_count: int = Field(ge=2, le=4)
    teacher_name: str = Field(min_length=1, max_length=200)
    rows: list[SheetRow]


class StudentPersonalData(_Frozen):
    """The front page's personal data, as the homeroom teacher verified it (Đ6)."""

    student_id: uuid.UUID
    national_id: str = Field(min_length=1, max_length=32)
    full_name: str = Field(min_length=1, max_length=200)
    gender: Literal["male", "female"]
    date_of_birth: date
    birthplace: str = Field(default="", max_length=300)
    ethnicity: str = Field(default="", max_length=60)
    nationality: str = Field(default="Việt Nam", max_length=60)
    address: str = Field(default="", max_length=300)
    father_name: str = Field(default="", max_length=200)
    mother_name: str = Field(default="", max_length=200)
    guardian_name: str = Field(default="", max_length=200)
    policy_group: str = Field(default="", max_length=200)


class SubjectYearResult(_Frozen):
    """One line of the year page's subject table."""

    subject_code: str = Field(min_length=1, max_length=40)
    subject_name: str = Field(min_length=1, max_length=120)
    assessment: Literal["scored", "comment"]
    semester1: Score | PassMark | None = None
    semester2: Score | PassMark | None = None
    year: Score | PassMark | None = None
    """ĐTBmcn, or the comment subject's year result (= semester II's)."""
    after_reexam: Score | PassMark | None = None
    teacher_name: str = Field(default="", max_length=200)
    status: Literal["assessed", "exempt", "not_assessed"] = "assessed"


class YearRecordContent(_Frozen):
    """One school year's page of a student's học bạ: what steps 2–4 sign."""

    record_id: uuid.UUID
    record_version: int = Field(ge=1)
    school_name: str = Field(min_length=1, max_length=200)
    province: str = Field(min_length=1, max_length=100)
    school_year: str = Field(pattern=_YEAR)
    class_name: str = Field(min_length=1, max_length=40)
    student: StudentPersonalData
    subjects: list[SubjectYearResult]
    conduct_semester1: Rating | None = None
    conduct_semester2: Rating | None = None
    conduct_year: Rating | None = None
    learning_semester1: Rating | None = None
    learning_semester2: Rating | None = None
    learning_year: Rating | None = None
    absent_sessions: int = Field(default=0, ge=0)
    promoted: bool | None = None
    summer_training_result: Rating | None = None
    reexam_result: Rating | None = None
    title: Literal["Học sinh Xuất sắc", "Học sinh Giỏi"] | None = None
    homeroom_remarks: str = Field(default="", max_length=4000)
    homeroom_teacher_name: str = Field(default="", max_length=200)
    principal_name: str = Field(default="", max_length=200)
    corrections_count: int = Field(default=0, ge=0)
    corrections_subjects: list[str] = Field(default_factory=list)
    place_and_date: str = Field(default="", max_length=200)


class MinutesCell(_Frozen):
    """One cell a correction after signing may change, with the value the signed sheet carries."""

    student_id: uuid.UUID
    national_id: str = Field(min_length=1, max_length=32)
    full_name: str = Field(min_length=1, max_length=200)
    column: str = Field(pattern=r"^(regular_[1-4]|midterm|final|comment)$")
    """The sheet's column key: regular_k (ĐĐGtx k), midterm, final or comment."""
    column_label: str = Field(min_length=1, max_length=40)
    old_value: str | None = Field(default=None, max_length=2000)


class CorrectionMinutesContent(_Frozen):
    """Biên bản điều chỉnh (Đ9.2): the board's minutes under which a signed score sheet is corrected;
    the board member who opened the correction signs them."""

    correction_id: uuid.UUID
    sheet_id: uuid.UUID
    school_name: str = Field(min_length=1, max_length=200)
    school_year: str = Field(pattern=_YEAR)
    term: Literal["HK1", "HK2"]
    class_name: str = Field(min_length=1, max_length=40)
    subject_name: str = Field(min_length=1, max_length=120)
    teacher_name: str = Field(min_length=1, max_length=200)
    minutes_number: str = Field(min_length=1, max_length=60)
    minutes_date: date
    present: list[str] = Field(min_length=1, max_length=20)
    """Who was present: one free line each (name and role)."""
    reason: str = Field(min_length=1, max_length=2000)
    cells: list[MinutesCell] = Field(min_length=1, max_length=400)
    opened_by_name: str = Field(min_length=1, max_length=200)
