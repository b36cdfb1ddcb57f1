"""Đ6.1: the homeroom teacher checks each student's front page against the birth certificate and
the original file, field by field, with a note. A discrepancy goes to the office as a change request
in identity (made by the portal with the teacher's own token, so identity decides that she is the
student's homeroom teacher); grades keeps the check. Step 2 opens only when every current student
is verified, and a check goes stale as soon as identity's student-updated event changes the data."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from hbs_grades import audit
from hbs_grades.access import require_class_reader, require_homeroom
from hbs_grades.models import PersonalDataCheck, Student
from hbs_grades.records.content import personal_data
from hbs_grades.review.repository import ReviewRepository
from hbs_grades.roster.repository import RosterRepository
from hbs_shared.auth import Principal
from hbs_shared.labels import FRONT_PAGE_LABELS
from hbs_shared.problems import Problem

CheckState = Literal["verified", "discrepancy"]
Status = Literal["unchecked", "verified", "discrepancy", "stale"]
FIELDS = tuple(FRONT_PAGE_LABELS)
"""The checklist: every front-page field grades holds for the year record."""


def fingerprint(student: Student) -> str:
    """SHA-256 of the front page as grades holds it now (identity's events keep it current)."""
    data = personal_data(student).model_dump(mode="json")
    return hashlib.sha256(json.dumps(data, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def status_of(check: PersonalDataCheck | None, student: Student) -> Status:
    if check is None:
        return "unchecked"
    if check.fingerprint != fingerprint(student):
        return "stale"  # the data changed after the check: the teacher checks it again
    return "verified" if check.state == "verified" else "discrepancy"


@dataclass
class StudentCheck:
    student: Student
    check: PersonalDataCheck | None
    status: Status


def _names(students: Sequence[Student]) -> str:
    return ", ".join(s.full_name for s in students)


class PersonalDataChecks:
    def __init__(self, roster: RosterRepository | None = None, repo: ReviewRepository | None = None) -> None:
        self.roster = roster or RosterRepository()
        self.repo = repo or ReviewRepository()

    async def of_students(
        self, session: AsyncSession, school_id: str, school_year: str, students: Sequence[Student]
    ) -> list[StudentCheck]:
        checks = await self.repo.checks(session, school_id, school_year, [s.id for s in students])
        return [StudentCheck(s, checks.get(s.id), status_of(checks.get(s.id), s)) for s in students]

    async def for_class(
        self, session: AsyncSession, principal: Principal, school_year: str, class_name: str
    ) -> list[StudentCheck]:
        await require_class_reader(session, self.roster, principal, school_year, class_name)
        students = await self.roster.class_list(session, principal.school_id, school_year, class_name)
        if not students:
            raise Problem(404, "Không tìm thấy lớp", "no student in this class", field="class_name")
        return await self.of_students(session, principal.school_id, school_year, students)

    async def missing(
        self, session: AsyncSession, school_id: str, school_year: str, students: Sequence[Student]
    ) -> list[str]:
        """What keeps step 2 closed, naming every student (Vietnamese, class-list order)."""
        found = await self.of_students(session, school_id, school_year, students)
        unchecked = [c.student for c in found if c.status in ("unchecked", "stale")]
        reported = [c.student for c in found if c.status == "discrepancy"]
        lines = []
        if unchecked:
            lines.append(f"Chưa kiểm tra thông tin cá nhân (Điều 6): {_names(unchecked)}")
        if reported:
            lines.append(
                f"Thông tin cá nhân có sai lệch, chờ văn phòng sửa rồi kiểm tra lại: {_names(reported)}"
            )
        return lines

    async def record(
        self,
        session: AsyncSession,
        principal: Principal,
        school_year: str,
        student_id: uuid.UUID,
        *,
        state: CheckState,
        fields: Sequence[str],
        note: str,
        change_request_id: uuid.UUID | None,
    ) -> StudentCheck:
        student = await self.roster.student(session, principal.school_id, student_id)
        enrolments = (
            []
            if student is None
            else await self.roster.enrolments_of(session, principal.school_id, student_id, school_year)
        )
        current = [e for e in enrolments if e.left_on is None]
        if student is None or not current:
            raise Problem(
                404, "Không tìm thấy học sinh", "no such student in a class this year", field="student_id"
            )
        class_name = current[0].class_name
        try:
            await require_homeroom(session, self.roster, principal, school_year, class_name)
        except Problem as refused:
            if refused.status == 404:
                raise Problem(
                    404, "Không tìm thấy học sinh", "not a student of your class", field="student_id"
                ) from None
            raise
        unknown = sorted(set(fields) - set(FIELDS))
        if unknown:
            raise Problem(
                422, f"Mục kiểm tra không có: {', '.join(unknown)}", "unknown field", field="fields"
            )
        if state == "verified":
            left = [FRONT_PAGE_LABELS[f] for f in FIELDS if f not in fields]
            if left:
                raise Problem(
                    422,
                    "Chưa đánh dấu đủ các mục đã kiểm tra: " + ", ".join(left),
                    "every field must be ticked to verify",
                    field="fields",
                    extra={"missing": left},
                )
        elif len(note.strip()) < 5:
            raise Problem(
                422, "Hãy ghi rõ sai lệch ở phần ghi chú", "a discrepancy needs a note", field="note"
            )
        return await self._store(
            session, principal, school_year, student, class_name, state, fields, note, change_request_id
        )

    async def verify_all(
        self,
        session: AsyncSession,
        principal: Principal,
        school_year: str,
        class_name: str,
        student_ids: Sequence[uuid.UUID],
    ) -> list[StudentCheck]:
        """Đánh dấu tất cả đúng: the homeroom teacher confirms every field of the students chosen
        at once, after comparing them with the documents. Each student still gets their own check
        (who, when) and audit entry; a student not now in the class refuses the whole request."""
        await require_homeroom(session, self.roster, principal, school_year, class_name)
        students = await self.roster.class_list(session, principal.school_id, school_year, class_name)
        by_id = {s.id: s for s in students}
        strangers = [i for i in dict.fromkeys(student_ids) if i not in by_id]
        if strangers:
            raise Problem(
                422,
                f"{len(strangers)} học sinh không thuộc lớp {class_name} trong năm học này",
                "a student is not in this class",
                field="student_ids",
            )
        chosen = set(student_ids)
        for student in students:
            if student.id in chosen:
                await self._store(
                    session, principal, school_year, student, class_name, "verified", FIELDS, "", None
                )
        return await self.of_students(session, principal.school_id, school_year, students)

    async def _store(
        self,
        session: AsyncSession,
        principal: Principal,
        school_year: str,
        student: Student,
        class_name: str,
        state: CheckState,
        fields: Sequence[str],
        note: str,
        change_request_id: uuid.UUID | None,
    ) -> StudentCheck:
        student_id = student.id
        check = await self.repo.check(session, principal.school_id, school_year, student_id)
        if check is None:
            check = PersonalDataCheck(
                school_id=principal.school_id, school_year=school_year, student_id=student_id
            )
            self.repo.add(session, check)
        check.class_name = class_name
        check.state = state
        check.fields = [f for f in FIELDS if f in fields]
        check.note = note.strip()
        check.fingerprint = fingerprint(student)
        check.change_request_id = change_request_id if state == "discrepancy" else None
        check.checked_by = principal.user_id
        check.checked_by_name = principal.name
        check.checked_at = datetime.now(UTC)
        await session.flush()
        await audit.record(
            session,
            school_id=principal.school_id,
            actor=principal,
            action=audit.AuditAction.personal_data_verified,
            subject=("student", student.id),
            details={
                "student_name": student.full_name,
                "class_name": class_name,
                "school_year": school_year,
                "state": state,
                "fields": check.fields,
                "note": check.note,
                "change_request_id": change_request_id,
            },
        )
        return StudentCheck(student, check, status_of(check, student))
