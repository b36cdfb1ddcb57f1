"""Identity's events: what other services learn about people and the school's structure.

Identity is the owner; grades keeps a local copy (class lists, assignments) from these.
Personal data travels only as far as grades needs: a class list and the front page of the year
record it assembles for signing (DOMAIN §3b). The front-page fields were added later with
defaults, so an event written before them still validates (same event_version).
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import ClassVar, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from hbs_shared.events.envelope import EventPayload
from hbs_shared.roles import Role

IDENTITY_STUDENTS_TOPIC = "identity.students"
IDENTITY_ASSIGNMENTS_TOPIC = "identity.assignments"
IDENTITY_ACCOUNTS_TOPIC = "identity.accounts"
IDENTITY_STRUCTURE_TOPIC = "identity.structure"

_YEAR = r"^\d{4}-\d{4}$"


class FrontPageData(BaseModel):
    """The student's current personal data for the học bạ front page, as identity stores it.

    Not an event itself: StudentEnrolled and StudentUpdated carry these fields. Empty text means
    identity has none (no guardian, no policy group)."""

    birthplace: str = Field(default="", max_length=300)
    ethnicity: str = Field(default="", max_length=60)
    """The official Vietnamese name of the ethnic group ("Kinh", "Khơ-me")."""
    nationality: str = Field(default="Việt Nam", max_length=60)
    address: str = Field(default="", max_length=300)
    father_name: str = Field(default="", max_length=200)
    mother_name: str = Field(default="", max_length=200)
    guardian_name: str = Field(default="", max_length=200)
    policy_group: str = Field(default="", max_length=200)
    """The label of the student's policy group (đối tượng chính sách), e.g. "Con thương binh"."""


FRONT_PAGE_FIELDS: tuple[str, ...] = tuple(FrontPageData.model_fields)
"""The front page's personal data beyond a class list's; absent from events written before them."""


class StudentEnrolled(EventPayload, FrontPageData):
    """A student was enrolled in a class for a school year (new, or moved from another class)."""

    event_type: ClassVar[str] = "identity.student.enrolled"
    event_version: ClassVar[int] = 1
    topic: ClassVar[str] = IDENTITY_STUDENTS_TOPIC

    student_id: uuid.UUID
    national_id: str = Field(min_length=1, max_length=32)
    """Mã định danh from the sector database."""
    full_name: str = Field(min_length=1, max_length=200)
    date_of_birth: date
    gender: Literal["male", "female"]
    class_id: uuid.UUID
    class_name: str = Field(min_length=1, max_length=40)
    grade_level: int = Field(ge=10, le=12)
    school_year: str = Field(pattern=_YEAR)
    enrolled_on: date
    previous_class_id: uuid.UUID | None = None
    disability: bool = False

    def partition_key(self) -> str:
        return str(self.student_id)


class StudentUpdated(EventPayload, FrontPageData):
    """Personal data of a student changed (a new version is kept in identity)."""

    event_type: ClassVar[str] = "identity.student.updated"
    event_version: ClassVar[int] = 1
    topic: ClassVar[str] = IDENTITY_STUDENTS_TOPIC

    student_id: uuid.UUID
    national_id: str = Field(min_length=1, max_length=32)
    full_name: str = Field(min_length=1, max_length=200)
    date_of_birth: date
    gender: Literal["male", "female"]
    disability: bool = False
    changed_fields: list[str]
    personal_data_version: int = Field(ge=1)

    def partition_key(self) -> str:
        return str(self.student_id)


class StudentLeft(EventPayload):
    """A student left a class (transfer out, dropped out, graduated)."""

    event_type: ClassVar[str] = "identity.student.left"
    event_version: ClassVar[int] = 1
    topic: ClassVar[str] = IDENTITY_STUDENTS_TOPIC

    student_id: uuid.UUID
    class_id: uuid.UUID
    school_year: str = Field(pattern=_YEAR)
    left_on: date
    reason: Literal["transferred", "dropped_out", "graduated", "other"]

    def partition_key(self) -> str:
        return str(self.student_id)


