"""HTTP shapes of students, parents and staff. Text is NFC-normalised on input."""

from __future__ import annotations

import re
import uuid
from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from hbs_identity.school.schemas import OptionalText, Text
from hbs_identity.text import ethnic_group
from hbs_shared.display import school_today
from hbs_shared.roles import PROVINCE

Gender = Literal["male", "female"]
LeaveReason = Literal["transferred", "dropped_out", "graduated", "other"]
Relationship = Literal["father", "mother", "guardian"]
_PHONE = re.compile(r"^0\d{9}$")

PERSONAL_FIELDS: tuple[str, ...] = (
    "national_id",
    "full_name",
    "date_of_birth",
    "birthplace",
    "gender",
    "ethnicity",
    "nationality",
    "address",
    "citizen_id",
    "father_name",
    "father_occupation",
    "mother_name",
    "mother_occupation",
    "guardian_name",
    "guardian_occupation",
    "policy_group",
    "disability",
)

MAX_OFFSET = 1_000_000
ROLE_PATTERN = r"^(principal|vice_principal|subject_teacher|homeroom_teacher|office_admin|system_admin)$"
"""Far beyond any school's list; a larger offset is a 422, never a database overflow (500)."""


def normalise_phone(value: str) -> str:
    digits = re.sub(r"[\s.\-()]", "", value)
    if digits.startswith("+84"):
        digits = "0" + digits[3:]
    elif digits.startswith("84") and len(digits) == 11:
        digits = "0" + digits[2:]
    if not _PHONE.match(digits):
        raise ValueError("số điện thoại có 10 chữ số, bắt đầu bằng 0")
    return digits


def _no_province_role(value: object) -> object:
    """Named on `roles` itself, before the list's items are checked one by one."""
    if isinstance(value, list) and PROVINCE.intersection(v for v in value if isinstance(v, str)):
        raise ValueError("vai trò của Sở GD&ĐT không cấp cho tài khoản của trường")
    return value


def _ethnicity(value: str) -> str:
    official = ethnic_group(value)
    if official is None:
        raise ValueError(f"“{value}” không thuộc danh mục 54 dân tộc Việt Nam")
    return official


def _birth_date(value: date) -> date:
    today = school_today()
    if value > today:
        raise ValueError("ngày sinh ở tương lai")
    if not 10 <= today.year - value.year <= 40:
        raise ValueError("ngày sinh không phù hợp với học sinh trung học phổ thông")
    return value


class StudentFields(BaseModel):
    full_name: Text = Field(min_length=1, max_length=200)
    date_of_birth: date
    birthplace: Text = Field(min_length=1, max_length=200)
    gender: Gender
    ethnicity: Text = Field(default="Kinh", max_length=40)
    nationality: Text = Field(default="Việt Nam", min_length=1, max_length=60)
    address: Text = Field(default="", max_length=300)
    citizen_id: OptionalText = Field(default=None, pattern=r"^\d{12}$")
    father_name: OptionalText = Field(default=None, max_length=200)
    father_occupation: OptionalText = Field(default=None, max_length=120)
    mother_name: OptionalText = Field(default=None, max_length=200)
    mother_occupation: OptionalText = Field(default=None, max_length=120)
    guardian_name: OptionalText = Field(default=None, max_length=200)
    guardian_occupation: OptionalText = Field(default=None, max_length=120)
    policy_group: OptionalText = Field(default=None, max_length=200)
    disability: bool = False

    _check_ethnicity = field_validator("ethnicity")(_ethnicity)
    _check_birth = field_validator("date_of_birth")(_birth_date)


class StudentIn(StudentFields):
    national_id: Text = Field(min_length=1, max_length=32)
    """Mã định danh; its format is the setting `national_id_pattern`."""
    class_id: uuid.UUID | None = None
    """Enrol at once in this class (of its school year)."""
    enrolled_on: date | None = None


class StudentUpdate(BaseModel):
    """Only the fields sent change; `reason` is kept with the new version."""

    model_config = ConfigDict(extra="forbid")

    reason: Text = Field(min_length=3, max_length=500)
    expected_version: int | None = Field(default=None, ge=1, le=2_147_483_647)
    national_id: Text | None = Field(default=None, min_length=1, max_length=32)
    full_name: Text | None = Field(default=None, min_length=1, max_length=200)
    date_of_birth: date | None = None
    birthplace: Text | None = Field(default=None, min_length=1, max_length=200)
    gender: Gender | None = None
    ethnicity: Text | None = Field(default=None, max_length=40)
    nationality: Text | None = Field(default=None, min_length=1, max_length=60)
    address: Text | None = Field(default=None, max_length=300)
    citizen_id: OptionalText = Field(default=None, pattern=r"^\d{12}$")
    father_name: OptionalText = Field(default=None, max_length=200)
    father_occupation: OptionalText = Field(default=None, max_length=120)
    mother_name: OptionalText = Field(default=None, max_length=200)
    mother_occupation: OptionalText = Field(default=None, max_length=120)
    guardian_name: OptionalText = Field(default=None, max_length=200)
    guardian_occupation: OptionalText = Field(default=None, max_length=120)
    policy_group: OptionalText = Field(default=None, max_length=200)
    disability: bool | None = None

    @field_validator("ethnicity")
    @classmethod
    def _check_ethnicity(cls, value: str | None) -> str | None:
        return None if value is None else _ethnicity(value)

    @field_validator("date_of_birth")
    @classmethod
    def _check_birth(cls, value: date | None) -> date | None:
        return None if value is None else _birth_date(value)


