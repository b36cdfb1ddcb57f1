"""HTTP: the school, its years, departments and classes."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from hbs_identity.assignments.repository import AssignmentRepository
from hbs_identity.authz.guard import caller_scope, require_admin, require_staff
from hbs_identity.authz.policy import Target, decide
from hbs_identity.errors import not_found
from hbs_identity.models import SchoolClass
from hbs_identity.people.endpoints import summaries
from hbs_identity.people.repository import PeopleRepository
from hbs_identity.people.schemas import StudentSummary
from hbs_identity.school.repository import SchoolRepository
from hbs_identity.school.schemas import (
    ClassChange,
    ClassIn,
    ClassOut,
    DepartmentChange,
    DepartmentIn,
    DepartmentOut,
    SchoolIn,
    SchoolOut,
    YearChange,
    YearIn,
    YearOut,
)
from hbs_identity.school.service import SchoolService
from hbs_identity.unit import Unit, request_unit
from hbs_shared.auth import CurrentPrincipal

router = APIRouter(tags=["school"])
_service = SchoolService()
_repo = SchoolRepository()


@router.get("/school", response_model=SchoolOut)
async def get_school(request: Request, principal: CurrentPrincipal) -> SchoolOut:
    async with request_unit(request, principal) as unit:
        await caller_scope(unit)
        school = await _repo.school(unit.session, unit.school_id)
        if school is None:
            raise not_found("the school is not set up yet")
        return SchoolOut.model_validate(school)


@router.put("/school", response_model=SchoolOut)
async def put_school(body: SchoolIn, request: Request, principal: CurrentPrincipal) -> SchoolOut:
    async with request_unit(request, principal) as unit:
        require_admin(await caller_scope(unit))
        return SchoolOut.model_validate(await _service.ensure_school(unit, body))


@router.get("/school-years", response_model=list[YearOut])
async def list_years(request: Request, principal: CurrentPrincipal) -> list[YearOut]:
    async with request_unit(request, principal) as unit:
        await caller_scope(unit)
        return [YearOut.model_validate(y) for y in await _repo.years(unit.session, unit.school_id)]


@router.post("/school-years", response_model=YearOut, status_code=201)
async def create_year(body: YearIn, request: Request, principal: CurrentPrincipal) -> YearOut:
    async with request_unit(request, principal) as unit:
        require_admin(await caller_scope(unit))
        return YearOut.model_validate(await _service.create_year(unit, body))


@router.post("/school-years/{year_id}/current", response_model=YearOut)
async def make_current(year_id: uuid.UUID, request: Request, principal: CurrentPrincipal) -> YearOut:
    async with request_unit(request, principal) as unit:
        require_admin(await caller_scope(unit))
        return YearOut.model_validate(await _service.make_current(unit, year_id))


@router.patch("/school-years/{year_id}", response_model=YearOut)
async def change_year(
    year_id: uuid.UUID, body: YearChange, request: Request, principal: CurrentPrincipal
) -> YearOut:
    """Semester dates may change at any time; the label only while the year has no class."""
    async with request_unit(request, principal) as unit:
        require_admin(await caller_scope(unit))
        return YearOut.model_validate(await _service.change_year(unit, year_id, body))


@router.delete("/school-years/{year_id}", status_code=204)
async def delete_year(year_id: uuid.UUID, request: Request, principal: CurrentPrincipal) -> Response:
    """Only a year with no class that is not the current one (409 says what refers to it)."""
    async with request_unit(request, principal) as unit:
        require_admin(await caller_scope(unit))
        await _service.delete_year(unit, year_id)
    return Response(status_code=204)


@router.get("/departments", response_model=list[DepartmentOut])
async def list_departments(request: Request, principal: CurrentPrincipal) -> list[DepartmentOut]:
    async with request_unit(request, principal) as unit:
        require_staff(await caller_scope(unit))
        return [
            DepartmentOut.model_validate(d) for d in await _repo.departments(unit.session, unit.school_id)
        ]


@router.post("/departments", response_model=DepartmentOut, status_code=201)
async def create_department(
    body: DepartmentIn, request: Request, principal: CurrentPrincipal
) -> DepartmentOut:
    async with request_unit(request, principal) as unit:
        require_admin(await caller_scope(unit))
        return DepartmentOut.model_validate(await _service.create_department(unit, body))


@router.patch("/departments/{department_id}", response_model=DepartmentOut)
async def rename_department(
    department_id: uuid.UUID, body: DepartmentChange, request: Request, principal: CurrentPrincipal
) -> DepartmentOut:
    async with request_unit(request, principal) as unit:
        require_admin(await caller_scope(unit))
        return DepartmentOut.model_validate(await _service.rename_department(unit, department_id, body.name))


@router.delete("/departments/{department_id}", status_code=204)
async def delete_department(
    department_id: uuid.UUID, request: Request, principal: CurrentPrincipal
) -> Response:
    """Only a department with no staff in it (409 says how many are)."""
    async with request_unit(request, principal) as unit:
        require_admin(await caller_scope(unit))
        await _service.delete_department(unit, department_id)
    return Response(status_code=204)


async def class_out(unit: Unit, school_class: SchoolClass, year_name: str | None = None) -> ClassOut:
    if year_name is None:
        year = await _repo.year(unit.session, school_class.school_year_id)
        year_name = year.name if year else "?"
    homeroom = await AssignmentRepository().active_for(
        unit.session, school_class.id, "homeroom_teacher", None
    )
    teacher = await PeopleRepository().staff(unit.session, homeroom.teacher_id) if homeroom else None
    return ClassOut(
        id=school_class.id,
        name=school_class.name,
        grade_level=school_class.grade_level,
        school_year=year_name,
        homeroom_teacher_id=teacher.id if teacher else None,
        homeroom_teacher_name=teacher.full_name if teacher else None,
        students=len(await _repo.roster(unit.session, school_class.id)),
    )


@router.get("/classes", response_model=list[ClassOut])
async def list_classes(
    request: Request,
    principal: CurrentPrincipal,
    school_year: Annotated[str | None, Query(pattern=r"^\d{4}-\d{4}$", max_length=9)] = None,
) -> list[ClassOut]:
    async with request_unit(request, principal) as unit:
        require_staff(await caller_scope(unit))
        year = (
            await _service.year_named(unit, school_year) if school_year else await _service.current_year(unit)
        )
        return [
            await class_out(unit, c, year.name)
            for c in await _repo.classes(unit.session, unit.school_id, year.id)
        ]


@router.post("/classes", response_model=ClassOut, status_code=201)
async def create_class(body: ClassIn, request: Request, principal: CurrentPrincipal) -> ClassOut:
    async with request_unit(request, principal) as unit:
        require_admin(await caller_scope(unit))
        school_class, year = await _service.create_class(unit, body)
        return await class_out(unit, school_class, year.name)


@router.patch("/classes/{class_id}", response_model=ClassOut)
async def rename_class(
    class_id: uuid.UUID, body: ClassChange, request: Request, principal: CurrentPrincipal
) -> ClassOut:
    """Đổi tên lớp; grades keeps the class's sheets, plan, conduct and results under the new name."""
    async with request_unit(request, principal) as unit:
        require_admin(await caller_scope(unit))
        school_class, year = await _service.rename_class(unit, class_id, body.name)
        return await class_out(unit, school_class, year.name)