class StudentDeleted(EventPayload):
    """A student entered by mistake was deleted (never one who has a history: they leave)."""

    event_type: ClassVar[str] = "identity.student.deleted"
    event_version: ClassVar[int] = 1
    topic: ClassVar[str] = IDENTITY_STUDENTS_TOPIC

    student_id: uuid.UUID
    class_id: uuid.UUID | None = None
    """The one class they were enrolled in by mistake, if any."""
    school_year: str | None = Field(default=None, pattern=_YEAR)

    def partition_key(self) -> str:
        return str(self.student_id)


class ClassRenamed(EventPayload):
    """A class was renamed (10A1 → 10A01); everything kept under its name follows.

    On the assignments topic, keyed by class like the class's assignments, so grades applies
    them in the order identity made them."""

    event_type: ClassVar[str] = "identity.class.renamed"
    event_version: ClassVar[int] = 1
    topic: ClassVar[str] = IDENTITY_ASSIGNMENTS_TOPIC

    class_id: uuid.UUID
    school_id: str = Field(min_length=1, max_length=64)
    school_year: str = Field(pattern=_YEAR)
    old_name: str = Field(min_length=1, max_length=40)
    new_name: str = Field(min_length=1, max_length=40)

    def partition_key(self) -> str:
        return str(self.class_id)


class ClassDeleted(EventPayload):
    """A class nobody was ever enrolled in nor assigned to was deleted."""

    event_type: ClassVar[str] = "identity.class.deleted"
    event_version: ClassVar[int] = 1
    topic: ClassVar[str] = IDENTITY_STRUCTURE_TOPIC

    class_id: uuid.UUID
    school_id: str = Field(min_length=1, max_length=64)
    school_year: str = Field(pattern=_YEAR)
    name: str = Field(min_length=1, max_length=40)

    def partition_key(self) -> str:
        return str(self.class_id)


class SchoolYearChanged(EventPayload):
    """A school year's label or semester dates changed (its label only while it has no class)."""

    event_type: ClassVar[str] = "identity.school_year.changed"
    event_version: ClassVar[int] = 1
    topic: ClassVar[str] = IDENTITY_STRUCTURE_TOPIC

    school_year_id: uuid.UUID
    school_id: str = Field(min_length=1, max_length=64)
    old_name: str = Field(pattern=_YEAR)
    name: str = Field(pattern=_YEAR)
    semester1_start: date
    semester1_end: date
    semester2_start: date
    semester2_end: date

    def partition_key(self) -> str:
        return str(self.school_year_id)


class SchoolYearDeleted(EventPayload):
    """A school year with no class was deleted."""

    event_type: ClassVar[str] = "identity.school_year.deleted"
    event_version: ClassVar[int] = 1
    topic: ClassVar[str] = IDENTITY_STRUCTURE_TOPIC

    school_year_id: uuid.UUID
    school_id: str = Field(min_length=1, max_length=64)
    name: str = Field(pattern=_YEAR)

    def partition_key(self) -> str:
        return str(self.school_year_id)


