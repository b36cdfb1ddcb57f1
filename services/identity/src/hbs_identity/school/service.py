"""Use cases on the school's structure: the school, its years, departments and classes."""

from __future__ import annotations

import re
import uuid

from pydantic import ValidationError

from hbs_identity.errors import conflict, in_use, invalid, not_found
from hbs_identity.models import Department, School, SchoolClass, SchoolYear
from hbs_identity.school.repository import SchoolRepository
from hbs_identity.school.schemas import ClassIn, DepartmentIn, SchoolIn, YearChange, YearIn
from hbs_identity.unit import Unit
from hbs_shared.events.identity import (
    ClassDeleted,
    ClassRenamed,
    DepartmentDeleted,
    DepartmentRenamed,
    SchoolYearChanged,
    SchoolYearDeleted,
)


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

    # --- changes and deletes: each audited and published ------------------------------------

    async def _own_year(self, unit: Unit, year_id: uuid.UUID) -> SchoolYear:
        year = await self.repo.year(unit.session, year_id)
        if year is None or year.school_id != unit.school_id:
            raise not_found(f"school year {year_id}")
        return year

    async def change_year(self, unit: Unit, year_id: uuid.UUID, change: YearChange) -> SchoolYear:
        year = await self._own_year(unit, year_id)
        old_name = year.name
        fields = ("name", "semester1_start", "semester1_end", "semester2_start", "semester2_end")
        merged = {name: getattr(year, name) for name in fields}
        merged.update(change.model_dump(exclude_none=True))
        try:
            checked = YearIn.model_validate(merged)
        except ValidationError as error:
            first = error.errors()[0]
            field = str(first["loc"][0]) if first["loc"] else "semester1_start"
            message = str(first["msg"]).removeprefix("Value error, ")
            match = re.match(r"^(\w+):", message)
            raise invalid(match.group(1) if match else field, message) from None
        if checked.name != old_name:
            if await self.repo.year_by_name(unit.session, unit.school_id, checked.name) is not None:
                raise conflict("name", f"school year {checked.name} already exists")
            if classes := await self.repo.class_count(unit.session, year.id):
                # Grades, signed records and sheets are keyed by the label: it is fixed once in use.
                raise conflict("name", f"năm học {old_name} đã có {classes} lớp: không đổi được tên năm học")
        for name in fields:
            setattr(year, name, getattr(checked, name))
        unit.audit("school_year.changed", "school_year", year.id, old_name=old_name, name=year.name)
        await unit.emit(
            SchoolYearChanged(
                school_year_id=year.id,
                school_id=unit.school_id,
                old_name=old_name,
                name=year.name,
                semester1_start=year.semester1_start,
                semester1_end=year.semester1_end,
                semester2_start=year.semester2_start,
                semester2_end=year.semester2_end,
            )
        )
        return year

    async def delete_year(self, unit: Unit, year_id: uuid.UUID) -> None:
        year = await self._own_year(unit, year_id)
        if classes := await self.repo.class_count(unit.session, year.id):
            raise in_use("năm học", f"năm học {year.name} còn {classes} lớp", {"classes": classes})
        if year.current:
            raise conflict("id", f"năm học {year.name} là năm học hiện tại: chọn năm học khác trước")
        await self.repo.delete(unit.session, year)
        unit.audit("school_year.deleted", "school_year", year.id, name=year.name)
        await unit.emit(SchoolYearDeleted(school_year_id=year.id, school_id=unit.school_id, name=year.name))

    async def _own_department(self, unit: Unit, department_id: uuid.UUID) -> Department:
        department = await self.repo.department(unit.session, department_id)
        if department is None or department.school_id != unit.school_id:
            raise not_found(f"department {department_id}")
        return department

    async def rename_department(self, unit: Unit, department_id: uuid.UUID, name: str) -> Department:
        department = await self._own_department(unit, department_id)
        old_name = department.name
        if name == old_name:
            return department
        if await self.repo.department_by_name(unit.session, unit.school_id, name) is not None:
            raise conflict("name", f"department {name!r} already exists")
        department.name = name
        unit.audit("department.renamed", "department", department.id, old_name=old_name, name=name)
        await unit.emit(
            DepartmentRenamed(
                department_id=department.id, school_id=unit.school_id, old_name=old_name, new_name=name
            )
        )
        return department

    async def delete_department(self, unit: Unit, department_id: uuid.UUID) -> None:
        department = await self._own_department(unit, department_id)
        if staff := await self.repo.staff_count(unit.session, department.id):
            raise in_use(
                "tổ chuyên môn", f"tổ {department.name} còn {staff} cán bộ, giáo viên", {"staff": staff}
            )
        await self.repo.delete(unit.session, department)
        unit.audit("department.deleted", "department", department.id, name=department.name)
        await unit.emit(
            DepartmentDeleted(department_id=department.id, school_id=unit.school_id, name=department.name)
        )

    async def rename_class(
        self, unit: Unit, class_id: uuid.UUID, name: str
    ) -> tuple[SchoolClass, SchoolYear]:
        school_class = await self.school_class(unit, class_id, field="")
        year = await self._own_year(unit, school_class.school_year_id)
        old_name = school_class.name
        if name == old_name:
            return school_class, year
        try:
            ClassIn(name=name, grade_level=school_class.grade_level, school_year=year.name)
        except ValidationError as error:
            raise invalid("name", str(error.errors()[0]["msg"]).removeprefix("Value error, ")) from None
        if await self.repo.class_by_name(unit.session, year.id, name) is not None:
            raise conflict("name", f"class {name!r} already exists in {year.name}")
        school_class.name = name
        unit.audit(
            "class.renamed", "class", school_class.id, old_name=old_name, name=name, school_year=year.name
        )
        await unit.emit(
            ClassRenamed(
                class_id=school_class.id,
                school_id=unit.school_id,
                school_year=year.name,
                old_name=old_name,
                new_name=name,
            )
        )
        return school_class, year

    async def delete_class(self, unit: Unit, class_id: uuid.UUID) -> None:
        school_class = await self.school_class(unit, class_id, field="")
        year = await self._own_year(unit, school_class.school_year_id)
        refs = await self.repo.references_to_class(unit.session, school_class.id)
        if any(refs.values()):
            raise in_use(
                "lớp",
                f"lớp {school_class.name} còn {refs['enrolments']} lượt ghi danh học sinh "
                f"và {refs['assignments']} phân công",
                refs,
            )
        await self.repo.delete(unit.session, school_class)
        unit.audit("class.deleted", "class", school_class.id, name=school_class.name, school_year=year.name)
        await unit.emit(
            ClassDeleted(
                class_id=school_class.id,
                school_id=unit.school_id,
                school_year=year.name,
                name=school_class.name,
            )
        )

    # --- reading ------------------------------------------------------------------------------

    async def school(self, unit: Unit) -> School | None:
        return await self.repo.school(unit.session, unit.school_id)

    async def years(self, unit: Unit, school_id: str | None = None) -> list[SchoolYear]:
        return await self.repo.years(unit.session, school_id or unit.school_id)

    async def year_name(self, unit: Unit, school_class: SchoolClass) -> str:
        year = await self.repo.year(unit.session, school_class.school_year_id)
        return year.name if year else "?"

    async def departments(self, unit: Unit) -> list[Department]:
        return await self.repo.departments(unit.session, unit.school_id)

    async def classes(self, unit: Unit, year: SchoolYear) -> list[SchoolClass]:
        return await self.repo.classes(unit.session, unit.school_id, year.id)

    async def classes_by_id(self, unit: Unit, class_ids: set[uuid.UUID]) -> dict[uuid.UUID, SchoolClass]:
        return await self.repo.classes_by_id(unit.session, class_ids)

    async def class_found(self, unit: Unit, class_id: uuid.UUID) -> SchoolClass | None:
        """The class whatever the school (the caller's access is decided by the policy after)."""
        return await self.repo.school_class(unit.session, class_id)

    async def class_size(self, unit: Unit, school_class: SchoolClass) -> int:
        return len(await self.repo.roster(unit.session, school_class.id))
