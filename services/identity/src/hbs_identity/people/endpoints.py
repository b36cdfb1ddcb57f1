"""HTTP: students (with versions and enrolments), parents and staff."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from hbs_identity.assignments.service import AssignmentService
from hbs_identity.authz.guard import caller_scope, require_admin, require_overseer, require_staff
from hbs_identity.authz.policy import Scope, decide
from hbs_identity.authz.service import AuthzService
from hbs_identity.errors import ADMIN_ROLES, OVERSEER_ROLES, forbidden, invalid, not_found
from hbs_identity.models import Account, Parent, Staff, Student
from hbs_identity.people.schemas import (
    MAX_OFFSET,
    ROLE_PATTERN,
    ChildLink,
    EnrolIn,
    EnrolmentOut,
    LeaveIn,
    ParentIn,
    ParentOut,
    ParentUpdate,
    PeopleSearch,
    StaffIn,
    StaffOut,
    StaffUpdate,
    StudentIn,
    StudentOut,
    StudentPage,
    StudentSearch,
    StudentSummary,
    StudentUpdate,
    VersionOut,
)
from hbs_identity.people.service import PeopleService
from hbs_identity.settings import IdentitySettings
from hbs_identity.unit import Unit, request_unit
from hbs_shared.auth import CurrentPrincipal
from hbs_shared.names import sorted_by_name
from hbs_shared.roles import Role
from hbs_shared.service import runtime_of

router = APIRouter(tags=["people"])
_people = PeopleService()
"""For reading (no setting matters there); writes go through `service_of`."""
_authz = AuthzService()


def service_of(request: Request) -> PeopleService:
    settings = runtime_of(request).settings
    assert isinstance(settings, IdentitySettings)
    return PeopleService(settings.national_id_pattern)


async def current_classes(unit: Unit, student_ids: list[uuid.UUID]) -> dict[uuid.UUID, tuple[uuid.UUID, str]]:
    return await _people.students.current_classes(unit, student_ids)


async def class_members(unit: Unit, class_id: uuid.UUID) -> list[Student]:
    """Every current student of a class (the caller may read the class)."""
    _, students = await _people.students.search(
        unit, query=None, class_ids={class_id}, student_ids=None, limit=10_000, offset=0
    )
    return sorted_by_name(students, lambda s: s.full_name)


async def summaries(unit: Unit, students: list[Student]) -> list[StudentSummary]:
    classes = await current_classes(unit, [s.id for s in students])
    return [
        StudentSummary(
            id=s.id,
            national_id=s.national_id,
            full_name=s.full_name,
            date_of_birth=s.date_of_birth,
            gender="female" if s.gender == "female" else "male",
            class_name=classes[s.id][1] if s.id in classes else None,
        )
        for s in students
    ]


async def student_out(unit: Unit, student: Student) -> StudentOut:
    data: dict[str, Any] = {
        name: getattr(student, name) for name in StudentOut.model_fields if hasattr(student, name)
    }
    current = (await current_classes(unit, [student.id])).get(student.id)
    data["current_class_id"], data["current_class_name"] = current if current else (None, None)
    return StudentOut.model_validate(data)


async def _student_for(unit: Unit, scope: Scope, student_id: uuid.UUID, action: str) -> Student:
    """The student if the caller may do `action`; 404 if they may not even read it."""
    target = await _authz.student_target(unit.session, student_id)
    if target is None or not decide(scope, "student.read", target).allowed:
        raise not_found(f"student {student_id}")
    if action != "student.read" and not decide(scope, action, target).allowed:
        raise forbidden(f"{action} is not allowed on this student")
    student = await _people.students.found(unit, student_id)
    assert student is not None
    return student


@router.post("/students", response_model=StudentOut, status_code=201)
async def create_student(body: StudentIn, request: Request, principal: CurrentPrincipal) -> StudentOut:
    async with request_unit(request, principal) as unit:
        require_admin(await caller_scope(unit))
        student = await service_of(request).students.create_student(unit, body)
        return await student_out(unit, student)


async def _search(unit: Unit, search: StudentSearch) -> StudentPage:
    """Search ignores diacritics and case: "nguyen van an" finds "Nguyễn Văn An". Each caller sees
    only the students they may read."""
    scope = await caller_scope(unit)
    class_ids: set[uuid.UUID] | None = {search.class_id} if search.class_id else None
    student_ids: set[uuid.UUID] | None = None
    if scope.kind == "parent":
        student_ids = set(scope.children)
    elif scope.kind == "student":
        student_ids = {scope.user_id}
    elif not scope.has(OVERSEER_ROLES):
        visible = set(scope.class_ids)
        class_ids = (class_ids & visible) if class_ids is not None else visible
    total, students = await _people.students.search(
        unit,
        query=search.q,
        class_ids=class_ids,
        student_ids=student_ids,
        limit=search.limit,
        offset=search.offset,
    )
    return StudentPage(total=total, items=await summaries(unit, students))


@router.post("/students/search", response_model=StudentPage)
async def search_students(body: StudentSearch, request: Request, principal: CurrentPrincipal) -> StudentPage:
    """The search words travel in the body, so names never reach URLs or access logs."""
    async with request_unit(request, principal) as unit:
        return await _search(unit, body)


@router.get("/students", response_model=StudentPage)
async def list_students(
    request: Request,
    principal: CurrentPrincipal,
    class_id: uuid.UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    q: Annotated[str | None, Query(include_in_schema=False)] = None,
) -> StudentPage:
    """The students the caller may read, page by page; searching by name is POST /students/search."""
    if q is not None:
        raise invalid("q", "searching by name is POST /students/search (names stay out of URLs)")
    async with request_unit(request, principal) as unit:
        return await _search(unit, StudentSearch(class_id=class_id, limit=limit, offset=offset))


@router.get("/students/{student_id}", response_model=StudentOut)
async def get_student(student_id: uuid.UUID, request: Request, principal: CurrentPrincipal) -> StudentOut:
    async with request_unit(request, principal) as unit:
        scope = await caller_scope(unit)
        return await student_out(unit, await _student_for(unit, scope, student_id, "student.read"))


@router.patch("/students/{student_id}", response_model=StudentOut)
async def update_student(
    student_id: uuid.UUID, body: StudentUpdate, request: Request, principal: CurrentPrincipal
) -> StudentOut:
    async with request_unit(request, principal) as unit:
        scope = await caller_scope(unit)
        student = await _student_for(unit, scope, student_id, "student.update")
        await service_of(request).students.update_student(unit, student, body)
        return await student_out(unit, student)


@router.delete("/students/{student_id}", status_code=204)
async def delete_student(student_id: uuid.UUID, request: Request, principal: CurrentPrincipal) -> Response:
    """Only a student entered by mistake (at most one open enrolment, no parent, never signed in);
    anyone else leaves (409 says so)."""
    async with request_unit(request, principal) as unit:
        scope = await caller_scope(unit)
        require_admin(scope)
        student = await _student_for(unit, scope, student_id, "student.read")
        await service_of(request).students.delete_mistake(unit, student)
    return Response(status_code=204)


@router.get("/students/{student_id}/versions", response_model=list[VersionOut])
async def student_versions(
    student_id: uuid.UUID, request: Request, principal: CurrentPrincipal
) -> list[VersionOut]:
    async with request_unit(request, principal) as unit:
        scope = await caller_scope(unit)
        await _student_for(unit, scope, student_id, "student.read")
        require_staff(scope)
        return [VersionOut.model_validate(v) for v in await _people.students.versions(unit, student_id)]


@router.get("/students/{student_id}/enrolments", response_model=list[EnrolmentOut])
async def student_enrolments(
    student_id: uuid.UUID, request: Request, principal: CurrentPrincipal
) -> list[EnrolmentOut]:
    async with request_unit(request, principal) as unit:
        scope = await caller_scope(unit)
        await _student_for(unit, scope, student_id, "student.read")
        return [
            EnrolmentOut(
                id=e.id,
                class_id=e.class_id,
                class_name=class_name,
                school_year=school_year,
                enrolled_on=e.enrolled_on,
                left_on=e.left_on,
                leave_reason=e.leave_reason,
                previous_class_id=e.previous_class_id,
            )
            for e, class_name, school_year in await _people.students.history(unit, student_id)
        ]


@router.post("/students/{student_id}/enrolments", response_model=StudentOut, status_code=201)
async def enrol_student(
    student_id: uuid.UUID, body: EnrolIn, request: Request, principal: CurrentPrincipal
) -> StudentOut:
    """Enrol in a class; when the student is in another class of that year, this is a move."""
    async with request_unit(request, principal) as unit:
        require_admin(await caller_scope(unit))
        service = service_of(request).students
        student = await service.student(unit, student_id)
        await service.enrol_in(unit, student, body.class_id, body.enrolled_on)
        return await student_out(unit, student)


@router.post("/students/{student_id}/leave", response_model=StudentOut)
async def student_leaves(
    student_id: uuid.UUID, body: LeaveIn, request: Request, principal: CurrentPrincipal
) -> StudentOut:
    async with request_unit(request, principal) as unit:
        require_admin(await caller_scope(unit))
        service = service_of(request).students
        student = await service.student(unit, student_id)
        await service.leave(unit, student, body.left_on, body.reason)
        return await student_out(unit, student)


async def parent_out(unit: Unit, parent: Parent) -> ParentOut:
    account, links = await _people.parents.account_and_links(unit, parent)
    return ParentOut(
        id=parent.id,
        full_name=parent.full_name,
        phone=parent.phone,
        username=account.username if account else "",
        children=[ChildLink(student_id=link.student_id, relationship=link.relationship) for link in links],
    )


@router.post("/parents", response_model=ParentOut, status_code=201)
async def create_parent(
    body: ParentIn, request: Request, response: Response, principal: CurrentPrincipal
) -> ParentOut:
    """201 with a new parent; 200 when a parent already has this phone (or username): that parent
    is linked to the children sent (a parent gains a second child)."""
    async with request_unit(request, principal) as unit:
        require_admin(await caller_scope(unit))
        parent, created = await service_of(request).parents.create_or_extend_parent(unit, body)
        await unit.session.flush()
        if not created:
            response.status_code = 200
        return await parent_out(unit, parent)


@router.get("/parents", response_model=list[ParentOut])
async def list_parents(
    request: Request,
    principal: CurrentPrincipal,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    q: Annotated[str | None, Query(include_in_schema=False)] = None,
) -> list[ParentOut]:
    """Parents page by page; searching by name is POST /parents/search."""
    if q is not None:
        raise invalid("q", "searching by name is POST /parents/search (names stay out of URLs)")
    return await search_parents(PeopleSearch(limit=limit, offset=offset), request, principal)


@router.post("/parents/search", response_model=list[ParentOut])
async def search_parents(
    body: PeopleSearch, request: Request, principal: CurrentPrincipal
) -> list[ParentOut]:
    async with request_unit(request, principal) as unit:
        require_overseer(await caller_scope(unit))
        parents = await _people.parents.search(unit, body.q, body.limit, body.offset)
        return [await parent_out(unit, p) for p in parents]


@router.get("/parents/{parent_id}", response_model=ParentOut)
async def get_parent(parent_id: uuid.UUID, request: Request, principal: CurrentPrincipal) -> ParentOut:
    async with request_unit(request, principal) as unit:
        scope = await caller_scope(unit)
        if scope.user_id != parent_id and not scope.has(OVERSEER_ROLES):
            raise not_found(f"parent {parent_id}")
        return await parent_out(unit, await service_of(request).parents.parent(unit, parent_id))


@router.post("/parents/{parent_id}/children", response_model=ParentOut)
async def link_child(
    parent_id: uuid.UUID, body: ChildLink, request: Request, principal: CurrentPrincipal
) -> ParentOut:
    async with request_unit(request, principal) as unit:
        require_admin(await caller_scope(unit))
        service = service_of(request).parents
        parent = await service.parent(unit, parent_id)
        await service.link_child(unit, parent, body)
        await unit.session.flush()
        return await parent_out(unit, parent)


@router.patch("/parents/{parent_id}", response_model=ParentOut)
async def update_parent(
    parent_id: uuid.UUID, body: ParentUpdate, request: Request, principal: CurrentPrincipal
) -> ParentOut:
    async with request_unit(request, principal) as unit:
        require_admin(await caller_scope(unit))
        service = service_of(request).parents
        parent = await service.parent(unit, parent_id)
        await service.update_parent(unit, parent, body.full_name, body.phone)
        return await parent_out(unit, parent)


@router.delete("/parents/{parent_id}/children/{student_id}", response_model=ParentOut)
async def unlink_child(
    parent_id: uuid.UUID, student_id: uuid.UUID, request: Request, principal: CurrentPrincipal
) -> ParentOut:
    """The parent no longer sees this child (at once, in every service asking identity)."""
    async with request_unit(request, principal) as unit:
        require_admin(await caller_scope(unit))
        service = service_of(request).parents
        parent = await service.parent(unit, parent_id)
        await service.unlink_child(unit, parent, student_id)
        await unit.session.flush()
        return await parent_out(unit, parent)


@router.get("/students/{student_id}/parents", response_model=list[ParentOut])
async def parents_of(student_id: uuid.UUID, request: Request, principal: CurrentPrincipal) -> list[ParentOut]:
    async with request_unit(request, principal) as unit:
        scope = await caller_scope(unit)
        await _student_for(unit, scope, student_id, "student.read")
        require_staff(scope)
        ids = await _people.parents.of_student(unit, student_id)
        return [await parent_out(unit, p) for p in ids]


async def staff_out(unit: Unit, staff: Staff, account: Account) -> StaffOut:
    department = await _people.staff.department(unit, staff.department_id)
    return StaffOut(
        id=staff.id,
        username=account.username,
        full_name=staff.full_name,
        roles=sorted(account.roles),
        department_id=staff.department_id,
        department_name=department.name if department else None,
        email=staff.email,
        phone=staff.phone,
        disabled=account.disabled,
    )


@router.post("/staff", response_model=StaffOut, status_code=201)
async def create_staff(body: StaffIn, request: Request, principal: CurrentPrincipal) -> StaffOut:
    async with request_unit(request, principal) as unit:
        require_admin(await caller_scope(unit))
        return await staff_out(unit, *await service_of(request).staff.create_staff(unit, body))


@router.get("/staff", response_model=list[StaffOut])
async def list_staff(
    request: Request,
    principal: CurrentPrincipal,
    role: Annotated[str | None, Query(max_length=40, pattern=ROLE_PATTERN)] = None,
    q: Annotated[str | None, Query(include_in_schema=False)] = None,
) -> list[StaffOut]:
    """The school's staff, optionally of one role; searching by name is POST /staff/search."""
    if q is not None:
        raise invalid("q", "searching by name is POST /staff/search (names stay out of URLs)")
    return await search_staff(PeopleSearch(role=role), request, principal)


