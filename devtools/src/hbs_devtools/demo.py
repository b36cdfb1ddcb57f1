"""The demo school's people, known to identity (accounts) and grades (sheets) in development only."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from hbs_shared.passwords import DEMO_PASSWORD

__all__ = ["DEMO_PASSWORD"]  # defined with the runtime, which refuses it for real accounts

DEMO_NAMESPACE = uuid.UUID("6f1c1d2e-5b7a-4c1e-9a43-2c6f0e4b8d11")


@dataclass(frozen=True)
class DemoPerson:
    username: str
    full_name: str
    roles: tuple[str, ...]

    @property
    def user_id(self) -> uuid.UUID:
        return uuid.uuid5(DEMO_NAMESPACE, self.username)


DEMO_PEOPLE: tuple[DemoPerson, ...] = (
    DemoPerson("hieutruong", "Trần Văn Minh", ("principal",)),
    DemoPerson("phohieutruong", "Lê Thị Thu Hà", ("vice_principal",)),
    DemoPerson("gv.toan", "Nguyễn Thị Hoa", ("subject_teacher",)),
    DemoPerson("gv.van", "Phạm Quốc Dũng", ("subject_teacher", "homeroom_teacher")),
    DemoPerson("quantri", "Đỗ Thị Ngọc Ánh", ("system_admin", "office_admin")),
)


def demo_person(username: str) -> DemoPerson:
    return next(p for p in DEMO_PEOPLE if p.username == username)


DEMO_PARENT = DemoPerson("phuhuynh.demo", "Vũ Thị Thanh Tâm", ("parent",))
"""A parent of two demo children; signs in by this username or by DEMO_PARENT_PHONE."""
DEMO_PARENT_PHONE = "0987654321"
DEMO_CHILDREN: tuple[tuple[str, int], ...] = (("10A1", 1), ("10A2", 1))
"""(class, seat) of the demo parent's children, in the small and the full demo alike."""
DEMO_STUDENT_LOGIN = "0341008001"
"""Mã định danh of the first child (10A1, seat 1): the demo student signs in with it."""


@dataclass(frozen=True)
class DemoSchool:
    """A school the demo seeds; the first is the deployment's default (settings.school_id)."""

    id: str
    name: str
    authority: str
    province: str
    suffix: str
    """Added to the first school's demo usernames for this school's people ("" for the first)."""

    def person(self, username: str) -> DemoPerson:
        """This school's counterpart of a first-school demo person ("gv.toan" → "gv.toan.pc")."""
        first = demo_person(username)
        if not self.suffix:
            return first
        return DemoPerson(f"{first.username}.{self.suffix}", SECOND_SCHOOL_NAMES[first.username], first.roles)

    @property
    def people(self) -> tuple[DemoPerson, ...]:
        return tuple(self.person(p.username) for p in DEMO_PEOPLE)


SECOND_SCHOOL_NAMES: dict[str, str] = {
    "hieutruong": "Đoàn Văn Khải",
    "phohieutruong": "Nguyễn Thị Lan Anh",
    "gv.toan": "Trần Đức Thịnh",
    "gv.van": "Lê Thị Hồng Nhung",
    "quantri": "Phạm Văn Tùng",
}
DEMO_SCHOOL = DemoSchool(
    "thpt-chuyen-thai-binh", "Trường THPT Chuyên Thái Bình", "Sở GD&ĐT Hưng Yên", "Hưng Yên", ""
)
SECOND_SCHOOL = DemoSchool("thpt-phu-cu", "Trường THPT Phù Cừ", "Sở GD&ĐT Hưng Yên", "Hưng Yên", "pc")
"""The demo's second school (small: three classes), beside the first in the same deployment."""
DEMO_SCHOOLS: tuple[DemoSchool, ...] = (DEMO_SCHOOL, SECOND_SCHOOL)
DEMO_PROVINCE = DemoPerson("so.gddt", "Hoàng Minh Tuấn", ("province_admin", "province_officer"))
"""The province's demo login (Sở GD&ĐT Hưng Yên): creates schools, reads their progress."""
