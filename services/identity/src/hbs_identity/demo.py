"""The demo schools and the province's demo login, built through identity's own use cases
(development and test only).

The first school (DEMO_SCHOOL, the deployment's `school_id`) is full or small; the second
(SECOND_SCHOOL) always has the small demo's three classes, with its own people, students and
parents (other ids, mã định danh and phone numbers: those are unique in the whole deployment).
Idempotent: people with fixed ids are looked up first, and a class that already exists keeps
its students, so a restart (or a second seed) adds nothing twice.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from dataclasses import dataclass
from datetime import date
from typing import Literal

from hbs_devtools.demo import (
    DEMO_CHILDREN,
    DEMO_NAMESPACE,
    DEMO_PARENT,
    DEMO_PARENT_PHONE,
    DEMO_PASSWORD,
    DEMO_PEOPLE,
    DEMO_PROVINCE,
    DEMO_SCHOOL,
    SECOND_SCHOOL,
    DemoPerson,
    DemoSchool,
)
from hbs_identity.accounts.passwords import hash_password
from hbs_identity.assignments.repository import AssignmentRepository
from hbs_identity.assignments.schemas import AssignmentIn
from hbs_identity.assignments.service import AssignmentService
from hbs_identity.models import Parent, SchoolClass, SchoolYear, Staff
from hbs_identity.people.repository import PeopleRepository
from hbs_identity.people.schemas import ChildLink, ParentIn, StaffIn, StudentIn
from hbs_identity.people.service import PeopleService
from hbs_identity.province.service import ProvinceService
from hbs_identity.school.repository import SchoolRepository
from hbs_identity.school.schemas import ClassIn, DepartmentIn, SchoolIn, YearIn
from hbs_identity.school.service import SchoolService
from hbs_identity.text import search_key
from hbs_identity.unit import Unit
from hbs_shared.schools import PROVINCE_SCOPE

DEMO_YEAR = "2026-2027"
SMALL_CLASSES: tuple[tuple[str, int], ...] = (("10A1", 10), ("10A2", 10), ("11 Toán chuyên", 11))
SPECIALIST = ("Toán", "Lý", "Hoá", "Sinh", "Tin", "Văn", "Anh")

# Fixed demo assignments the other services' demos and tests rely on.
FIXED_TEACHING: tuple[tuple[str, str, str], ...] = (
    ("gv.toan", "TOAN", "10A1"),
    ("gv.toan", "TOAN", "10A2"),
    ("gv.toan", "TOAN", "11 Toán chuyên"),
    ("gv.van", "NGU_VAN", "10A1"),
)
FIXED_HOMEROOM: tuple[tuple[str, str], ...] = (("gv.van", "10A1"),)

DEPARTMENTS: dict[str, tuple[str, ...]] = {
    "Tổ Toán": ("TOAN",),
    "Tổ Ngữ văn": ("NGU_VAN",),
    "Tổ Ngoại ngữ": ("NGOAI_NGU_1",),
    "Tổ Vật lí - Công nghệ": ("VAT_LI", "CONG_NGHE"),
    "Tổ Hoá học - Sinh học": ("HOA_HOC", "SINH_HOC"),
    "Tổ Tin học": ("TIN_HOC",),
    "Tổ Lịch sử - Địa lí - GDKT&PL": ("LICH_SU", "DIA_LI", "GDKT_PL"),
    "Tổ Thể dục - Quốc phòng": ("GDTC", "GDQPAN"),
    "Tổ Hoạt động trải nghiệm": ("HDTN_HN", "GD_DIA_PHUONG"),
}
CLASS_SUBJECTS: tuple[str, ...] = (
    "NGU_VAN", "TOAN", "NGOAI_NGU_1", "LICH_SU", "GDTC", "GDQPAN", "HDTN_HN", "GD_DIA_PHUONG",
    "VAT_LI", "HOA_HOC", "SINH_HOC", "TIN_HOC",
)  # fmt: skip
TEACHERS_PER_SUBJECT = {"TOAN": 10, "NGU_VAN": 9, "NGOAI_NGU_1": 9}

SURNAMES = (
    ("Nguyễn", 30), ("Trần", 11), ("Lê", 9), ("Phạm", 8), ("Hoàng", 5), ("Vũ", 5), ("Đặng", 3),
    ("Bùi", 3), ("Đỗ", 3), ("Hồ", 2), ("Ngô", 2), ("Dương", 2), ("Lý", 1), ("Đinh", 2), ("Phan", 3),
    ("Trịnh", 2), ("Đào", 2), ("Lương", 1), ("Tạ", 1), ("Mai", 1),
)  # fmt: skip
MALE_MIDDLE = ("Văn", "Đức", "Minh", "Quang", "Hữu", "Thành", "Hoàng", "Gia", "Tuấn", "Trung", "Ngọc")
FEMALE_MIDDLE = ("Thị", "Ngọc", "Thu", "Thanh", "Phương", "Minh", "Khánh", "Bảo", "Hải", "Diệu", "Thùy")
MALE_GIVEN = (
    "An", "Anh", "Bảo", "Bình", "Cường", "Dũng", "Duy", "Đạt", "Đức", "Giang", "Hải", "Hiếu", "Hoàng",
    "Huy", "Hùng", "Khang", "Khánh", "Khôi", "Kiên", "Lâm", "Long", "Minh", "Nam", "Nghĩa", "Phong",
    "Phúc", "Quân", "Quang", "Sơn", "Tài", "Thắng", "Thành", "Tiến", "Trung", "Tú", "Tuấn", "Việt", "Vinh",
)  # fmt: skip
FEMALE_GIVEN = (
    "An", "Anh", "Chi", "Diệp", "Dung", "Giang", "Hà", "Hạnh", "Hằng", "Hiền", "Hoa", "Huyền", "Hương",
    "Lan", "Linh", "Loan", "Ly", "Mai", "My", "Nga", "Ngân", "Ngọc", "Nhung", "Oanh", "Phương", "Quỳnh",
    "Thảo", "Thư", "Trang", "Trâm", "Uyên", "Vân", "Vy", "Yến",
)  # fmt: skip
PLACES = ("Thái Bình", "Thái Bình", "Thái Bình", "Hưng Yên", "Nam Định", "Hà Nội", "Hải Phòng", "Hải Dương")
STREETS = ("Lý Bôn", "Trần Hưng Đạo", "Lê Lợi", "Quang Trung", "Hai Bà Trưng", "Trần Thái Tông", "Kỳ Đồng")
OCCUPATIONS = ("Giáo viên", "Kỹ sư", "Nông dân", "Kinh doanh", "Công nhân", "Bác sĩ", "Công chức", "Lái xe")
MINORITIES = ("Tày", "Mường", "Nùng", "Thái", "Dao")


@dataclass
class SeedReport:
    staff: int = 0
    classes: int = 0
    students: int = 0
    parents: int = 0
    assignments: int = 0


def class_number(name: str) -> int:
    """A class's number within its grade: specialist classes 1–7, then A1… as 8…"""
    for index, subject in enumerate(SPECIALIST, start=1):
        if name.endswith(f" {subject} chuyên"):
            return index
    return len(SPECIALIST) + int(name.split("A", 1)[1])


