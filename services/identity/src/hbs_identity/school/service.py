"""Use cases on the school's structure: the school, its years, departments and classes."""

from __future__ import annotations

import uuid

from hbs_identity.errors import conflict, invalid, not_found
from hbs_identity.models import Department, School, SchoolClass, SchoolYear
from hbs_identity.school.repository import SchoolRepository
from hbs_identity.school.schemas import ClassIn, DepartmentIn, SchoolIn, YearIn
from hbs_identity.unit import Unit


class SchoolService:
    def __init__(self, repository: SchoolRepository | None = None) -> None:
        self.repo = repository or SchoolRepository()

    async def ensure_school(self, unit: Unit, data: SchoolIn) -> School:
        school = await self.repo.school(unit.session, unit.school_id)
        if school is None:
            school = School(
                id=unit.school_id, name=data.name, authority=data.authority, province=data.province
            )
            self.repo.add(unit.session, school)
            unit.audit("school.created", "school", unit.school_id, name=data.name)
        else:
            school.name, school.authority, school.province = data.name, data.authority, data.province
            unit.audit("school.updated", "school", unit.school_id, name=data.name)
        return school

    async def create_year(self, unit: Unit, data: YearIn) -> SchoolYear:
        if await self.repo.year_by_name(unit.session, unit.school_id, data.name) is not None:
            raise conflict("name", f"school year {data.name} already exists")
        if data.current:
            await self.repo.clear_current(unit.session, unit.school_id)
        year = SchoolYear(id=uuid.uuid4(), school_id=unit.school_id, **data.model_dump())
        self.repo.add(unit.session, year)
        await unit.session.flush()
        unit.audit("school_year.created", "school_year", year.id, name=year.name)
        return year

    async def make_current(self, unit: Unit, year_id: uuid.UUID) -> SchoolYear:
        year = await self.repo.year(unit.session, year_id)
        if year is None or year.school_id != unit.school_id:
            raise not_found(f"school year {year_id}")
        await self.repo.clear_current(unit.session, unit.school_id)
        year.current = True
        unit.audit("school_year.made_current", "school_year", year.id, name=year.name)
        return year

    async def year_named(self, unit: Unit, name: str, field: str = "school_year") -> SchoolYear:
        year = await self.repo.year_by_name(unit.session, unit.school_id, name)
        if year is None:
            raise invalid(field, f"unknown school year {name!r}")
        return year

    async def current_year(self, unit: Unit) -> SchoolYear:
        year = await self.repo.current_year(unit.session, unit.school_id)
        if year is None:
            raise invalid("school_year", "no current school year is set")
        return year

    async def create_department(self, unit: Unit, data: DepartmentIn) -> Department:
        if await self.repo.department_by_name(unit.session, unit.school_id, data.name) is not None:
            raise conflict("name", f"department {data.name!r} already exists")
        department = Department(id=uuid.uuid4(), school_id=unit.school_id, name=data.name)
        self.repo.add(unit.session, department)
        unit.audit("department.created", "department", department.id, name=data.name)
        return department

    async def department(
        self, unit: Unit, department_id: uuid.UUID, field: str = "department_id"
    ) -> Department:
        department = await self.repo.department(unit.session, department_id)
        if department is None or department.school_id != unit.school_id:
            raise invalid(field, f"unknown department {department_id}")
        return department

    async def create_class(self, unit: Unit, data: ClassIn) -> tuple[SchoolClass, SchoolYear]:
        year = await self.year_named(unit, data.school_year)
        if await self.repo.class_by_name(unit.session, year.id, data.name) is not None:
            raise conflict("name", f"class {data.name!r} already exists in {year.name}")
        school_class = SchoolClass(
            id=uuid.uuid4(),
            school_id=unit.school_id,
            school_year_id=year.id,
            name=data.name,
            grade_level=data.grade_level,
        )
        self.repo.add(unit.session, school_class)
        await unit.session.flush()
        unit.audit("class.created", "class", school_class.id, name=data.name, school_year=year.name)
        return school_class, year

    async def school_class(self, unit: Unit, class_id: uuid.UUID, field: str = "class_id") -> SchoolClass:
        school_class = await self.repo.school_class(unit.session, class_id)
        if school_class is None or school_class.school_id != unit.school_id:
            raise (
                not_found(f"class {class_id}") if field == "" else invalid(field, f"unknown class {class_id}")
            )
        return school_class
