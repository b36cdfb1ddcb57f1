"""HTTP shapes of assignments."""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import BaseModel, Field, model_validator

from hbs_shared.curriculum import SUBJECTS_BY_CODE
from hbs_shared.roles import Role

Kind = Literal[Role.subject_teacher, Role.homeroom_teacher]


class AssignmentIn(BaseModel):
    kind: Kind
    teacher_id: uuid.UUID
    class_id: uuid.UUID
    subject_code: str | None = Field(default=None, max_length=40)
    """A code of hbs_shared.curriculum (TOAN, NGU_VAN, …) for a subject teacher; none for homeroom."""
    replace: bool = False
    """End the current assignment of that class (and subject) first instead of refusing."""

    @model_validator(mode="after")
    def _subject_fits_kind(self) -> AssignmentIn:
        if self.kind == "subject_teacher":
            if self.subject_code is None:
                raise ValueError("subject_code is required for a subject teacher")
            self.subject_code = self.subject_code.strip().upper()
            if self.subject_code not in SUBJECTS_BY_CODE:
                raise ValueError(f"subject_code: unknown subject code {self.subject_code!r}")
        elif self.subject_code is not None:
            raise ValueError("subject_code must be empty for a homeroom teacher")
        return self


class AssignmentOut(BaseModel):
    id: uuid.UUID
    kind: Kind
    teacher_id: uuid.UUID
    teacher_name: str
    class_id: uuid.UUID
    class_name: str
    grade_level: int
    subject_code: str | None
    subject_name: str | None
    school_year: str
    active: bool
