"""Đ6.1: a discrepancy the homeroom teacher found between a student's front page and the birth
certificate or the original file becomes a change request to the office. Only the homeroom teacher
of the student's current class asks (identity knows the assignments at this moment); the office
applies it through the ordinary student update, so the new version, its reason and the
`identity.student.updated` event follow (grades then sees the check as stale), or rejects it with
a reason; the teacher sees the outcome."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

from pydantic import ValidationError

from hbs_identity.authz.policy import Scope, decide
from hbs_identity.authz.service import AuthzService
from hbs_identity.change_requests.repository import ChangeRequestRepository
from hbs_identity.change_requests.schemas import ChangeRequestIn, ChangeRequestOut
from hbs_identity.errors import ADMIN_ROLES, OVERSEER_ROLES, not_found
from hbs_identity.models import Student, StudentChangeRequest
from hbs_identity.people.schemas import StudentUpdate
from hbs_identity.people.students import StudentService
from hbs_identity.unit import Unit
from hbs_shared.labels import FRONT_PAGE_LABELS
from hbs_shared.problems import Problem


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value.isoformat() if isinstance(value, date) else str(value)


def _out(row: StudentChangeRequest, student_name: str) -> ChangeRequestOut:
    return ChangeRequestOut(
        id=row.id,
        student_id=row.student_id,
        student_name=student_name,
        changes=row.changes,
        current=row.current,
        note=row.note,
        state=row.state,
        requested_by=row.requested_by,
        requested_by_name=row.requested_by_name,
        requested_at=row.requested_at,
        decided_by_name=row.decided_by_name,
        decided_at=row.decided_at,
        decision_reason=row.decision_reason,
        applied_version=row.applied_version,
    )


def proposed_update(changes: dict[str, str], reason: str) -> StudentUpdate:
    """The change as the ordinary student update; a field or value it refuses is a 422 naming it."""
    unknown = sorted(set(changes) - set(FRONT_PAGE_LABELS))
    if unknown:
        raise Problem(
            422,
            f"Không có mục “{unknown[0]}” trên trang bìa học bạ",
            "unknown field",
            field=f"changes.{unknown[0]}",
        )
    try:
        return StudentUpdate.model_validate({"reason": reason, **changes})
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = first.get("loc") or ("changes",)
        name = str(loc[0])
        label = FRONT_PAGE_LABELS.get(name, name)
        raise Problem(
            422, f"Giá trị đề nghị cho “{label}” không hợp lệ", str(first["msg"]), field=f"changes.{name}"
        ) from None


class ChangeRequestService:
    def __init__(self, students: StudentService, repo: ChangeRequestRepository | None = None) -> None:
        self.students = students
        self.repo = repo or ChangeRequestRepository()
        self.authz = AuthzService()

    async def _request(self, unit: Unit, request_id: uuid.UUID) -> tuple[StudentChangeRequest, Student]:
        row = await self.repo.get(unit.session, request_id, lock=True)
        if row is None or row.school_id != unit.school_id:
            raise not_found(f"change request {request_id}")
        student = await self.students.student(unit, row.student_id)
        return row, student

    @staticmethod
    def _office(scope: Scope, verb: str) -> None:
        if not scope.has(ADMIN_ROLES):
            raise Problem(403, f"Chỉ văn phòng {verb} yêu cầu sửa thông tin", "office only")

    @staticmethod
    def _pending(row: StudentChangeRequest) -> None:
        if row.state != "pending":
            raise Problem(
                409,
                "Yêu cầu này đã được xử lý",
                f"the request is already {row.state}",
                field="id",
                extra={"state": row.state},
            )

    async def create(
        self, unit: Unit, scope: Scope, student_id: uuid.UUID, body: ChangeRequestIn
    ) -> ChangeRequestOut:
        target = await self.authz.student_target(unit.session, student_id)
        if target is None or not decide(scope, "student.read", target).allowed:
            raise not_found(f"student {student_id}")  # existence not disclosed
        # The homeroom teacher of the student's current class, and nobody else (not even the office,
        # which changes the data itself).
        if scope.kind != "staff" or not (target.student_current_classes & scope.leads):
            raise Problem(
                403,
                "Chỉ giáo viên chủ nhiệm của học sinh gửi yêu cầu sửa thông tin",
                "not the student's homeroom teacher",
                field="student_id",
            )
        student = await self.students.student(unit, student_id)
        proposed_update(body.changes, body.note)
        assert unit.actor.user_id is not None  # caller_scope refused anonymous callers
        row = StudentChangeRequest(
            id=uuid.uuid4(),
            school_id=unit.school_id,
            student_id=student.id,
            changes=dict(body.changes),
            current={name: _text(getattr(student, name)) for name in body.changes},
            note=body.note,
            student_version=student.version,
            state="pending",
            requested_by=unit.actor.user_id,
            requested_by_name=unit.actor.name,
            requested_at=datetime.now(UTC),
        )
        self.repo.add(unit.session, row)
        await unit.session.flush()
        unit.audit(
            "student.change_requested",
            "student",
            student.id,
            request_id=str(row.id),
            fields=sorted(body.changes),
        )
        return _out(row, student.full_name)

    async def listing(self, unit: Unit, scope: Scope, state: str) -> list[ChangeRequestOut]:
        """The office and the board see the school's; a teacher sees the requests she made."""
        if scope.kind != "staff":
            raise Problem(403, "Chỉ cán bộ, giáo viên xem yêu cầu sửa thông tin", "staff only")
        mine = None if scope.has(OVERSEER_ROLES) else scope.user_id
        rows = await self.repo.listing(unit.session, unit.school_id, state, mine)
        return [_out(row, name) for row, name in rows]

    async def apply(self, unit: Unit, scope: Scope, request_id: uuid.UUID) -> ChangeRequestOut:
        self._office(scope, "áp dụng")
        row, student = await self._request(unit, request_id)
        self._pending(row)
        update = proposed_update(row.changes, f"Theo yêu cầu của GVCN {row.requested_by_name}: {row.note}")
        await self.students.update_student(unit, student, update)
        row.state, row.applied_version = "applied", student.version
        row.decided_by, row.decided_by_name, row.decided_at = (
            unit.actor.user_id,
            unit.actor.name,
            datetime.now(UTC),
        )
        unit.audit(
            "student.change_applied", "student", student.id, request_id=str(row.id), version=student.version
        )
        return _out(row, student.full_name)

    async def reject(self, unit: Unit, scope: Scope, request_id: uuid.UUID, reason: str) -> ChangeRequestOut:
        self._office(scope, "từ chối")
        row, student = await self._request(unit, request_id)
        self._pending(row)
        row.state, row.decision_reason = "rejected", reason
        row.decided_by, row.decided_by_name, row.decided_at = (
            unit.actor.user_id,
            unit.actor.name,
            datetime.now(UTC),
        )
        unit.audit("student.change_rejected", "student", student.id, request_id=str(row.id), reason=reason)
        return _out(row, student.full_name)
