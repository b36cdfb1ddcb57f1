"""HTTP shapes of the school's structure."""

from __future__ import annotations

import re
import uuid
from datetime import date
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from hbs_identity.text import nfc


def _nfc(value: object) -> object:
    return nfc(value) if isinstance(value, str) else value


def _nfc_or_none(value: object) -> object:
    if isinstance(value, str):
        value = nfc(value)
        return value or None
    return value


Text = Annotated[str, BeforeValidator(_nfc)]
OptionalText = Annotated[str | None, BeforeValidator(_nfc_or_none)]
YearName = Annotated[str, Field(pattern=r"^\d{4}-\d{4}$", max_length=9), BeforeValidator(_nfc)]
"""Constraints before the validator, so they also appear in the OpenAPI document."""


class SchoolOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    name: str
    authority: str
    province: str


class SchoolIn(BaseModel):
    name: Text = Field(min_length=1, max_length=200)
    authority: Text = Field(default="", max_length=200)
    province: Text = Field(default="", max_length=100)


class YearIn(BaseModel):
    name: YearName
    semester1_start: date
    semester1_end: date
    semester2_start: date
    semester2_end: date
    current: bool = False

    @model_validator(mode="after")
    def _dates_in_order(self) -> YearIn:
        first, second = (int(part) for part in self.name.split("-"))
        if second != first + 1:
            raise ValueError("name: a school year spans two consecutive years, e.g. 2026-2027")
        if not self.semester1_start < self.semester1_end < self.semester2_start < self.semester2_end:
            raise ValueError("semester dates must be in order: I start < I end < II start < II end")
        if self.semester1_start.year != first or self.semester2_end.year != second:
            raise ValueError(f"semester dates must fall within {self.name}")
        return self


class YearChange(BaseModel):
    """Only the fields sent change; the result is checked like a new year."""

    model_config = ConfigDict(extra="forbid")
    name: YearName | None = None
    semester1_start: date | None = None
    semester1_end: date | None = None
    semester2_start: date | None = None
    semester2_end: date | None = None


class YearOut(YearIn):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID


class DepartmentIn(BaseModel):
    name: Text = Field(min_length=1, max_length=120)


class DepartmentChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Text = Field(min_length=1, max_length=120)


class DepartmentOut(DepartmentIn):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID


_LEADING_GRADE = re.compile(r"^(\d{2})")


class ClassIn(BaseModel):
    name: Text = Field(min_length=1, max_length=40)
    grade_level: int = Field(ge=10, le=12)
    school_year: YearName

    @model_validator(mode="after")
    def _grade_matches_name(self) -> ClassIn:
        match = _LEADING_GRADE.match(self.name)
        if match and int(match.group(1)) != self.grade_level:
            raise ValueError(f"grade_level {self.grade_level} does not match class name {self.name!r}")
        return self


class ClassChange(BaseModel):
    """Đổi tên lớp: the grade level stays; a leading number in the name must still match it."""

    model_config = ConfigDict(extra="forbid")
    name: Text = Field(min_length=1, max_length=40)


class ClassOut(BaseModel):
    id: uuid.UUID
    name: str
    grade_level: int
    school_year: str
    homeroom_teacher_id: uuid.UUID | None = None
    homeroom_teacher_name: str | None = None
    students: int | None = None
