"""HTTP shapes of transfer and graduation packages."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

MAX_STUDENTS_PER_REQUEST = 50
"""A cohort is exported in requests of up to this many students (the caller shows progress)."""


class ExportIn(BaseModel):
    """Xuất hồ sơ: one package per student, sealed; the students are marked as left in identity."""

    model_config = ConfigDict(extra="forbid")

    student_ids: list[uuid.UUID] = Field(min_length=1, max_length=MAX_STUDENTS_PER_REQUEST)
    reason: Literal["transferred", "graduated"]
    mark_left: bool = True
    """Record in identity that the student left (transferred or graduated) once sealed."""


class PackageFileOut(BaseModel):
    name: str
    kind: str
    media_type: str
    sha256: str
    size: int
    school_year: str | None
    class_name: str | None


class PackageOut(BaseModel):
    id: uuid.UUID
    direction: Literal["exported", "imported"]
    reason: str
    student_id: uuid.UUID
    sha256: str
    size: int
    records: int
    sender_school_id: str
    sender_school_name: str
    sender_package_id: uuid.UUID
    receipt_sha256: str | None
    created_at: datetime
    files: list[PackageFileOut]


class ExportedOut(BaseModel):
    package: PackageOut
    student_left: bool
    """Identity recorded the student as left (False: not enrolled any more, or `mark_left` false)."""


class ExportOut(BaseModel):
    exported: list[ExportedOut]


class ImportOut(BaseModel):
    package: PackageOut
    student_created: bool
    """A new student was created from the package's identity data (else linked by mã định danh)."""
    national_id: str
    receipt_url: str
    """The sealed receipt (biên nhận) to send back to the sending school."""


class FileProblemOut(BaseModel):
    file: str
    code: str
    message: str
    detail: str


class InspectionOut(BaseModel):
    """A stored package checked again now, against this installation's trusted roots."""

    sha256: str
    valid: bool
    problems: list[FileProblemOut]