def demo_id(kind: str, key: str) -> uuid.UUID:
    return uuid.uuid5(DEMO_NAMESPACE, f"{kind}:{key}")


@dataclass(frozen=True)
class SchoolSeed:
    """What differs between the demo schools' generated people: ids, mã định danh, phones, town."""

    key_prefix: str
    """Before a student's or parent's id key ("" for the first school: its ids stay as they were)."""
    national_id_prefix: str
    """The mã định danh's first three digits (the province of birth's code)."""
    phone_prefix: str
    town: str
    seed: int | str


SCHOOL_SEEDS: dict[str, SchoolSeed] = {
    DEMO_SCHOOL.id: SchoolSeed("", "034", "091", "TP. Thái Bình", 20262027),
    SECOND_SCHOOL.id: SchoolSeed(
        f"{SECOND_SCHOOL.id}:", "033", "092", "huyện Phù Cừ, Hưng Yên", SECOND_SCHOOL.id
    ),
}


def demo_student_id(school: DemoSchool, class_name: str, seat: int, year: str = DEMO_YEAR) -> uuid.UUID:
    """The id of the student in `seat` of a demo school's class (tests and other demos use it)."""
    return demo_id("student", f"{SCHOOL_SEEDS[school.id].key_prefix}{year}:{class_name}:{seat}")


