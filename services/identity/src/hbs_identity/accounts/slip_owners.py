"""Whose sign-in slips the office prints, and what each slip says they are (phiếu đăng nhập)."""

from __future__ import annotations

import uuid
from typing import Literal

from hbs_identity.errors import not_found
from hbs_identity.models import Account, SchoolClass, Student
from hbs_identity.people.repository import PeopleRepository
from hbs_identity.school.repository import SchoolRepository
from hbs_identity.unit import Unit
from hbs_shared.names import sorted_by_name

_people = PeopleRepository()
_schools = SchoolRepository()


async def school_name(unit: Unit) -> str:
    """The name printed on the slips: the school's, or its id before the school is set up."""
    school = await _schools.school(unit.session, unit.school_id)
    return school.name if school else unit.school_id


async def class_slip_owners(
    unit: Unit, class_id: uuid.UUID, who: Literal["students", "parents"]
) -> tuple[SchoolClass, list[tuple[Account, str]]]:
    """The class and the enabled accounts of its students (or of their parents, once each)."""
    school_class = await _schools.school_class(unit.session, class_id)
    if school_class is None or school_class.school_id != unit.school_id:
        raise not_found(f"class {class_id}")
    _, students = await _people.search_students(
        unit.session,
        unit.school_id,
        query=None,
        class_ids={class_id},
        student_ids=None,
        limit=10_000,
        offset=0,
    )
    owners: list[tuple[Account, str]] = []
    seen: set[uuid.UUID] = set()
    for student in sorted_by_name(students, lambda s: s.full_name):
        if who == "students":
            account = await _people.account(unit.session, student.id)
            if account is not None and not account.disabled:
                owners.append((account, f"Học sinh lớp {school_class.name}"))
            continue
        for parent in await _people.parents_of(unit.session, student.id):
            account = await _people.account(unit.session, parent.id)
            if account is not None and not account.disabled and account.id not in seen:
                seen.add(account.id)
                owners.append((account, f"Phụ huynh của {student.full_name} ({school_class.name})"))
    return school_class, owners


async def slip_label(unit: Unit, account: Account) -> str:
    """What one account's slip calls its owner: a student with their class, a parent, staff."""
    label = {"student": "Học sinh", "parent": "Phụ huynh"}.get(account.kind, "Cán bộ, giáo viên")
    if account.kind != "student" or await unit.session.get(Student, account.id) is None:
        return label
    classes = await _schools.active_enrolments_of(unit.session, account.id)
    if classes:
        school_class = await _schools.school_class(unit.session, classes[0].class_id)
        return f"Học sinh lớp {school_class.name}" if school_class else label
    return label
