"""HTTP: "may user U do action A on object O", and a user's scope, for the other services."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request

from hbs_identity.authz.guard import caller_scope
from hbs_identity.authz.policy import Scope
from hbs_identity.authz.schemas import CheckRequest, CheckResponse, LedClass, ScopeResponse, TaughtClass
from hbs_identity.authz.service import AuthzService
from hbs_identity.errors import forbidden, not_found
from hbs_identity.school.repository import SchoolRepository
from hbs_identity.unit import Unit, request_unit
from hbs_shared.auth import CurrentPrincipal
from hbs_shared.roles import Role

router = APIRouter(tags=["authorisation"])
_authz = AuthzService()
_schools = SchoolRepository()


async def _subject_scope(unit: Unit, user_id: uuid.UUID | None) -> Scope:
    caller = await caller_scope(unit)
    if user_id is None or user_id == caller.user_id:
        return caller
    if not caller.has(frozenset({Role.system_admin})):
        raise forbidden("only a system admin may ask about another user")
    scope = await _authz.scope(unit.session, user_id)
    if scope is None or scope.school_id != caller.school_id:
        raise not_found(f"user {user_id}")
    return scope


@router.post("/authz/check", response_model=CheckResponse)
async def check(body: CheckRequest, request: Request, principal: CurrentPrincipal) -> CheckResponse:
    async with request_unit(request, principal) as unit:
        scope = await _subject_scope(unit, body.user_id)
        decision = await _authz.check(unit.session, scope, body.action, body.object_id, body.subject_code)
        return CheckResponse(
            allowed=decision.allowed, reason=decision.reason, action=body.action, user_id=scope.user_id
        )


@router.get("/authz/scope", response_model=ScopeResponse)
async def scope_of(
    request: Request, principal: CurrentPrincipal, user_id: uuid.UUID | None = None
) -> ScopeResponse:
    async with request_unit(request, principal) as unit:
        scope = await _subject_scope(unit, user_id)
        classes = await _schools.classes_by_id(unit.session, set(scope.class_ids))
        years = {y.id: y.name for y in await _schools.years(unit.session, scope.school_id)}
        return ScopeResponse(
            user_id=scope.user_id,
            kind=scope.kind,
            roles=sorted(scope.roles),
            school_id=scope.school_id,
            teaching=[
                TaughtClass(
                    class_id=c,
                    class_name=classes[c].name,
                    grade_level=classes[c].grade_level,
                    subject_code=s,
                    school_year=years[classes[c].school_year_id],
                )
                for c, s in sorted(scope.teaches, key=lambda t: (classes[t[0]].name, t[1]))
            ],
            homeroom=[
                LedClass(
                    class_id=c,
                    class_name=classes[c].name,
                    grade_level=classes[c].grade_level,
                    school_year=years[classes[c].school_year_id],
                )
                for c in sorted(scope.leads, key=lambda c: classes[c].name)
            ],
            children=sorted(scope.children),
            student_id=scope.user_id if scope.kind == "student" else None,
        )