class CurrentYear(BaseModel):
    """The school's current year (năm học) and its two semesters, as identity holds them."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=_YEAR)
    semester1_start: date
    semester1_end: date
    semester2_start: date
    semester2_end: date


class SchoolChanged(EventPayload):
    """The school's facts as identity holds them now: name, province, principal, current year.

    Identity owns them; grades and signing print them on what is signed and keep a copy keyed by
    school. Sent whole on every change of the school, its years or its board (and at identity's
    start), so the latest one replaces the copy."""

    event_type: ClassVar[str] = "identity.school.changed"
    event_version: ClassVar[int] = 1
    topic: ClassVar[str] = IDENTITY_STRUCTURE_TOPIC

    school_id: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=200)
    authority: str = Field(default="", max_length=200)
    """Cơ quan chủ quản, e.g. Sở GD&ĐT Hưng Yên."""
    province: str = Field(default="", max_length=100)
    """Empty while the school has not declared it."""
    principal_name: str = Field(default="", max_length=200)
    """The principal (Hiệu trưởng) named on the year record; empty while the school has none."""
    current_year: CurrentYear | None = None
    """None while no school year is current."""

    def partition_key(self) -> str:
        return self.school_id


class DepartmentRenamed(EventPayload):
    """A department (tổ chuyên môn) was renamed."""

    event_type: ClassVar[str] = "identity.department.renamed"
    event_version: ClassVar[int] = 1
    topic: ClassVar[str] = IDENTITY_STRUCTURE_TOPIC

    department_id: uuid.UUID
    school_id: str = Field(min_length=1, max_length=64)
    old_name: str = Field(min_length=1, max_length=120)
    new_name: str = Field(min_length=1, max_length=120)

    def partition_key(self) -> str:
        return str(self.department_id)


class DepartmentDeleted(EventPayload):
    """A department with no staff in it was deleted."""

    event_type: ClassVar[str] = "identity.department.deleted"
    event_version: ClassVar[int] = 1
    topic: ClassVar[str] = IDENTITY_STRUCTURE_TOPIC

    department_id: uuid.UUID
    school_id: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=120)

    def partition_key(self) -> str:
        return str(self.department_id)


class AssignmentChanged(EventPayload):
    """A teaching or homeroom assignment was made, changed or ended."""

    event_type: ClassVar[str] = "identity.assignment.changed"
    event_version: ClassVar[int] = 1
    topic: ClassVar[str] = IDENTITY_ASSIGNMENTS_TOPIC

    assignment_id: uuid.UUID
    kind: Literal[Role.subject_teacher, Role.homeroom_teacher]
    teacher_id: uuid.UUID
    teacher_name: str = Field(min_length=1, max_length=200)
    class_id: uuid.UUID
    class_name: str = Field(min_length=1, max_length=40)
    grade_level: int = Field(ge=10, le=12)
    subject_code: str | None = Field(default=None, max_length=40)
    """A code of hbs_shared.curriculum for subject_teacher; None for homeroom_teacher."""
    school_year: str = Field(pattern=_YEAR)
    active: bool
    teacher_email: str | None = Field(default=None, max_length=200)
    """The teacher's e-mail address as identity holds it (None: none stored); grades sends the
    board's reminders to it. Added with a default, same version: older events still validate."""

    def partition_key(self) -> str:
        return str(self.class_id)


class AccountDisabled(EventPayload):
    """An account was disabled; its tokens stop working within one access-token lifetime."""

    event_type: ClassVar[str] = "identity.account.disabled"
    event_version: ClassVar[int] = 1
    topic: ClassVar[str] = IDENTITY_ACCOUNTS_TOPIC

    user_id: uuid.UUID
    disabled_at: AwareDatetime

    def partition_key(self) -> str:
        return str(self.user_id)


class AccountFactorReset(EventPayload):
    """A sign-in or signing factor of an account was reset, approved by a second board member.

    Signing consumes it: after any reset the owner must set a new signing PIN in their own
    session before they can sign again, so no single person other than the signer can cause a
    signature in the signer's name (the two-person rule, docs/architecture.md)."""

    event_type: ClassVar[str] = "identity.account.factor_reset"
    event_version: ClassVar[int] = 1
    topic: ClassVar[str] = IDENTITY_ACCOUNTS_TOPIC

    user_id: uuid.UUID
    """The account whose factor was reset (the owner)."""
    factor: Literal["password", "totp", "signing_pin"]
    reset_id: uuid.UUID
    """Identity's reset request, for the audit trail."""
    requested_by: uuid.UUID
    approved_by: uuid.UUID
    """Never the requester and never the owner."""
    approved_at: AwareDatetime

    def partition_key(self) -> str:
        return str(self.user_id)


STRUCTURE_EVENTS: tuple[type[EventPayload], ...] = (
    SchoolChanged,
    SchoolYearChanged,
    SchoolYearDeleted,
    ClassDeleted,
    DepartmentRenamed,
    DepartmentDeleted,
)
"""Every event `identity.structure` carries: a consumer registers them all (and handles the ones
it needs) so the others are skipped, not dead-lettered as unknown."""