class EnrolmentOut(BaseModel):
    id: uuid.UUID
    class_id: uuid.UUID
    class_name: str
    school_year: str
    enrolled_on: date
    left_on: date | None
    leave_reason: str | None
    previous_class_id: uuid.UUID | None


class StudentOut(StudentFields):
    id: uuid.UUID
    national_id: str
    version: int
    current_class_id: uuid.UUID | None = None
    current_class_name: str | None = None


class StudentSummary(BaseModel):
    id: uuid.UUID
    national_id: str
    full_name: str
    date_of_birth: date
    gender: Gender
    class_name: str | None = None


class StudentSearch(BaseModel):
    """Tìm học sinh: the words go in a body, never in a URL."""

    model_config = ConfigDict(extra="forbid")
    q: OptionalText = Field(default=None, max_length=100)
    class_id: uuid.UUID | None = None
    limit: int = Field(default=50, ge=1, le=500)
    offset: int = Field(default=0, ge=0, le=MAX_OFFSET)


class PeopleSearch(BaseModel):
    """Tìm phụ huynh / cán bộ: the words go in a body, never in a URL."""

    model_config = ConfigDict(extra="forbid")
    q: OptionalText = Field(default=None, max_length=100)
    role: str | None = Field(default=None, max_length=40, pattern=ROLE_PATTERN)
    limit: int = Field(default=50, ge=1, le=500)
    offset: int = Field(default=0, ge=0, le=MAX_OFFSET)


class StudentPage(BaseModel):
    total: int
    items: list[StudentSummary]


class VersionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    version: int
    data: dict[str, object]
    changed_fields: list[str]
    changed_by: uuid.UUID | None
    changed_by_name: str
    changed_at: object
    reason: str


class EnrolIn(BaseModel):
    class_id: uuid.UUID
    enrolled_on: date


class LeaveIn(BaseModel):
    left_on: date
    reason: LeaveReason
    school_year: str | None = Field(default=None, pattern=r"^\d{4}-\d{4}$", max_length=9)


class ChildLink(BaseModel):
    student_id: uuid.UUID
    relationship: Relationship


class ParentIn(BaseModel):
    full_name: Text = Field(min_length=1, max_length=200)
    phone: OptionalText = Field(default=None, max_length=20)
    username: OptionalText = Field(default=None, min_length=3, max_length=120, pattern=r"^[a-zA-Z0-9._-]+$")
    children: list[ChildLink] = Field(default_factory=list)

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        return None if value is None else normalise_phone(value)


class ParentUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    full_name: Text | None = Field(default=None, min_length=1, max_length=200)
    phone: OptionalText = Field(default=None, max_length=20)

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        return None if value is None else normalise_phone(value)


class ParentOut(BaseModel):
    id: uuid.UUID
    full_name: str
    phone: str | None
    username: str
    children: list[ChildLink]


class StaffIn(BaseModel):
    username: Text = Field(min_length=3, max_length=120, pattern=r"^[a-zA-Z0-9._-]+$")
    full_name: Text = Field(min_length=1, max_length=200)
    roles: list[
        Literal[
            "principal",
            "vice_principal",
            "subject_teacher",
            "homeroom_teacher",
            "office_admin",
            "system_admin",
        ]
    ] = Field(min_length=1)
    department_id: uuid.UUID | None = None
    email: OptionalText = Field(default=None, max_length=200, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    phone: OptionalText = Field(default=None, max_length=20)

    _check_roles = field_validator("roles", mode="before")(_no_province_role)

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        return None if value is None else normalise_phone(value)


class StaffUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    full_name: Text | None = Field(default=None, min_length=1, max_length=200)
    roles: (
        list[
            Literal[
                "principal",
                "vice_principal",
                "subject_teacher",
                "homeroom_teacher",
                "office_admin",
                "system_admin",
            ]
        ]
        | None
    ) = Field(default=None, min_length=1)
    department_id: uuid.UUID | None = None
    email: OptionalText = Field(default=None, max_length=200, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    phone: OptionalText = Field(default=None, max_length=20)

    _check_roles = field_validator("roles", mode="before")(_no_province_role)


class StaffOut(BaseModel):
    id: uuid.UUID
    username: str
    full_name: str
    roles: list[str]
    department_id: uuid.UUID | None
    department_name: str | None = None
    email: str | None
    phone: str | None
    disabled: bool