@router.delete("/classes/{class_id}", status_code=204)
async def delete_class(class_id: uuid.UUID, request: Request, principal: CurrentPrincipal) -> Response:
    """Only a class nobody was ever enrolled in nor assigned to (409 says what refers to it)."""
    async with request_unit(request, principal) as unit:
        require_admin(await caller_scope(unit))
        await _service.delete_class(unit, class_id)
    return Response(status_code=204)


async def _readable_class(unit: Unit, class_id: uuid.UUID) -> SchoolClass:
    scope = await caller_scope(unit)
    school_class = await _repo.school_class(unit.session, class_id)
    if (
        school_class is None
        or not decide(
            scope, "class.read", Target(school_id=school_class.school_id, class_id=class_id)
        ).allowed
    ):
        raise not_found(f"class {class_id}")
    return school_class


@router.get("/classes/{class_id}", response_model=ClassOut)
async def get_class(class_id: uuid.UUID, request: Request, principal: CurrentPrincipal) -> ClassOut:
    async with request_unit(request, principal) as unit:
        return await class_out(unit, await _readable_class(unit, class_id))


@router.get("/classes/{class_id}/students", response_model=list[StudentSummary])
async def class_students(
    class_id: uuid.UUID, request: Request, principal: CurrentPrincipal
) -> list[StudentSummary]:
    async with request_unit(request, principal) as unit:
        school_class = await _readable_class(unit, class_id)
        _, students = await PeopleRepository().search_students(
            unit.session,
            unit.school_id,
            query=None,
            class_ids={school_class.id},
            student_ids=None,
            limit=10_000,
            offset=0,
        )
        return await summaries(unit, students)
