"""HTTP shapes of the province's schools (Sở GD&ĐT): a new school and its first administrator."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from hbs_identity.school.schemas import SchoolOut, Text
from hbs_shared.schools import PROVINCE_SCOPE, SCHOOL_ID_PATTERN


class FirstAdminIn(BaseModel):
    """The school's first administrator (Quản trị hệ thống + Văn phòng), who then sets it up."""

    model_config = ConfigDict(extra="forbid")
    full_name: Text = Field(min_length=1, max_length=200)
    username: Text = Field(min_length=3, max_length=120, pattern=r"^[a-zA-Z0-9._-]+$")


class NewSchoolIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(min_length=2, max_length=63, pattern=SCHOOL_ID_PATTERN)
    """Lower-case letters, digits and dashes; it appears in URLs and event keys, never changes."""
    name: Text = Field(min_length=1, max_length=200)
    authority: Text = Field(min_length=1, max_length=200)
    """Cơ quan chủ quản, e.g. Sở GD&ĐT Hưng Yên."""
    province: Text = Field(min_length=1, max_length=100)
    admin: FirstAdminIn

    @field_validator("id")
    @classmethod
    def _not_the_province(cls, value: str) -> str:
        if value == PROVINCE_SCOPE:
            raise ValueError(f"“{PROVINCE_SCOPE}” là phạm vi của Sở GD&ĐT, không phải mã trường")
        return value


class FirstAdminOut(BaseModel):
    username: str
    password: str
    """A one-time password, shown once: the administrator changes it at first sign-in."""


class NewSchoolOut(BaseModel):
    school: SchoolOut
    admin: FirstAdminOut


class SchoolCounts(BaseModel):
    """One school as the province sees it: counts for its current school year, no one's data."""

    id: str
    name: str
    authority: str
    province: str
    classes: int
    """Classes of the current school year (0 while the school has none)."""
    students: int
    """Students enrolled now in a class of the current year."""
    staff: int
    """Enabled staff accounts."""
