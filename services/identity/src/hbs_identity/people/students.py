"""Students: versioned personal data, enrolments and moves, leaving, deleting one entered by mistake."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

from hbs_identity.errors import conflict, in_use, invalid, not_found
from hbs_identity.models import Enrolment, SchoolClass, SchoolYear, Student, StudentVersion
from hbs_identity.people.accounts import UNUSABLE_PASSWORD, person_account
from hbs_identity.people.repository import PeopleRepository
from hbs_identity.people.schemas import PERSONAL_FIELDS, LeaveReason, StudentIn, StudentUpdate
from hbs_identity.school.repository import SchoolRepository
from hbs_identity.text import search_key
from hbs_identity.unit import Unit
from hbs_shared.events.identity import (
    FrontPageData,
    StudentDeleted,
    StudentEnrolled,
    StudentLeft,
    StudentUpdated,
)
from hbs_shared.problems import Problem


def snapshot(student: Student) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for name in PERSONAL_FIELDS:
        value = getattr(student, name)
        data[name] = value.isoformat() if isinstance(value, date) else value
    return data


def _gender(value: str) -> Any:
    return "female" if value == "female" else "male"


def front_page(student: Student) -> dict[str, str]:
    """The student's current front-page data for grades' events (none stored → empty text)."""
    return FrontPageData(
        birthplace=student.birthplace,
        ethnicity=student.ethnicity,
        nationality=student.nationality,
        address=student.address,
        father_name=student.father_name or "",
        mother_name=student.mother_name or "",
        guardian_name=student.guardian_name or "",
        policy_group=student.policy_group or "",
    ).model_dump()


class StudentService:
    def __init__(self, national_id_pattern: str = r"^\d{10}(\d{2})?$") -> None:
        self.repo = PeopleRepository()
        self.schools = SchoolRepository()
        self.national_id = re.compile(national_id_pattern)

    def check_national_id(self, national_id: str, field: str = "national_id") -> None:
        if not self.national_id.fullmatch(national_id):
            raise invalid(field, f"mã định danh {national_id!r} does not match {self.national_id.pattern}")

    async def create_student(
        self,
        unit: Unit,
        data: StudentIn,
        *,
        checked: bool = False,
        student_id: uuid.UUID | None = None,
        password_hash: str = UNUSABLE_PASSWORD,
        must_change_password: bool = True,
    ) -> Student:
        """`checked`: the caller (an import) already checked the format and duplicates in bulk."""
        if not checked:
            self.check_national_id(data.national_id)
            if await self.repo.student_by_national_id(unit.session, data.national_id) is not None:
                raise conflict("national_id", f"mã định danh {data.national_id} already belongs to a student")
            if await self.repo.username_taken(unit.session, data.national_id):
                raise conflict("national_id", f"an account {data.national_id} already exists")
        fields = data.model_dump(exclude={"class_id", "enrolled_on"})
        student = Student(
            id=student_id or uuid.uuid4(),
            school_id=unit.school_id,
            search_name=search_key(data.full_name),
            version=1,
            **fields,
        )
        self.repo.add(unit.session, student)
        self.repo.add(
            unit.session,
            person_account(
                student.id,
                unit.school_id,
                data.national_id,
                data.full_name,
                "student",
                ["student"],
                password_hash=password_hash,
                must_change_password=must_change_password,
            ),
        )
        self._add_version(unit, student, list(PERSONAL_FIELDS), "Tạo hồ sơ học sinh")
        unit.audit("student.created", "student", student.id, national_id=data.national_id)
        if data.class_id is not None:
            school_class = await self._class(unit, data.class_id)
            year = await self.schools.year(unit.session, school_class.school_year_id)
            assert year is not None
            await self.enrol(unit, student, school_class, year, data.enrolled_on or year.semester1_start)
        return student

    def _add_version(self, unit: Unit, student: Student, changed: list[str], reason: str) -> None:
        self.repo.add(
            unit.session,
            StudentVersion(
                student_id=student.id,
                version=student.version,
                data=snapshot(student),
                changed_fields=changed,
                changed_by=unit.actor.user_id,
                changed_by_name=unit.actor.name,
                changed_at=datetime.now(UTC),
                reason=reason,
            ),
        )

    async def student(self, unit: Unit, student_id: uuid.UUID) -> Student:
        student = await self.repo.student(unit.session, student_id)
        if student is None or student.school_id != unit.school_id:
            raise not_found(f"student {student_id}")
        return student

    async def update_student(self, unit: Unit, student: Student, data: StudentUpdate) -> Student:
        if data.expected_version is not None and data.expected_version != student.version:
            raise conflict(
                "expected_version",
                f"the student's data is at version {student.version}, not {data.expected_version}",
            )
        sent = data.model_dump(exclude_unset=True, exclude={"reason", "expected_version"})
        for required in ("national_id", "full_name", "date_of_birth", "birthplace", "gender", "ethnicity"):
            if required in sent and sent[required] is None:
                raise invalid(required, f"{required} cannot be empty")
        changed = [name for name in PERSONAL_FIELDS if name in sent and sent[name] != getattr(student, name)]
        if not changed:
            return student
        if "national_id" in changed:
            self.check_national_id(sent["national_id"])
            if await self.repo.student_by_national_id(unit.session, sent["national_id"]) is not None:
                raise conflict(
                    "national_id", f"mã định danh {sent['national_id']} already belongs to a student"
                )
        for name in changed:
            setattr(student, name, sent[name])
        student.search_name = search_key(student.full_name)
        student.version += 1
        account = await self.repo.account(unit.session, student.id)
        if account is not None:
            account.username, account.full_name = student.national_id, student.full_name
        self._add_version(unit, student, changed, data.reason)
        unit.audit("student.updated", "student", student.id, changed=changed, reason=data.reason)
        await unit.emit(
            StudentUpdated(
                student_id=student.id,
                national_id=student.national_id,
                full_name=student.full_name,
                date_of_birth=student.date_of_birth,
                gender=_gender(student.gender),
                disability=student.disability,
                changed_fields=changed,
                personal_data_version=student.version,
                **front_page(student),
            )
        )
        return student

    async def _class(self, unit: Unit, class_id: uuid.UUID, field: str = "class_id") -> SchoolClass:
        school_class = await self.schools.school_class(unit.session, class_id)
        if school_class is None or school_class.school_id != unit.school_id:
            raise invalid(field, f"unknown class {class_id}")
        return school_class

    async def enrol_in(self, unit: Unit, student: Student, class_id: uuid.UUID, on: date) -> Enrolment:
        school_class = await self._class(unit, class_id)
        year = await self.schools.year(unit.session, school_class.school_year_id)
        assert year is not None
        return await self.enrol(unit, student, school_class, year, on)

    async def enrol(
        self,
        unit: Unit,
        student: Student,
        school_class: SchoolClass,
        year: SchoolYear,
        on: date,
        *,
        new_student: bool = False,
    ) -> Enrolment:
        """Enrol in a class; if enrolled in another class of that year, it is a move (history kept)."""
        if not year.semester1_start - timedelta(days=92) <= on <= year.semester2_end:
            raise invalid("enrolled_on", f"{on.isoformat()} is outside school year {year.name}")
        current = (
            None if new_student else await self.schools.active_enrolment(unit.session, student.id, year.id)
        )
        if current is not None:
            if current.class_id == school_class.id:
                raise conflict("class_id", f"the student is already in class {school_class.name}")
            if on < current.enrolled_on:
                raise invalid("enrolled_on", "a move cannot be dated before the current enrolment")
            current.left_on, current.leave_reason = on, "moved"
        enrolment = Enrolment(
            id=uuid.uuid4(),
            student_id=student.id,
            class_id=school_class.id,
            school_year_id=year.id,
            enrolled_on=on,
            previous_class_id=current.class_id if current else None,
        )
        self.repo.add(unit.session, enrolment)
        unit.audit(
            "student.moved" if current else "student.enrolled",
            "student",
            student.id,
            class_name=school_class.name,
            school_year=year.name,
        )
        await unit.emit(
            StudentEnrolled(
                student_id=student.id,
                national_id=student.national_id,
                full_name=student.full_name,
                date_of_birth=student.date_of_birth,
                gender=_gender(student.gender),
                class_id=school_class.id,
                class_name=school_class.name,
                grade_level=school_class.grade_level,
                school_year=year.name,
                enrolled_on=on,
                previous_class_id=enrolment.previous_class_id,
                disability=student.disability,
                **front_page(student),
            )
        )
        return enrolment

    async def leave(self, unit: Unit, student: Student, on: date, reason: LeaveReason) -> list[Enrolment]:
        active = await self.schools.active_enrolments_of(unit.session, student.id)
        if not active:
            raise conflict("student_id", "the student is not enrolled in any class")
        years = {e.school_year_id: await self.schools.year(unit.session, e.school_year_id) for e in active}
        for enrolment in active:
            if on < enrolment.enrolled_on:
                raise invalid("left_on", "leaving cannot be dated before the enrolment")
            enrolment.left_on, enrolment.leave_reason = on, reason
            year = years[enrolment.school_year_id]
            assert year is not None
            unit.audit("student.left", "student", student.id, reason=reason, school_year=year.name)
            await unit.emit(
                StudentLeft(
                    student_id=student.id,
                    class_id=enrolment.class_id,
                    school_year=year.name,
                    left_on=on,
                    reason=reason,
                )
            )
        return active

    async def delete_mistake(self, unit: Unit, student: Student) -> None:
        """Xoá học sinh nhập nhầm: only one who has no history here; anyone else leaves instead."""
        enrolments = await self.schools.enrolments_of(unit.session, student.id)
        use_leave = "học sinh đã có quá trình học tập: dùng chức năng 'leave' (POST /students/{id}/leave)"
        if len(enrolments) > 1 or any(e.left_on is not None for e in enrolments):
            raise Problem(
                409, "Không xoá được học sinh", f"{len(enrolments)} lượt ghi danh; {use_leave}", field="id"
            )
        if await self.repo.ever_signed_in(unit.session, student.id):
            raise Problem(
                409, "Không xoá được học sinh", f"tài khoản học sinh đã được sử dụng; {use_leave}", field="id"
            )
        if parents := await self.repo.parents_of(unit.session, student.id):
            raise in_use(
                "học sinh",
                f"học sinh còn liên kết với {len(parents)} phụ huynh: bỏ liên kết trước",
                {"parents": len(parents)},
            )
        enrolment = enrolments[0] if enrolments else None
        year = await self.schools.year(unit.session, enrolment.school_year_id) if enrolment else None
        await self.repo.delete_student(unit.session, student.id)
        unit.audit(
            "student.deleted",
            "student",
            student.id,
            class_id=str(enrolment.class_id) if enrolment else None,
            school_year=year.name if year else None,
        )
        await unit.emit(
            StudentDeleted(
                student_id=student.id,
                class_id=enrolment.class_id if enrolment else None,
                school_year=year.name if year else None,
            )
        )

    # --- reading ------------------------------------------------------------------------------

    async def found(self, unit: Unit, student_id: uuid.UUID) -> Student | None:
        """The student whatever the school (the caller's access was decided before)."""
        return await self.repo.student(unit.session, student_id)

    async def search(
        self,
        unit: Unit,
        *,
        query: str | None,
        class_ids: set[uuid.UUID] | None,
        student_ids: set[uuid.UUID] | None,
        limit: int,
        offset: int,
    ) -> tuple[int, list[Student]]:
        """By name (diacritics and case ignored): "nguyen van an" finds "Nguyễn Văn An"."""
        return await self.repo.search_students(
            unit.session,
            unit.school_id,
            query=search_key(query) if query else None,
            class_ids=class_ids,
            student_ids=student_ids,
            limit=limit,
            offset=offset,
        )

    async def versions(self, unit: Unit, student_id: uuid.UUID) -> list[StudentVersion]:
        return await self.repo.versions(unit.session, student_id)

    async def current_classes(
        self, unit: Unit, student_ids: list[uuid.UUID]
    ) -> dict[uuid.UUID, tuple[uuid.UUID, str]]:
        """Each student's class in the current school year (or their latest open enrolment)."""
        out: dict[uuid.UUID, tuple[uuid.UUID, str]] = {}
        current = await self.schools.current_year(unit.session, unit.school_id)
        enrolments = []
        for student_id in student_ids:
            enrolments.extend(await self.schools.active_enrolments_of(unit.session, student_id))
        classes = await self.schools.classes_by_id(unit.session, {e.class_id for e in enrolments})
        for e in sorted(
            enrolments, key=lambda e: (current is not None and e.school_year_id == current.id, e.enrolled_on)
        ):
            out[e.student_id] = (e.class_id, classes[e.class_id].name)
        return out

    async def history(self, unit: Unit, student_id: uuid.UUID) -> list[tuple[Enrolment, str, str]]:
        """Every enrolment with its class's and school year's names."""
        enrolments = await self.schools.enrolments_of(unit.session, student_id)
        classes = await self.schools.classes_by_id(unit.session, {e.class_id for e in enrolments})
        years = {y.id: y.name for y in await self.schools.years(unit.session, unit.school_id)}
        return [(e, classes[e.class_id].name, years[e.school_year_id]) for e in enrolments]