@router.post("/staff/search", response_model=list[StaffOut])
async def search_staff(body: PeopleSearch, request: Request, principal: CurrentPrincipal) -> list[StaffOut]:
    async with request_unit(request, principal) as unit:
        require_staff(await caller_scope(unit))
        rows = await _people.staff.search(unit, body.q, body.role)
        return [await staff_out(unit, s, a) for s, a in rows]


@router.get("/staff/{staff_id}", response_model=StaffOut)
async def get_staff(staff_id: uuid.UUID, request: Request, principal: CurrentPrincipal) -> StaffOut:
    async with request_unit(request, principal) as unit:
        require_staff(await caller_scope(unit))
        return await staff_out(unit, *await service_of(request).staff.staff(unit, staff_id))


@router.patch("/staff/{staff_id}", response_model=StaffOut)
async def update_staff(
    staff_id: uuid.UUID, body: StaffUpdate, request: Request, principal: CurrentPrincipal
) -> StaffOut:
    async with request_unit(request, principal) as unit:
        scope = await caller_scope(unit)
        if body.roles is not None and not scope.has(frozenset({Role.system_admin})):
            raise forbidden("only a system admin changes roles")
        if not scope.has(ADMIN_ROLES):
            raise forbidden("only the office or system admins may do this")
        staff, account = await service_of(request).staff.update_staff(unit, staff_id, body)
        if "email" in body.model_fields_set:
            await AssignmentService().announce_teacher(unit, staff_id)
        return await staff_out(unit, staff, account)
