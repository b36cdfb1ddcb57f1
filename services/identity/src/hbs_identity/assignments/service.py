"""Use cases on assignments: teacher × class × subject × year, and one homeroom teacher per class."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from hbs_identity.assignments.repository import AssignmentRepository
from hbs_identity.assignments.schemas import AssignmentIn, AssignmentOut
from hbs_identity.errors import conflict, invalid, not_found
from hbs_identity.models import Account, Assignment, SchoolClass, SchoolYear, Staff
from hbs_identity.people.repository import PeopleRepository
from hbs_identity.school.repository import SchoolRepository
from hbs_identity.unit import Unit
from hbs_shared.curriculum import SUBJECTS_BY_CODE
from hbs_shared.events.identity import AssignmentChanged


class AssignmentService:
    def __init__(self) -> None:
        self.repo = AssignmentRepository()
        self.people = PeopleRepository()
        self.schools = SchoolRepository()

    async def _context(
        self, unit: Unit, teacher_id: uuid.UUID, class_id: uuid.UUID
    ) -> tuple[Staff, Account, SchoolClass, SchoolYear]:
        staff = await self.people.staff(unit.session, teacher_id)
        if staff is None or staff.school_id != unit.school_id:
            raise invalid("teacher_id", f"unknown teacher {teacher_id}")
        account = await self.people.account(unit.session, teacher_id)
        assert account is not None
        school_class = await self.schools.school_class(unit.session, class_id)
        if school_class is None or school_class.school_id != unit.school_id:
            raise invalid("class_id", f"unknown class {class_id}")
        year = await self.schools.year(unit.session, school_class.school_year_id)
        assert year is not None
        return staff, account, school_class, year

    async def assign(self, unit: Unit, data: AssignmentIn) -> Assignment:
        staff, account, school_class, year = await self._context(unit, data.teacher_id, data.class_id)
        current = await self.repo.active_for(unit.session, school_class.id, data.kind, data.subject_code)
        if current is not None:
            if current.teacher_id == staff.id:
                raise conflict("teacher_id", "this assignment already exists")
            if not data.replace:
                holder = await self.people.staff(unit.session, current.teacher_id)
                what = f"{data.subject_code} in" if data.subject_code else "homeroom of"
                holder_name = holder.full_name if holder else "?"
                raise conflict(
                    "subject_code" if data.subject_code else "class_id",
                    f"{what} {school_class.name} is already assigned to {holder_name}",
                )
            await self.end(unit, current)
            await unit.session.flush()
        assignment = Assignment(
            id=uuid.uuid4(),
            school_id=unit.school_id,
            kind=data.kind,
            teacher_id=staff.id,
            class_id=school_class.id,
            subject_code=data.subject_code,
            school_year_id=year.id,
            active=True,
            created_at=datetime.now(UTC),
        )
        self.repo.add(unit.session, assignment)
        if data.kind not in account.roles:
            account.roles = sorted({*account.roles, data.kind})
        unit.audit(
            "assignment.created",
            "assignment",
            assignment.id,
            teacher=staff.full_name,
            class_name=school_class.name,
            subject_code=data.subject_code,
        )
        await self._emit(unit, assignment, staff, school_class, year)
        return assignment

    async def end(self, unit: Unit, assignment: Assignment) -> None:
        if not assignment.active:
            raise conflict("assignment_id", "the assignment has already ended")
        staff, _, school_class, year = await self._context(unit, assignment.teacher_id, assignment.class_id)
        assignment.active = False
        assignment.ended_at = datetime.now(UTC)
        unit.audit("assignment.ended", "assignment", assignment.id, teacher=staff.full_name)
        await self._emit(unit, assignment, staff, school_class, year)

    async def announce_teacher(self, unit: Unit, teacher_id: uuid.UUID) -> None:
        """Say a teacher's active assignments again (their e-mail changed): grades keeps the
        address it sends the board's reminders to from these events."""
        for assignment in await self.repo.list(unit.session, unit.school_id, teacher_id=teacher_id):
            staff, _, school_class, year = await self._context(unit, teacher_id, assignment.class_id)
            await self._emit(unit, assignment, staff, school_class, year)

    async def listed(
        self,
        unit: Unit,
        *,
        class_id: uuid.UUID | None = None,
        teacher_id: uuid.UUID | None = None,
        year_id: uuid.UUID | None = None,
        include_ended: bool = False,
    ) -> list[Assignment]:
        return await self.repo.list(
            unit.session,
            unit.school_id,
            class_id=class_id,
            teacher_id=teacher_id,
            year_id=year_id,
            include_ended=include_ended,
        )

    async def homeroom_teacher(self, unit: Unit, class_id: uuid.UUID) -> Staff | None:
        """The class's active homeroom teacher, if it has one."""
        homeroom = await self.repo.active_for(unit.session, class_id, "homeroom_teacher", None)
        return await self.people.staff(unit.session, homeroom.teacher_id) if homeroom else None

    async def get(self, unit: Unit, assignment_id: uuid.UUID) -> Assignment:
        assignment = await self.repo.get(unit.session, assignment_id)
        if assignment is None or assignment.school_id != unit.school_id:
            raise not_found(f"assignment {assignment_id}")
        return assignment

    async def _emit(
        self, unit: Unit, assignment: Assignment, staff: Staff, school_class: SchoolClass, year: SchoolYear
    ) -> None:
        await unit.emit(
            AssignmentChanged(
                assignment_id=assignment.id,
                kind="homeroom_teacher" if assignment.kind == "homeroom_teacher" else "subject_teacher",
                teacher_id=staff.id,
                teacher_name=staff.full_name,
                class_id=school_class.id,
                class_name=school_class.name,
                grade_level=school_class.grade_level,
                subject_code=assignment.subject_code,
                school_year=year.name,
                active=assignment.active,
                teacher_email=staff.email,
            )
        )

    async def describe(self, unit: Unit, assignments: list[Assignment]) -> list[AssignmentOut]:
        classes = await self.schools.classes_by_id(unit.session, {a.class_id for a in assignments})
        years = {y.id: y.name for y in await self.schools.years(unit.session, unit.school_id)}
        names: dict[uuid.UUID, str] = {}
        for teacher_id in {a.teacher_id for a in assignments}:
            staff = await self.people.staff(unit.session, teacher_id)
            names[teacher_id] = staff.full_name if staff else "?"
        out = []
        for a in assignments:
            school_class = classes[a.class_id]
            out.append(
                AssignmentOut(
                    id=a.id,
                    kind="homeroom_teacher" if a.kind == "homeroom_teacher" else "subject_teacher",
                    teacher_id=a.teacher_id,
                    teacher_name=names[a.teacher_id],
                    class_id=a.class_id,
                    class_name=school_class.name,
                    grade_level=school_class.grade_level,
                    subject_code=a.subject_code,
                    subject_name=SUBJECTS_BY_CODE[a.subject_code].name if a.subject_code else None,
                    school_year=years.get(a.school_year_id, "?"),
                    active=a.active,
                )
            )
        return out
