"""The year page of a student's học bạ as it would be signed, assembled from what grades holds."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Literal

from hbs_grades.models import ScoreSheet, Student, Term, YearRecord
from hbs_grades.reports.service import ClassResults, StudentResults
from hbs_grades.results import Level, PassMark, format_score
from hbs_shared.records import StudentPersonalData, SubjectYearResult, YearRecordContent


@dataclass(frozen=True)
class RecordContext:
    """What every record of one class shares."""

    school_name: str
    province: str
    school_year: str
    class_name: str
    homeroom_teacher_name: str
    principal_name: str
    teachers: dict[str, str]
    """subject code → the teacher who signed it (semester II's sheet, else semester I's)."""
    on: date


def subject_teachers(sheets: Sequence[ScoreSheet]) -> dict[str, str]:
    ordered = sorted(sheets, key=lambda s: s.term == Term.hk2.value)
    return {sheet.subject_code: sheet.teacher_name for sheet in ordered}


def _text(value: Decimal | PassMark | None) -> str | None:
    if value is None:
        return None
    return value.value if isinstance(value, PassMark) else format_score(value)


def _code(level: Level | None) -> Literal["T", "K", "Đ", "CĐ"] | None:
    if level is None:
        return None
    codes: dict[Level, Literal["T", "K", "Đ", "CĐ"]] = {
        Level.tot: "T",
        Level.kha: "K",
        Level.dat: "Đ",
        Level.chua_dat: "CĐ",
    }
    return codes[level]


def _spelled(on: date) -> str:
    return f"ngày {on.day} tháng {on.month} năm {on.year}"


def personal_data(student: Student) -> StudentPersonalData:
    """The front page as identity last published it to grades' roster (DOMAIN §3b)."""
    return StudentPersonalData(
        student_id=student.id,
        national_id=student.national_id,
        full_name=student.full_name,
        gender="female" if student.gender == "female" else "male",
        date_of_birth=student.date_of_birth,
        birthplace=student.birthplace,
        ethnicity=student.ethnicity,
        nationality=student.nationality,
        address=student.address,
        father_name=student.father_name,
        mother_name=student.mother_name,
        guardian_name=student.guardian_name,
        policy_group=student.policy_group,
    )


def corrections(places: Sequence[tuple[uuid.UUID, str]], student_id: uuid.UUID) -> tuple[int, list[str]]:
    """ "Có sửa chữa N chỗ, thuộc các môn …": cells changed after signing, and their subjects."""
    subjects = Counter(subject for who, subject in places if who == student_id)
    return sum(subjects.values()), list(subjects)


def assemble(
    record: YearRecord,
    results: StudentResults,
    columns: ClassResults,
    context: RecordContext,
    places: Sequence[tuple[uuid.UUID, str]],
) -> YearRecordContent:
    r = results.result
    names = {c.code: c.name for c in columns.subjects}
    count, subjects = corrections(places, record.student_id)
    return YearRecordContent(
        record_id=record.id,
        record_version=record.edition,
        school_name=context.school_name,
        province=context.province,
        school_year=context.school_year,
        class_name=context.class_name,
        student=personal_data(results.student),
        subjects=[
            SubjectYearResult(
                subject_code=s.code,
                subject_name=names.get(s.code, s.code),
                assessment="comment" if s.assessment.value == "comment" else "scored",
                semester1=_text(s.semester1),
                semester2=_text(s.semester2),
                year=_text(s.year),
                after_reexam=_text(s.after_reexam),
                teacher_name=context.teachers.get(s.code, ""),
                status=s.status.value,
            )
            for s in r.subjects
        ],
        conduct_semester1=_code(r.conduct1),
        conduct_semester2=_code(r.conduct2),
        conduct_year=_code(r.conduct_year),
        learning_semester1=_code(r.learning1),
        learning_semester2=_code(r.learning2),
        learning_year=_code(r.learning_year),
        absent_sessions=r.absent_sessions,
        promoted=r.promoted,
        summer_training_result=_code(r.conduct_final) if r.summer_training_required else None,
        reexam_result=_code(r.learning_after_reexam) if r.reexam_required else None,
        title="Học sinh Xuất sắc"
        if r.title is not None and r.title.value == "Học sinh Xuất sắc"
        else ("Học sinh Giỏi" if r.title is not None else None),
        homeroom_remarks=record.remarks,
        homeroom_teacher_name=context.homeroom_teacher_name,
        principal_name=context.principal_name,
        corrections_count=count,
        corrections_subjects=subjects,
        place_and_date=f"{context.province}, {_spelled(context.on)}",
    )
