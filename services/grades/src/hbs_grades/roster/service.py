"""Grades' local roster, fed by identity's events (one transaction per event, with the inbox).

When grades learns an active subject-teacher assignment it makes sure the class-subject is on
the class plan and has its score sheets for HK1 and HK2 (idempotent: a replay changes nothing).
When one ends with no replacement, its sheets still being entered have no teacher until the next
assignment arrives. A renamed class keeps everything under its new name; a student deleted as a
mistake leaves the roster and every sheet still being entered. Enrolments and updates replace the
student's personal data, the year record's front page included; an event written before the
front-page fields existed leaves those the roster already holds as they are.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from hbs_grades.models import Assignment, Enrolment, Student
from hbs_grades.roster.repository import EDITABLE_STATES, NO_TEACHER, RosterRepository
from hbs_grades.sheets.setup import SheetSetup
from hbs_shared.curriculum import SUBJECTS_BY_CODE
from hbs_shared.events.envelope import EventRejected
from hbs_shared.events.identity import (
    FRONT_PAGE_FIELDS,
    AssignmentChanged,
    ClassRenamed,
    StudentDeleted,
    StudentEnrolled,
    StudentLeft,
    StudentUpdated,
)
from hbs_shared.logging import get_logger

log = get_logger(__name__)

UNASSIGNED = "Chưa phân công"
"""The teacher shown on a sheet whose teaching assignment ended with no replacement."""


def copy_personal_data(student: Student, event: StudentEnrolled | StudentUpdated) -> None:
    """The event's personal data onto grades' copy of the student; front-page fields only when the
    event carries them (an old-shape event has none, and must not blank what is known)."""
    student.national_id = event.national_id
    student.full_name = event.full_name
    student.date_of_birth = event.date_of_birth
    student.gender = event.gender
    student.disability = event.disability
    for name in FRONT_PAGE_FIELDS:
        if name in event.model_fields_set:
            setattr(student, name, getattr(event, name))


class RosterService:
    def __init__(self, sheets: SheetSetup, roster: RosterRepository | None = None) -> None:
        self.sheets = sheets
        self.roster = roster or RosterRepository()

    async def on_student_enrolled(
        self, session: AsyncSession, school_id: str, event: StudentEnrolled
    ) -> None:
        if await self.roster.held_elsewhere(session, Student, event.student_id, school_id):
            # The envelope's school is the one changed; another school's student is never touched.
            raise EventRejected("the student id belongs to another school")
        student = await self.roster.student(session, school_id, event.student_id)
        if student is None:
            student = Student(id=event.student_id, school_id=school_id)
            self.roster.add(session, student)
        copy_personal_data(student, event)
        # A student is in one class at a time in a year: enrolling elsewhere ends the other.
        current: Enrolment | None = None
        for enrolment in await self.roster.enrolments_of(
            session, school_id, event.student_id, event.school_year
        ):
            if enrolment.class_id == event.class_id:
                current = enrolment
            elif enrolment.left_on is None:
                enrolment.left_on = event.enrolled_on
                enrolment.left_reason = "moved"
        if current is None:
            current = Enrolment(
                school_id=school_id,
                school_year=event.school_year,
                student_id=event.student_id,
                class_id=event.class_id,
                class_name=event.class_name,
                grade_level=event.grade_level,
                enrolled_on=event.enrolled_on,
            )  # its name is settled just below
            self.roster.add(session, current)
        # An enrolment made before a rename can arrive after it (another topic): the name known
        # from the class's assignments, which renames are ordered with, wins over the event's.
        known = await self.roster.assigned_class_name(session, school_id, event.school_year, event.class_id)
        current.class_name = known or event.class_name
        current.grade_level = event.grade_level
        current.enrolled_on = event.enrolled_on
        current.left_on = None
        current.left_reason = None
        await session.flush()

    async def on_student_updated(self, session: AsyncSession, school_id: str, event: StudentUpdated) -> None:
        student = await self.roster.student(session, school_id, event.student_id)
        if student is None:
            # Not in any class of the school grades knows of yet: the enrolment will carry the data.
            log.info("update of a student not enrolled here", student_id=str(event.student_id))
            return
        copy_personal_data(student, event)

    async def on_student_left(self, session: AsyncSession, school_id: str, event: StudentLeft) -> None:
        for enrolment in await self.roster.enrolments_of(
            session, school_id, event.student_id, event.school_year
        ):
            if enrolment.class_id == event.class_id and enrolment.left_on is None:
                enrolment.left_on = event.left_on
                enrolment.left_reason = event.reason

    async def on_assignment_changed(
        self, session: AsyncSession, school_id: str, event: AssignmentChanged
    ) -> None:
        if event.subject_code is not None and event.subject_code not in SUBJECTS_BY_CODE:
            # Never processable: to the dead-letter topic with the reason, not retried forever.
            raise EventRejected(f"unknown subject code {event.subject_code!r}")
        if event.kind == "subject_teacher" and event.subject_code is None:
            raise EventRejected("a subject_teacher assignment needs a subject_code")
        if await self.roster.held_elsewhere(session, Assignment, event.assignment_id, school_id):
            raise EventRejected("the assignment id belongs to another school")
        row = await self.roster.assignment(session, school_id, event.assignment_id)
        if row is None:
            row = Assignment(id=event.assignment_id, school_id=school_id)
            self.roster.add(session, row)
        row.school_year = event.school_year
        row.kind = event.kind
        row.teacher_id = event.teacher_id
        row.teacher_name = event.teacher_name
        row.class_id = event.class_id
        row.class_name = event.class_name
        row.grade_level = event.grade_level
        row.subject_code = event.subject_code
        row.active = event.active
        await session.flush()
        if event.kind == "subject_teacher" and event.active and event.subject_code:
            created = await self.sheets.ensure_class_subject_sheets(
                session,
                school_id=school_id,
                school_year=event.school_year,
                class_name=event.class_name,
                class_id=event.class_id,
                subject_code=event.subject_code,
                teacher_id=event.teacher_id,
                teacher_name=event.teacher_name,
            )
            if created:
                log.info("score sheets created", class_name=event.class_name, subject=event.subject_code)
        elif event.kind == "subject_teacher" and event.subject_code:
            await self._unassign_if_nobody_teaches(session, school_id, event)

    async def _unassign_if_nobody_teaches(
        self, session: AsyncSession, school_id: str, event: AssignmentChanged
    ) -> None:
        """The ended teacher no longer holds the sheets still being entered; with no active
        replacement they show no teacher, so nobody can enter or sign them until one arrives."""
        assert event.subject_code is not None
        successor = await self.roster.subject_teacher(
            session, school_id, event.school_year, event.class_id, event.subject_code
        )
        for sheet in await self.roster.subject_sheets(
            session, school_id, event.school_year, event.class_id, event.subject_code
        ):
            if str(sheet.state) not in EDITABLE_STATES:
                continue  # sent to signing or signed: it stays with the teacher who signs it
            if successor is not None:
                sheet.teacher_id, sheet.teacher_name = successor.teacher_id, successor.teacher_name
            elif sheet.teacher_id == event.teacher_id:
                sheet.teacher_id, sheet.teacher_name = NO_TEACHER, UNASSIGNED
        await session.flush()

    async def on_class_renamed(self, session: AsyncSession, school_id: str, event: ClassRenamed) -> None:
        """Sheets, plan, conduct and results follow the class to its new name, in this one
        transaction (the inbox row commits with it, so a redelivery changes nothing)."""
        others = await self.roster.class_ids_named(session, school_id, event.school_year, event.old_name)
        # Only the class plan and conduct log are kept by name alone: leave them if another class
        # has meanwhile taken the old name.
        by_name_too = not (others - {event.class_id})
        if not by_name_too:
            log.warning("old class name reused; plan and conduct log left", class_id=str(event.class_id))
        await self.roster.rename_class(
            session,
            school_id=school_id,
            school_year=event.school_year,
            class_id=event.class_id,
            old_name=event.old_name,
            new_name=event.new_name,
            by_name_too=by_name_too,
        )

    async def on_student_deleted(self, session: AsyncSession, school_id: str, event: StudentDeleted) -> None:
        locked = await self.roster.remove_student(session, school_id, event.student_id)
        if locked:
            # Identity deletes only a student with no history, so a signed line here is unexpected.
            log.warning(
                "deleted student kept on sheets sent to signing",
                sheets=[str(sheet_id) for sheet_id in locked],
            )
