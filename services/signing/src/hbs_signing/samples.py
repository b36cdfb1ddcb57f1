"""Generated sample content (Vietnamese names and subjects) for tests, the demo and the bench."""

from __future__ import annotations

import uuid
from datetime import date

from hbs_shared.records import (
    CorrectionMinutesContent,
    MinutesCell,
    ScoreSheetContent,
    SheetRow,
    StudentPersonalData,
    SubjectYearResult,
    YearRecordContent,
)


def score_sheet_content(rows: int = 30) -> ScoreSheetContent:
    return ScoreSheetContent(
        sheet_id=uuid.uuid4(),
        sheet_version=1,
        school_name="Trường THPT Chuyên Thái Bình",
        school_year="2025-2026",
        term="HK1",
        class_name="10A1",
        subject_code="TOAN",
        subject_name="Toán",
        assessment="scored",
        regular_count=3,
        teacher_name="Nguyễn Thị Hoa",
        rows=[
            SheetRow(
                student_id=uuid.uuid4(),
                national_id=f"0340{i:08d}",
                full_name=f"Trần Thị Ngọc Ánh {i + 1}",
                regular=["8.0", "7.5", "9.0"],
                midterm="8.5",
                final="9.0",
                average="8.6",
                comment="Chăm chỉ, tiến bộ rõ rệt",
            )
            for i in range(rows)
        ],
    )


SUBJECTS = [
    "Ngữ văn",
    "Toán",
    "Tiếng Anh",
    "Lịch sử",
    "Vật lí",
    "Hoá học",
    "Sinh học",
    "Tin học",
    "Giáo dục kinh tế và pháp luật",
    "Giáo dục quốc phòng và an ninh",
]


def year_record_content(name: str = "Đỗ Thị Ngọc Ánh") -> YearRecordContent:
    subjects = [
        SubjectYearResult(
            subject_code=f"S{i}",
            subject_name=subject,
            assessment="scored",
            semester1="8.1",
            semester2="8.4",
            year="8.3",
            teacher_name="Phạm Quốc Dũng",
        )
        for i, subject in enumerate(SUBJECTS)
    ] + [
        SubjectYearResult(
            subject_code=f"C{i}",
            subject_name=subject,
            assessment="comment",
            semester1="Đ",
            semester2="Đ",
            year="Đ",
            teacher_name="Lê Văn Hùng",
        )
        for i, subject in enumerate(["Giáo dục thể chất", "Hoạt động trải nghiệm, hướng nghiệp"])
    ]
    return YearRecordContent(
        record_id=uuid.uuid4(),
        record_version=1,
        school_name="Trường THPT Chuyên Thái Bình",
        province="Hưng Yên",
        school_year="2025-2026",
        class_name="10A1",
        student=StudentPersonalData(
            student_id=uuid.uuid4(),
            national_id="034012345678",
            full_name=name,
            gender="female",
            date_of_birth=date(2010, 3, 14),
            birthplace="Thái Bình",
            ethnicity="Kinh",
        ),
        subjects=subjects,
        conduct_semester1="T",
        conduct_semester2="T",
        conduct_year="T",
        learning_semester1="K",
        learning_semester2="T",
        learning_year="T",
        absent_sessions=2,
        promoted=True,
        title="Học sinh Giỏi",
        homeroom_remarks="Ngoan, chăm học, có tinh thần trách nhiệm với tập thể.",
        homeroom_teacher_name="Phạm Quốc Dũng",
        principal_name="Trần Văn Minh",
        corrections_count=1,
        corrections_subjects=["Toán"],
        place_and_date="Thái Bình, ngày 31 tháng 5 năm 2026",
    )


def minutes_content() -> CorrectionMinutesContent:
    return CorrectionMinutesContent(
        correction_id=uuid.uuid4(),
        sheet_id=uuid.uuid4(),
        school_name="Trường THPT Chuyên Thái Bình",
        school_year="2026-2027",
        term="HK2",
        class_name="10A1",
        subject_name="Toán",
        teacher_name="Nguyễn Thị Hoa",
        minutes_number="07/BB-HBS",
        minutes_date=date(2027, 5, 20),
        present=["Trần Văn Minh – Hiệu trưởng", "Nguyễn Thị Hoa – giáo viên bộ môn"],
        reason="Nhập nhầm điểm cuối kỳ",
        cells=[
            MinutesCell(
                student_id=uuid.uuid4(),
                national_id="034208001234",
                full_name="Đỗ Hữu Anh",
                column="final",
                column_label="ĐĐGck",
                old_value="6.5",
            ),
            MinutesCell(
                student_id=uuid.uuid4(),
                national_id="034208001235",
                full_name="Phan Diệu Hằng",
                column="regular_2",
                column_label="ĐĐGtx 2",
                old_value=None,
            ),
        ],
        opened_by_name="Trần Văn Minh",
    )
