"""Loading scopes and targets, and answering "may U do A on O"."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from hbs_identity.authz.policy import ACTIONS, Decision, Scope, Target, decide
from hbs_identity.authz.repository import ScopeRepository
from hbs_identity.people.repository import PeopleRepository
from hbs_identity.school.repository import SchoolRepository


class AuthzService:
    def __init__(self) -> None:
        self.repo = ScopeRepository()
        self.people = PeopleRepository()
        self.schools = SchoolRepository()

    async def scope(self, session: AsyncSession, user_id: uuid.UUID) -> Scope | None:
        account = await self.repo.account(session, user_id)
        if account is None:
            return None
        teaches: set[tuple[uuid.UUID, str]] = set()
        leads: set[uuid.UUID] = set()
        children: set[uuid.UUID] = set()
        if account.kind == "staff":
            for assignment in await self.repo.active_assignments(session, user_id):
                if assignment.kind == "homeroom_teacher":
                    leads.add(assignment.class_id)
                elif assignment.subject_code:
                    teaches.add((assignment.class_id, assignment.subject_code))
        elif account.kind == "parent":
            children = await self.repo.children(session, user_id)
        return Scope(
            user_id=account.id,
            school_id=account.school_id,
            roles=frozenset(account.roles),
            kind=account.kind,
            disabled=account.disabled,
            teaches=frozenset(teaches),
            leads=frozenset(leads),
            children=frozenset(children),
        )

    async def student_target(self, session: AsyncSession, student_id: uuid.UUID) -> Target | None:
        student = await self.people.student(session, student_id)
        if student is None:
            return None
        enrolments = await self.schools.enrolments_of(session, student_id)
        return Target(
            school_id=student.school_id,
            student_id=student.id,
            student_classes=frozenset(e.class_id for e in enrolments),
            student_current_classes=frozenset(e.class_id for e in enrolments if e.left_on is None),
        )

    async def class_target(
        self, session: AsyncSession, class_id: uuid.UUID, subject_code: str | None = None
    ) -> Target | None:
        school_class = await self.schools.school_class(session, class_id)
        if school_class is None:
            return None
        return Target(school_id=school_class.school_id, class_id=class_id, subject_code=subject_code)

    async def check(
        self,
        session: AsyncSession,
        scope: Scope,
        action: str,
        object_id: uuid.UUID | None,
        subject_code: str | None = None,
    ) -> Decision:
        kind = ACTIONS.get(action)
        if kind is None:
            return Decision(False, f"unknown action {action}")
        target: Target | None
        if kind == "student":
            target = None if object_id is None else await self.student_target(session, object_id)
        elif kind == "class":
            target = None if object_id is None else await self.class_target(session, object_id, subject_code)
        else:
            target = Target(school_id=scope.school_id)
        if target is None or target.school_id != scope.school_id:
            # Another school's object is answered as one that does not exist.
            return Decision(False, "no such object")
        return decide(scope, action, target)
