"""Who may read or write what: teachers and overseers by grades' roster; parents and students
by identity's authorisation API (the roster knows nothing of families)."""

from __future__ import annotations

import uuid

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession

from hbs_grades.roster.repository import RosterRepository
from hbs_grades.sheets.service import OVERSIGHT_ROLES
from hbs_shared.auth import Principal
from hbs_shared.authz import AuthzClient
from hbs_shared.problems import Problem
from hbs_shared.roles import FAMILY

FAMILY_ROLES = tuple(FAMILY)
STUDENT_NOT_FOUND = Problem(
    404, "Không tìm thấy học sinh", "no such student, or not one you may see", field="student_id"
)
CLASS_NOT_FOUND = Problem(404, "Không tìm thấy lớp", "no such class, or not yours", field="class_name")


async def require_class_reader(
    session: AsyncSession, roster: RosterRepository, principal: Principal, school_year: str, class_name: str
) -> None:
    """Overseers read every class; a teacher reads the classes they teach or are homeroom of."""
    if principal.has_role(*OVERSIGHT_ROLES):
        return
    assignments = await roster.active_assignments(
        session, principal.school_id, school_year, principal.user_id
    )
    if not any(a.class_name == class_name for a in assignments):
        raise CLASS_NOT_FOUND


async def require_homeroom(
    session: AsyncSession, roster: RosterRepository, principal: Principal, school_year: str, class_name: str
) -> None:
    """Conduct, attendance, summer training and re-examination results: the homeroom teacher (Đ6)."""
    await require_class_reader(session, roster, principal, school_year, class_name)
    homeroom = await roster.homeroom_teachers(session, principal.school_id, school_year, class_name)
    if not any(a.teacher_id == principal.user_id for a in homeroom):
        raise Problem(
            403,
            "Chỉ giáo viên chủ nhiệm của lớp mới nhập được mục này",
            "only the class's homeroom teacher may do this",
            field="class_name",
        )


def authz_of(request: Request) -> AuthzClient:
    authz: AuthzClient = request.app.state.authz
    return authz


def is_family(principal: Principal) -> bool:
    return principal.has_role(*FAMILY_ROLES)


async def require_family_reader(authz: AuthzClient, principal: Principal, student_id: uuid.UUID) -> None:
    """A parent reads only their own children, a student only themself (Đ9): identity decides,
    from its links at this moment. Anyone else's child is 404, so existence is not disclosed."""
    if not is_family(principal):
        raise Problem(
            403, "Trang này dành cho phụ huynh và học sinh", "parents and students only", field="student_id"
        )
    if not await authz.allowed(principal.token, "student.read", student_id):
        raise STUDENT_NOT_FOUND
