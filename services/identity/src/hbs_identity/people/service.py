"""People: students, parents and staff, one service each (`students.py`, `parents.py`, `staff.py`)."""

from __future__ import annotations

from hbs_identity.people.parents import ParentService
from hbs_identity.people.staff import StaffService
from hbs_identity.people.students import StudentService


class PeopleService:
    def __init__(self, national_id_pattern: str = r"^\d{10}(\d{2})?$") -> None:
        self.students = StudentService(national_id_pattern)
        self.parents = ParentService()
        self.staff = StaffService()
