"""HTTP shapes of change requests on a student's personal data (yêu cầu sửa thông tin cá nhân)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from hbs_identity.school.schemas import Text

State = Literal["pending", "applied", "rejected"]
Listing = Literal["pending", "applied", "rejected", "all"]
FieldName = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[a-z_]+$")]
Value = Annotated[Text, Field(max_length=300, pattern=r"^[^\x00-\x1f\x7f]*$")]
Note = Annotated[Text, Field(min_length=5, max_length=1000, pattern=r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$")]


class ChangeRequestIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    changes: dict[FieldName, Value] = Field(min_length=1, max_length=12)
    """Front-page field → the value the birth certificate or the original file shows
    (dates as yyyy-mm-dd, gender male/female)."""
    note: Note


class RejectIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Annotated[Text, Field(min_length=5, max_length=500, pattern=r"^[^\x00-\x1f\x7f]*$")]


class ChangeRequestOut(BaseModel):
    id: uuid.UUID
    student_id: uuid.UUID
    student_name: str
    changes: dict[str, str]
    current: dict[str, str]
    note: str
    state: State
    requested_by: uuid.UUID
    requested_by_name: str
    requested_at: datetime
    decided_by_name: str | None
    decided_at: datetime | None
    decision_reason: str | None
    applied_version: int | None