DEMO_STUDENT_ID = demo_student_id(DEMO_SCHOOL, *DEMO_CHILDREN[0])
"""The student who signs in with DEMO_STUDENT_LOGIN (the demo parent's first child)."""
DEMO_LOGIN_IDS = frozenset(
    {
        *(p.user_id for p in DEMO_PEOPLE),
        *(p.user_id for p in SECOND_SCHOOL.people),
        DEMO_PARENT.user_id,
        DEMO_STUDENT_ID,
        DEMO_PROVINCE.user_id,
    }
)
"""The README's demo logins (both schools' five demo staff, the demo parent and student, the
province's `so.gddt`): the only accounts that skip the first-sign-in steps (outside production,
with `demo_accounts_exempt`). Every other seeded person changes the password."""


class Names:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self._surnames = [s for s, _ in SURNAMES]
        self._weights = [w for _, w in SURNAMES]

    def surname(self) -> str:
        return self.rng.choices(self._surnames, self._weights)[0]

    def person(self, gender: Literal["male", "female"], surname: str | None = None) -> str:
        middle = self.rng.choice(MALE_MIDDLE if gender == "male" else FEMALE_MIDDLE)
        given = self.rng.choice(MALE_GIVEN if gender == "male" else FEMALE_GIVEN)
        return f"{surname or self.surname()} {middle} {given}"


def _username(full_name: str, taken: set[str]) -> str:
    parts = search_key(full_name).split()
    base = f"gv.{parts[-1]}{''.join(p[0] for p in parts[:-1])}"
    name, n = base, 1
    while name in taken:
        n += 1
        name = f"{base}{n}"
    taken.add(name)
    return name


