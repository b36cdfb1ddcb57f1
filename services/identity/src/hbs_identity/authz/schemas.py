"""HTTP shapes of the authorisation API (hbs_shared.authz mirrors the answers for callers)."""

from __future__ import annotations

import uuid

from pydantic import BaseModel, Field


class CheckRequest(BaseModel):
    action: str = Field(min_length=1, max_length=60)
    """One of hbs_identity.authz.policy.ACTIONS, e.g. `class_subject.teach`."""
    object_id: uuid.UUID | None = None
    """The student or class the action is about (none for school-wide actions)."""
    subject_code: str | None = Field(default=None, max_length=40)
    user_id: uuid.UUID | None = None
    """Ask about another user (system admins only); default: the caller."""


class CheckResponse(BaseModel):
    allowed: bool
    reason: str
    action: str
    user_id: uuid.UUID


class TaughtClass(BaseModel):
    class_id: uuid.UUID
    class_name: str
    grade_level: int
    subject_code: str
    school_year: str


class LedClass(BaseModel):
    class_id: uuid.UUID
    class_name: str
    grade_level: int
    school_year: str


class ScopeResponse(BaseModel):
    user_id: uuid.UUID
    kind: str
    roles: list[str]
    school_id: str
    teaching: list[TaughtClass]
    homeroom: list[LedClass]
    children: list[uuid.UUID]
    """Students a parent may see."""
    student_id: uuid.UUID | None
    """The caller's own student id, for students."""
