"""Who may read or write what: teachers and overseers by grades' roster; parents and students
by identity's authorisation API (the roster knows nothing of families)."""

from __future__ import annotations

import uuid

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession

from hbs_grades.models import ScoreSheet
from hbs_grades.roster.repository import RosterRepository
from hbs_shared.auth import Principal
from hbs_shared.authz import AuthzClient
from hbs_shared.problems import Problem
from hbs_shared.roles import BOARD, FAMILY, OVERSEERS

OVERSIGHT_ROLES = tuple(OVERSEERS)
"""Read every sheet, class and record of their school."""
BOARD_ROLES = tuple(BOARD)
"""Ban Giám hiệu: reviews, returns, opens corrections."""
FAMILY_ROLES = tuple(FAMILY)
SHEET_NOT_FOUND = Problem(404, "Không tìm thấy sổ điểm", "no such score sheet", field="sheet_id")
STUDENT_NOT_FOUND = Problem(
    404, "Không tìm thấy học sinh", "no such student, or not one you may see", field="student_id"
)
CLASS_NOT_FOUND = Problem(404, "Không tìm thấy lớp", "no such class, or not yours", field="class_name")


def require_sheet_reader(principal: Principal, sheet: ScoreSheet | None) -> ScoreSheet:
    """A teacher reads their own sheets, overseers every sheet of their school. Another school's
    sheet, or a colleague's, is "not found": its existence is not disclosed."""
    if sheet is None or sheet.school_id != principal.school_id:
        raise SHEET_NOT_FOUND
    if sheet.teacher_id != principal.user_id and not principal.has_role(*OVERSIGHT_ROLES):
        raise SHEET_NOT_FOUND
    return sheet


def require_sheet_teacher(principal: Principal, sheet: ScoreSheet) -> None:
    """Only the assigned subject teacher enters, submits or asks to sign (an overseer reads)."""
    if sheet.teacher_id != principal.user_id:
        raise Problem(
            403,
            "Chỉ giáo viên bộ môn được phân công mới thao tác được sổ điểm này",
            "only the assigned subject teacher may do this",
            field="sheet_id",
        )


def require_board(principal: Principal, title: str, field: str) -> None:
    """Corrections after signing are opened by the board (Đ9)."""
    if not principal.has_role(*BOARD_ROLES):
        raise Problem(403, title, "corrections are opened by the board", field=field)


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