class DemoSeeder:
    def __init__(self, people: PeopleService) -> None:
        self.people = people
        self.school = SchoolService()
        self.assignments = AssignmentService()
        self.assignment_repo = AssignmentRepository()
        self.people_repo = PeopleRepository()
        self.school_repo = SchoolRepository()
        self.province = ProvinceService()
        self.rng = random.Random(20262027)
        self.names = Names(self.rng)
        self._password_hash: str | None = None
        self.look = SCHOOL_SEEDS[DEMO_SCHOOL.id]

    async def password_hash(self) -> str:
        if self._password_hash is None:
            self._password_hash = await asyncio.to_thread(hash_password, DEMO_PASSWORD)
        return self._password_hash

    async def seed_province(self, unit: Unit) -> bool:
        """The province's demo login (`so.gddt`); whether it was created now."""
        assert unit.school_id == PROVINCE_SCOPE
        if await self.people_repo.account(unit.session, DEMO_PROVINCE.user_id) is not None:
            return False
        await self.province.create_account(
            unit,
            DEMO_PROVINCE.username,
            DEMO_PROVINCE.full_name,
            DEMO_PROVINCE.roles,
            account_id=DEMO_PROVINCE.user_id,
            password_hash=await self.password_hash(),
            must_change_password=False,
        )
        return True

    async def seed(
        self,
        unit: Unit,
        size: Literal["full", "small"],
        exempt: bool,
        school: DemoSchool = DEMO_SCHOOL,
    ) -> SeedReport:
        """One demo school in `unit`'s school (the first one's is the deployment's school_id)."""
        report = SeedReport()
        first = school.id == DEMO_SCHOOL.id
        self.look = SCHOOL_SEEDS[school.id]
        self.rng = random.Random(self.look.seed)
        self.names = Names(self.rng)
        password_hash = await self.password_hash()
        # Everybody but the demo logins must change the (public) demo password at first sign-in.
        must_change = True
        if await self.school_repo.school(unit.session, unit.school_id) is None:
            await self.school.ensure_school(
                unit, SchoolIn(name=school.name, authority=school.authority, province=school.province)
            )
        year = await self.school_repo.year_by_name(unit.session, unit.school_id, DEMO_YEAR)
        if year is None:
            year = await self.school.create_year(
                unit,
                YearIn(
                    name=DEMO_YEAR,
                    semester1_start=date(2026, 9, 5),
                    semester1_end=date(2027, 1, 16),
                    semester2_start=date(2027, 1, 18),
                    semester2_end=date(2027, 5, 31),
                    current=True,
                ),
            )
        departments: dict[str, uuid.UUID] = {}
        for department_name in DEPARTMENTS:
            found = await self.school_repo.department_by_name(unit.session, unit.school_id, department_name)
            if found is None:
                found = await self.school.create_department(unit, DepartmentIn(name=department_name))
            departments[department_name] = found.id

        # The five demo people, with their fixed ids and password (keyed by the first school's
        # usernames: "gv.toan" is gv.toan.pc in the second).
        staff_by_username: dict[str, Staff] = {}
        for person in DEMO_PEOPLE:
            staff_by_username[person.username] = await self._demo_person_staff(
                unit, person.username, school.person(person.username), password_hash, departments, report
            )

        # Classes.
        if size == "small" or not first:
            wanted = [(name, grade, 10) for name, grade in SMALL_CLASSES]
        else:
            wanted = []
            for grade in (10, 11, 12):
                # Specialist classes are small; others at the legal maximum of 45 (Thông tư 32/2020).
                wanted += [(f"{grade} {s} chuyên", grade, 38) for s in SPECIALIST]
                wanted += [(f"{grade}A{i}", grade, 45) for i in range(1, 6)]
        new_classes: list[tuple[SchoolClass, int]] = []
        classes: dict[str, SchoolClass] = {}
        for name, grade, headcount in wanted:
            school_class = await self.school_repo.class_by_name(unit.session, year.id, name)
            if school_class is None:
                school_class, _ = await self.school.create_class(
                    unit, ClassIn(name=name, grade_level=grade, school_year=year.name)
                )
                new_classes.append((school_class, headcount))
                report.classes += 1
            classes[name] = school_class

        # Teachers (full size): about 95 besides the demo people, by department.
        teachers: dict[str, list[Staff]] = {
            "TOAN": [staff_by_username["gv.toan"]],
            "NGU_VAN": [staff_by_username["gv.van"]],
        }
        full = size == "full" and first
        if full:
            taken = {p.username for p in DEMO_PEOPLE}
            rng = random.Random(7)
            names = Names(rng)
            for department, codes in DEPARTMENTS.items():
                for code in codes:
                    count = TEACHERS_PER_SUBJECT.get(code, 6 if code in CLASS_SUBJECTS else 4)
                    pool = teachers.setdefault(code, [])
                    while len(pool) < count:
                        gender: Literal["male", "female"] = "female" if rng.random() < 0.65 else "male"
                        full_name = names.person(gender)
                        username = _username(full_name, taken)
                        staff = await self._get_or_create_staff(
                            unit,
                            demo_id("staff", username),
                            StaffIn(
                                username=username,
                                full_name=full_name,
                                roles=["subject_teacher"],
                                department_id=departments[department],
                            ),
                            password_hash,
                            must_change,
                            report,
                        )
                        pool.append(staff)
        # Office staff (full size).
        if full:
            for i, full_name in enumerate(("Nguyễn Thị Thanh Tâm", "Lê Văn Hậu", "Trần Thị Mến"), start=1):
                await self._get_or_create_staff(
                    unit,
                    demo_id("staff", f"vanphong{i}"),
                    StaffIn(username=f"vanphong{i}", full_name=full_name, roles=["office_admin"]),
                    password_hash,
                    must_change,
                    report,
                )

        # Assignments: the fixed ones first, then every class × subject round-robin.
        for username, code, class_name in FIXED_TEACHING:
            report.assignments += await self._assign(
                unit, staff_by_username[username], classes[class_name], "subject_teacher", code
            )
        for username, class_name in FIXED_HOMEROOM:
            report.assignments += await self._assign(
                unit, staff_by_username[username], classes[class_name], "homeroom_teacher", None
            )
        if full:
            turn: dict[str, int] = {}
            homeroom_pool = [
                s
                for code in CLASS_SUBJECTS
                for s in teachers.get(code, [])
                if s.id not in {staff_by_username["gv.toan"].id}
            ]
            for index, (name, school_class) in enumerate(classes.items()):
                for code in CLASS_SUBJECTS:
                    pool = teachers[code]
                    teacher = pool[turn.get(code, 0) % len(pool)]
                    turn[code] = turn.get(code, 0) + 1
                    report.assignments += await self._assign(
                        unit, teacher, school_class, "subject_teacher", code
                    )
                if name != "10A1":
                    teacher = homeroom_pool[(index * 7) % len(homeroom_pool)]
                    report.assignments += await self._assign(
                        unit, teacher, school_class, "homeroom_teacher", None
                    )

        # Students and their parents, only in classes this seed created.
        await self._students(unit, year, new_classes, password_hash, must_change, report, exempt)
        if first:
            await self._demo_parent(unit, year, password_hash, not exempt, report)
        return report

    async def _demo_parent(
        self, unit: Unit, year: SchoolYear, password_hash: str, must_change: bool, report: SeedReport
    ) -> None:
        """The demo parent, linked to the children the portal's family pages are shown with."""
        if await self.people_repo.parent(unit.session, DEMO_PARENT.user_id) is not None:
            return
        children = [
            ChildLink(
                student_id=demo_id("student", f"{year.name}:{class_name}:{seat}"), relationship="guardian"
            )
            for class_name, seat in DEMO_CHILDREN
        ]
        await self.people.parents.create_parent(
            unit,
            ParentIn(
                full_name=DEMO_PARENT.full_name,
                phone=DEMO_PARENT_PHONE,
                username=DEMO_PARENT.username,
                children=children,
            ),
            parent_id=DEMO_PARENT.user_id,
            checked=True,
            password_hash=password_hash,
            must_change_password=must_change,
        )
        report.parents += 1

    async def _demo_person_staff(
        self,
        unit: Unit,
        username: str,
        person: DemoPerson,
        password_hash: str,
        departments: dict[str, uuid.UUID],
        report: SeedReport,
    ) -> Staff:
        """`person`: this school's counterpart of the first school's demo person `username`."""
        department = {"gv.toan": "Tổ Toán", "gv.van": "Tổ Ngữ văn"}.get(username)
        staff = await self.people_repo.staff(unit.session, person.user_id)
        if staff is not None:
            return staff
        account = await self.people_repo.account(unit.session, person.user_id)
        if account is not None:
            # An account from before people existed (migration 0001's demo seed): give it its staff row.
            staff = Staff(
                id=account.id,
                school_id=unit.school_id,
                full_name=person.full_name,
                search_name=search_key(person.full_name),
                department_id=departments[department] if department else None,
            )
            unit.session.add(staff)
            return staff
        staff, _ = await self.people.staff.create_staff(
            unit,
            StaffIn(
                username=person.username,
                full_name=person.full_name,
                roles=list(person.roles),
                department_id=departments[department] if department else None,
            ),
            staff_id=person.user_id,
            password_hash=password_hash,
            must_change_password=False,
        )
        report.staff += 1
        return staff

    async def _get_or_create_staff(
        self,
        unit: Unit,
        staff_id: uuid.UUID,
        data: StaffIn,
        password_hash: str,
        must_change: bool,
        report: SeedReport,
    ) -> Staff:
        staff = await self.people_repo.staff(unit.session, staff_id)
        if staff is None:
            staff, _ = await self.people.staff.create_staff(
                unit, data, staff_id=staff_id, password_hash=password_hash, must_change_password=must_change
            )
            report.staff += 1
        return staff

    async def _assign(
        self, unit: Unit, teacher: Staff, school_class: SchoolClass, kind: str, code: str | None
    ) -> int:
        current = await self.assignment_repo.active_for(unit.session, school_class.id, kind, code)
        if current is not None:
            return 0
        await self.assignments.assign(
            unit,
            AssignmentIn(kind=kind, teacher_id=teacher.id, class_id=school_class.id, subject_code=code),
        )
        return 1

    async def _students(
        self,
        unit: Unit,
        year: SchoolYear,
        new_classes: list[tuple[SchoolClass, int]],
        password_hash: str,
        must_change: bool,
        report: SeedReport,
        exempt: bool,
    ) -> None:
        rng = self.rng
        for school_class, headcount in new_classes:
            born = 2026 - school_class.grade_level - 6 + 1  # grade 10 in 2026-2027: born 2011
            previous_parent: Parent | None = None
            number = class_number(school_class.name)
            for seat in range(1, headcount + 1):
                key = f"{self.look.key_prefix}{year.name}:{school_class.name}:{seat}"
                code = f"{school_class.grade_level}{number:02d}{seat:03d}"
                national_id = f"{self.look.national_id_prefix}{code}"
                gender: Literal["male", "female"] = "female" if rng.random() < 0.52 else "male"
                surname = self.names.surname()
                father = self.names.person("male", surname)
                mother = self.names.person("female")
                student = await self.people.students.create_student(
                    unit,
                    StudentIn(
                        national_id=national_id,
                        full_name=self.names.person(gender, surname),
                        date_of_birth=date(born, rng.randint(1, 12), rng.randint(1, 28)),
                        birthplace=rng.choice(PLACES),
                        gender=gender,
                        ethnicity="Kinh" if rng.random() < 0.95 else rng.choice(MINORITIES),
                        address=f"Số {rng.randint(1, 200)} đường {rng.choice(STREETS)}, {self.look.town}",
                        father_name=father,
                        father_occupation=rng.choice(OCCUPATIONS),
                        mother_name=mother,
                        mother_occupation=rng.choice(OCCUPATIONS),
                        disability=rng.random() < 0.005,
                    ),
                    checked=True,
                    student_id=demo_id("student", key),
                    password_hash=password_hash,
                    must_change_password=must_change
                    and not (exempt and demo_id("student", key) == DEMO_STUDENT_ID),
                )
                await self.people.students.enrol(
                    unit, student, school_class, year, year.semester1_start, new_student=True
                )
                report.students += 1
                # One parent account per family; a few siblings share one (same parent, two children).
                if previous_parent is not None and rng.random() < 0.04:
                    await self.people.parents.link_child(
                        unit,
                        previous_parent,
                        ChildLink(student_id=student.id, relationship="mother"),
                        checked=True,
                    )
                    continue
                relationship: Literal["father", "mother"] = "mother" if rng.random() < 0.6 else "father"
                parent = await self.people.parents.create_parent(
                    unit,
                    ParentIn(
                        full_name=mother if relationship == "mother" else father,
                        phone=f"{self.look.phone_prefix}{code}",
                        username=f"ph.{national_id}",
                        children=[ChildLink(student_id=student.id, relationship=relationship)],
                    ),
                    parent_id=demo_id("parent", key),
                    checked=True,
                    password_hash=password_hash,
                    must_change_password=must_change,
                )
                previous_parent = parent
                report.parents += 1
