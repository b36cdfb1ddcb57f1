"""Who may do what on which object: pure rules over a user's scope (no I/O, unit-testable).

Actions (the object each is about):
- `student.read` (student): the student themself, their parents, the teachers of any class the
  student was enrolled in (subject or homeroom), and the school's board and admins (Đ6, Đ9).
- `student.update` (student): personal data, by the office/system admins or by the homeroom
  teacher of the student's current class (Đ6: they check it against the birth certificate).
- `class.read` (class): class list, by its teachers and the school's board and admins.
- `class.lead` (class): homeroom work (conduct, signing the class's records), its homeroom teacher only.
- `class_subject.teach` (class + subject_code): enter and sign a subject's scores, the assigned teacher only.
- `record.review` (school): the vice-principals' and principal's review (Đ4).
- `record.approve` (school): the principal's approval and seal (Đ3).
- `school.admin` (school): structure, people and accounts (Đ7), the office and system admins.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from hbs_identity.errors import ADMIN_ROLES, OVERSEER_ROLES
from hbs_shared.roles import BOARD, Role

ACTIONS: dict[str, str] = {
    "student.read": "student",
    "student.update": "student",
    "class.read": "class",
    "class.lead": "class",
    "class_subject.teach": "class",
    "record.review": "school",
    "record.approve": "school",
    "school.admin": "school",
}


@dataclass(frozen=True)
class Scope:
    """What a user is linked to, loaded from identity's tables."""

    user_id: uuid.UUID
    school_id: str
    roles: frozenset[str]
    kind: str = "staff"
    disabled: bool = False
    teaches: frozenset[tuple[uuid.UUID, str]] = frozenset()
    """(class id, subject code) of every active teaching assignment."""
    leads: frozenset[uuid.UUID] = frozenset()
    """Class ids where the user is the active homeroom teacher."""
    children: frozenset[uuid.UUID] = frozenset()
    """Student ids a parent is linked to."""

    @property
    def class_ids(self) -> frozenset[uuid.UUID]:
        return frozenset(c for c, _ in self.teaches) | self.leads

    def has(self, roles: frozenset[str]) -> bool:
        return self.kind == "staff" and bool(self.roles & roles)


@dataclass(frozen=True)
class Target:
    """The object asked about, with the facts the rules need."""

    school_id: str
    student_id: uuid.UUID | None = None
    class_id: uuid.UUID | None = None
    subject_code: str | None = None
    student_classes: frozenset[uuid.UUID] = field(default_factory=frozenset)
    """Every class the student was ever enrolled in."""
    student_current_classes: frozenset[uuid.UUID] = field(default_factory=frozenset)


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str


def decide(scope: Scope, action: str, target: Target) -> Decision:
    if action not in ACTIONS:
        return Decision(False, f"unknown action {action}")
    if scope.disabled:
        return Decision(False, "account disabled")
    if target.school_id != scope.school_id:
        return Decision(False, "another school")
    if action == "student.read":
        if target.student_id is not None and target.student_id == scope.user_id:
            return Decision(True, "own record")
        if scope.kind == "parent":
            ok = target.student_id in scope.children
            return Decision(ok, "own child" if ok else "not this parent's child")
        if scope.has(OVERSEER_ROLES):
            return Decision(True, "board or admin of the school")
        ok = scope.kind == "staff" and bool(target.student_classes & scope.class_ids)
        return Decision(ok, "teaches the student's class" if ok else "does not teach the student")
    if action == "student.update":
        if scope.has(ADMIN_ROLES):
            return Decision(True, "school admin")
        ok = scope.kind == "staff" and bool(target.student_current_classes & scope.leads)
        return Decision(ok, "homeroom teacher of the student" if ok else "not the student's homeroom teacher")
    if action == "class.read":
        if scope.has(OVERSEER_ROLES):
            return Decision(True, "board or admin of the school")
        ok = scope.kind == "staff" and target.class_id in scope.class_ids
        return Decision(ok, "teaches the class" if ok else "does not teach the class")
    if action == "class.lead":
        ok = scope.kind == "staff" and target.class_id in scope.leads
        return Decision(ok, "homeroom teacher of the class" if ok else "not the class's homeroom teacher")
    if action == "class_subject.teach":
        ok = (
            scope.kind == "staff"
            and target.class_id is not None
            and target.subject_code is not None
            and (target.class_id, target.subject_code) in scope.teaches
        )
        return Decision(ok, "assigned to teach it" if ok else "not assigned to this class and subject")
    if action == "record.review":
        ok = scope.has(BOARD)
        return Decision(ok, "board member" if ok else "not a board member")
    if action == "record.approve":
        ok = scope.has(frozenset({Role.principal}))
        return Decision(ok, "principal" if ok else "not the principal")
    ok = scope.has(ADMIN_ROLES)  # school.admin
    return Decision(ok, "school admin" if ok else "not a school admin")
