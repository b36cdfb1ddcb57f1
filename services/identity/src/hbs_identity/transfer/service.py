"""Bulk import (dry run first, then all-or-nothing) and export of students, parents, staff and
assignments. Every bad row is reported with its row number, field and column."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

from pydantic import ValidationError
from sqlalchemy import select

from hbs_identity.assignments.repository import AssignmentRepository
from hbs_identity.assignments.schemas import AssignmentIn
from hbs_identity.assignments.service import AssignmentService
from hbs_identity.models import (
    Account,
    Department,
    Enrolment,
    Parent,
    ParentLink,
    SchoolClass,
    Staff,
    Student,
)
from hbs_identity.people.repository import PeopleRepository
from hbs_identity.people.schemas import ChildLink, ParentIn, StaffIn, StudentIn
from hbs_identity.people.service import PeopleService
from hbs_identity.school.repository import SchoolRepository
from hbs_identity.school.schemas import DepartmentIn
from hbs_identity.school.service import SchoolService
from hbs_identity.text import search_key
from hbs_identity.transfer.messages import pydantic_message
from hbs_identity.transfer.sheets import Column, Row
from hbs_identity.unit import Unit
from hbs_shared.curriculum import SUBJECTS, SUBJECTS_BY_CODE
from hbs_shared.names import name_key, sorted_by_name, text_key
from hbs_shared.problems import Problem
from hbs_shared.roles import STAFF_ORDER, TEACHERS

Kind = Literal["students", "parents", "staff", "assignments"]

STUDENT_COLUMNS = (
    Column("Mã định danh", "national_id", True, "Mã định danh học sinh trên CSDL ngành (10 hoặc 12 chữ số)"),
    Column("Họ và tên", "full_name", True),
    Column("Ngày sinh", "date_of_birth", True, "dd/mm/yyyy, ví dụ 14/03/2011"),
    Column("Giới tính", "gender", True, "Nam hoặc Nữ"),
    Column("Nơi sinh", "birthplace", True, "Tỉnh/thành phố"),
    Column("Dân tộc", "ethnicity", False, "Một trong 54 dân tộc (mặc định Kinh)"),
    Column("Quốc tịch", "nationality", False, "Mặc định Việt Nam"),
    Column("Địa chỉ", "address"),
    Column("Số CCCD", "citizen_id", False, "12 chữ số, nếu có"),
    Column("Họ tên cha", "father_name"),
    Column("Nghề nghiệp cha", "father_occupation"),
    Column("Họ tên mẹ", "mother_name"),
    Column("Nghề nghiệp mẹ", "mother_occupation"),
    Column("Họ tên người giám hộ", "guardian_name"),
    Column("Nghề nghiệp người giám hộ", "guardian_occupation"),
    Column("Đối tượng chính sách", "policy_group"),
    Column("Khuyết tật", "disability", False, "Có hoặc Không (mặc định Không)"),
    Column("Lớp", "class_name", False, "Tên lớp trong năm học, ví dụ 10A1"),
    Column("Ngày vào lớp", "enrolled_on", False, "dd/mm/yyyy; mặc định ngày đầu học kỳ I"),
)
PARENT_COLUMNS = (
    Column("Họ và tên", "full_name", True),
    Column("Số điện thoại", "phone", False, "10 chữ số; dùng để đăng nhập"),
    Column("Tên đăng nhập", "username", False, "Nếu để trống: ph + số điện thoại"),
    Column("Mã định danh học sinh", "children", True, "Một hoặc nhiều mã, cách nhau bởi dấu ;"),
    Column("Quan hệ", "relationship", True, "Cha, Mẹ hoặc Người giám hộ"),
)
STAFF_COLUMNS = (
    Column("Tên đăng nhập", "username", True),
    Column("Họ và tên", "full_name", True),
    Column(
        "Vai trò",
        "roles",
        True,
        "Cách nhau bởi dấu ;: Hiệu trưởng, Phó hiệu trưởng, Giáo viên bộ môn, Giáo viên chủ nhiệm, "
        "Văn phòng, Quản trị hệ thống",
    ),
    Column("Tổ chuyên môn", "department", False, "Tên tổ; tổ chưa có sẽ được tạo"),
    Column("Email", "email"),
    Column("Số điện thoại", "phone"),
)
ASSIGNMENT_COLUMNS = (
    Column("Tên đăng nhập giáo viên", "teacher", True),
    Column("Lớp", "class_name", True),
    Column("Loại", "kind", True, "Giảng dạy hoặc Chủ nhiệm"),
    Column(
        "Môn",
        "subject",
        False,
        "Mã hoặc tên môn (bắt buộc với Giảng dạy): " + ", ".join(s.name for s in SUBJECTS),
    ),
)
COLUMNS: dict[str, tuple[Column, ...]] = {
    "students": STUDENT_COLUMNS,
    "parents": PARENT_COLUMNS,
    "staff": STAFF_COLUMNS,
    "assignments": ASSIGNMENT_COLUMNS,
}
SHEET_TITLES = {
    "students": "Học sinh",
    "parents": "Phụ huynh",
    "staff": "Cán bộ giáo viên",
    "assignments": "Phân công",
}

# A role in an import is its Vietnamese name, accents and case aside ("pho hieu truong").
ROLE_NAMES = {search_key(role.label): role.value for role in STAFF_ORDER}
ROLE_LABELS = {role.value: role.label for role in STAFF_ORDER}
RELATIONSHIPS = {
    "cha": "father",
    "bo": "father",
    "me": "mother",
    "nguoi giam ho": "guardian",
    "giam ho": "guardian",
}
RELATIONSHIP_LABELS = {"father": "Cha", "mother": "Mẹ", "guardian": "Người giám hộ"}
SUBJECTS_BY_NAME = {search_key(s.name): s.code for s in SUBJECTS}


@dataclass
class RowError:
    row: int
    field: str
    column: str
    message: str


@dataclass
class RowLinked:
    """A row whose parent exists already: they gain the row's students (liên kết thêm học sinh)."""

    row: int
    parent_id: uuid.UUID
    students: int
    message: str = "liên kết thêm học sinh"


@dataclass
class Report:
    kind: str
    dry_run: bool
    rows: int = 0
    created: int = 0
    errors: list[RowError] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    linked: list[RowLinked] = field(default_factory=list)


class _RowProblem(Exception):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def _convert(
    values: dict[str, Any], problems: list[_RowProblem], name: str, convert: Callable[[Any], Any]
) -> None:
    """One cell read into its type; what is wrong is kept, and the row's other cells still read,
    so a dry run lists every error of a row at once (not one per pass)."""
    if name not in values:
        return
    try:
        values[name] = convert(values[name])
    except _RowProblem as problem:
        problems.append(problem)


def _date(value: Any, name: str) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip()
    for pattern in ("%d/%m/%Y", "%Y-%m-%d", "%d-%m-%Y", "%d.%m.%Y"):
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    raise _RowProblem(name, f"“{text}” không phải ngày hợp lệ (ngày/tháng/năm, ví dụ 14/03/2011)")


def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _gender(value: Any) -> str:
    key = search_key(_text(value))
    if key in {"nam", "male", "m"}:
        return "male"
    if key in {"nu", "female", "f"}:
        return "female"
    raise _RowProblem("gender", f"“{value}”: ghi Nam hoặc Nữ")


def _yes_no(value: Any, name: str) -> bool:
    if isinstance(value, bool):
        return value
    key = search_key(_text(value))
    if key in {"co", "x", "yes", "true", "1"}:
        return True
    if key in {"khong", "no", "false", "0", ""}:
        return False
    raise _RowProblem(name, f"“{value}”: ghi Có hoặc Không")


class Transfer:
    def __init__(self, people: PeopleService) -> None:
        self.people = people
        self.people_repo = PeopleRepository()
        self.schools = SchoolRepository()
        self.school_service = SchoolService()
        self.assignments = AssignmentService()
        self.assignment_repo = AssignmentRepository()

    # --- import --------------------------------------------------------------------------

    async def run(self, unit: Unit, kind: Kind, rows: list[Row], school_year: str, dry_run: bool) -> Report:
        report = Report(kind=kind, dry_run=dry_run, rows=len(rows))
        year = await self.school_service.year_named(unit, school_year)
        handler = {
            "students": self._students,
            "parents": self._parents,
            "staff": self._staff,
            "assignments": self._assignments,
        }[kind]
        await handler(unit, rows, year.id, dry_run, report)
        return report

    def _error(self, report: Report, kind: str, row: Row, field_name: str, message: str) -> None:
        header = next((c.header for c in COLUMNS[kind] if c.field == field_name), field_name)
        report.errors.append(RowError(row.number, field_name, header, message))

    def _validation(
        self,
        report: Report,
        kind: str,
        row: Row,
        error: ValidationError,
        prefix: str = "",
        skip: frozenset[str] = frozenset(),
    ) -> set[str]:
        """Each check the row failed, by field; fields in `skip` were reported already. Returns the
        fields reported."""
        reported: set[str] = set()
        for item in error.errors():
            loc = [str(p) for p in item["loc"]]
            if prefix and loc and loc[0] == prefix:
                loc = loc[1:]
            name = loc[0] if loc else "row"
            message = pydantic_message(item)
            if name == "row" or not loc:
                match = re.match(r"^(\w+):", message)
                name = match.group(1) if match else name
            if name in skip:
                continue
            reported.add(name)
            self._error(report, kind, row, name, message)
        return reported

    async def _classes(self, unit: Unit, year_id: uuid.UUID) -> dict[str, SchoolClass]:
        return {
            search_key(c.name): c for c in await self.schools.classes(unit.session, unit.school_id, year_id)
        }

    async def _students(
        self, unit: Unit, rows: list[Row], year_id: uuid.UUID, dry_run: bool, report: Report
    ) -> None:
        classes = await self._classes(unit, year_id)
        year = await self.schools.year(unit.session, year_id)
        assert year is not None
        valid: list[tuple[StudentIn, SchoolClass | None, date]] = []
        seen: dict[str, int] = {}
        for row in rows:
            values = dict(row.values)
            problems: list[_RowProblem] = []
            _convert(values, problems, "date_of_birth", lambda v: _date(v, "date_of_birth"))
            _convert(values, problems, "enrolled_on", lambda v: _date(v, "enrolled_on"))
            _convert(values, problems, "gender", _gender)
            _convert(values, problems, "disability", lambda v: _yes_no(v, "disability"))
            _convert(values, problems, "national_id", _text)
            _convert(values, problems, "citizen_id", _text)
            class_name = values.pop("class_name", None)
            school_class = None
            if class_name is not None:
                school_class = classes.get(search_key(_text(class_name)))
                if school_class is None:
                    message = f"không có lớp “{class_name}” trong năm học {year.name}"
                    problems.append(_RowProblem("class_name", message))
            for problem in problems:
                self._error(report, "students", row, problem.field, problem.message)
            failed = frozenset(p.field for p in problems)
            enrolled_on = values.pop("enrolled_on", None) or year.semester1_start
            checked = {k: v for k, v in values.items() if k not in failed}
            student: StudentIn | None = None
            try:
                student = StudentIn.model_validate(checked)
            except ValidationError as error:
                failed |= self._validation(report, "students", row, error, skip=failed)
            national_id = _text(values.get("national_id") or "")
            if "national_id" in failed or not national_id:
                pass  # reported already
            elif not self.people.students.national_id.fullmatch(national_id):
                message = f"mã định danh “{national_id}” sai định dạng"
                self._error(report, "students", row, "national_id", message)
                failed |= {"national_id"}
            elif national_id in seen:
                message = f"trùng với dòng {seen[national_id]} của tệp"
                self._error(report, "students", row, "national_id", message)
                failed |= {"national_id"}
            else:
                seen[national_id] = row.number
            if student is not None and not problems and "national_id" not in failed:
                valid.append((student, school_class, enrolled_on))
        existing = await self.people_repo.existing_national_ids(unit.session, set(seen))
        taken = await self._usernames_taken(unit, set(seen))
        for row in rows:
            national_id = _text(row.values.get("national_id", ""))
            if national_id in existing or national_id in taken:
                self._error(
                    report, "students", row, "national_id", f"mã định danh {national_id} đã có trong hệ thống"
                )
        report.errors.sort(key=lambda e: e.row)
        if report.errors or dry_run:
            return
        with unit.session.no_autoflush:
            for student, school_class, enrolled_on in valid:
                created = await self.people.students.create_student(unit, student, checked=True)
                if school_class is not None:
                    await self.people.students.enrol(
                        unit, created, school_class, year, enrolled_on, new_student=True
                    )
                report.created += 1

    async def _usernames_taken(self, unit: Unit, names: set[str]) -> set[str]:
        found: set[str] = set()
        values = list(names)
        for start in range(0, len(values), 500):
            result = await unit.session.execute(
                select(Account.username).where(Account.username.in_(values[start : start + 500]))
            )
            found.update(result.scalars())
        return found

    async def _parents(
        self, unit: Unit, rows: list[Row], year_id: uuid.UUID, dry_run: bool, report: Report
    ) -> None:
        wanted: set[str] = set()
        for row in rows:
            wanted.update(set(re.split(r"[;,\s]+", _text(row.values.get("children", "")))) - {""})
        students: dict[str, Student] = {}
        ids_wanted = list(wanted)
        for start in range(0, len(ids_wanted), 500):
            found = await unit.session.execute(
                select(Student).where(
                    Student.national_id.in_(ids_wanted[start : start + 500]),
                    Student.school_id == unit.school_id,
                )
            )
            students.update({s.national_id: s for s in found.scalars()})
        valid: list[ParentIn] = []
        extend: list[tuple[Parent, list[ChildLink]]] = []
        phones: dict[str, int] = {}
        usernames: dict[str, int] = {}
        for row in rows:
            values = dict(row.values)
            problems: list[_RowProblem] = []
            relation = RELATIONSHIPS.get(search_key(_text(values.pop("relationship", ""))))
            if relation is None:
                problems.append(_RowProblem("relationship", "ghi Cha, Mẹ hoặc Người giám hộ"))
            ids = [i for i in re.split(r"[;,\s]+", _text(values.pop("children", ""))) if i]
            unknown = [i for i in ids if i not in students]
            if not ids or unknown:
                message = f"không tìm thấy học sinh: {', '.join(unknown) or '(chưa ghi mã nào)'}"
                problems.append(_RowProblem("children", message))
            if "phone" in values:
                values["phone"] = _text(values["phone"])
                if len(values["phone"]) == 9 and values["phone"].isdigit():
                    values["phone"] = "0" + values["phone"]  # Excel drops the leading zero
            for problem in problems:
                self._error(report, "parents", row, problem.field, problem.message)
            # Every other check of the row too (one pass lists them all); the children are
            # checked above, so a stand-in link keeps pydantic to the other fields.
            stand_in = [ChildLink(student_id=uuid.uuid4(), relationship="guardian")]
            links = [
                ChildLink(student_id=students[i].id, relationship=relation or "guardian")
                for i in ids
                if i in students
            ]
            values["children"] = stand_in if problems else links
            try:
                parent = ParentIn.model_validate(values)
            except ValidationError as error:
                self._validation(report, "parents", row, error, skip=frozenset(p.field for p in problems))
                continue
            if problems:
                continue
            username = (parent.username or "").lower() or (f"ph{parent.phone}" if parent.phone else "")
            if parent.phone:
                if parent.phone in phones:
                    self._error(
                        report, "parents", row, "phone", f"trùng với dòng {phones[parent.phone]} của tệp"
                    )
                    continue
                phones[parent.phone] = row.number
            if username:
                if username in usernames:
                    self._error(
                        report, "parents", row, "username", f"trùng với dòng {usernames[username]} của tệp"
                    )
                    continue
                usernames[username] = row.number
            try:
                existing = await self.people.parents.parent_to_extend(unit, parent)
            except Problem as problem:
                self._error(report, "parents", row, problem.field or "phone", problem.detail)
                continue
            if existing is None:
                valid.append(parent)
                continue
            new = [
                c
                for c in parent.children
                if await self.people_repo.link(unit.session, existing.id, c.student_id) is None
            ]
            if new:
                report.linked.append(RowLinked(row.number, existing.id, len(new)))
                extend.append((existing, new))
            else:
                report.notes.append(f"dòng {row.number}: phụ huynh này đã được liên kết với các học sinh này")
        if report.errors or dry_run:
            return
        with unit.session.no_autoflush:
            for parent in valid:
                await self.people.parents.create_parent(unit, parent, checked=True)
                report.created += 1
        for existing, new in extend:
            await self.people.parents.link_children(unit, existing, new)

    async def _staff(
        self, unit: Unit, rows: list[Row], year_id: uuid.UUID, dry_run: bool, report: Report
    ) -> None:
        departments = {
            search_key(d.name): d for d in await self.schools.departments(unit.session, unit.school_id)
        }
        valid: list[tuple[StaffIn, str | None]] = []
        seen: dict[str, int] = {}
        for row in rows:
            values = dict(row.values)
            roles, unknown_roles = [], []
            for label in re.split(r"[;,]", _text(values.pop("roles", ""))):
                key = search_key(label)
                if not key:
                    continue
                role = ROLE_NAMES.get(key) or (key if key in ROLE_NAMES.values() else None)
                if role is None:
                    unknown_roles.append(label.strip())
                else:
                    roles.append(role)
            for label in unknown_roles:
                self._error(report, "staff", row, "roles", f"không có vai trò “{label}”")
            values["roles"] = roles
            if "phone" in values:
                values["phone"] = _text(values["phone"])
            department = values.pop("department", None)
            # The row's other checks too, in the same pass (the roles were reported above).
            skip = frozenset({"roles"}) if unknown_roles else frozenset()
            try:
                staff = StaffIn.model_validate(values)
            except ValidationError as error:
                self._validation(report, "staff", row, error, skip=skip)
                continue
            if unknown_roles:
                continue
            username = staff.username.lower()
            if username in seen:
                self._error(report, "staff", row, "username", f"trùng với dòng {seen[username]} của tệp")
                continue
            seen[username] = row.number
            if await self.people_repo.username_taken(unit.session, username):
                self._error(report, "staff", row, "username", f"tên đăng nhập {username} đã có người dùng")
                continue
            valid.append((staff, _text(department) if department else None))
        if report.errors or dry_run:
            for _, name in valid:
                if name and search_key(name) not in departments:
                    report.notes.append(f"tổ “{name}” sẽ được tạo mới")
                    departments[search_key(name)] = Department(name=name)
            return
        for staff, name in valid:
            if name:
                department = departments.get(search_key(name))
                if department is None:
                    department = await self.school_service.create_department(unit, DepartmentIn(name=name))
                    departments[search_key(name)] = department
                staff = staff.model_copy(update={"department_id": department.id})
            await self.people.staff.create_staff(unit, staff)
            report.created += 1

    async def _assignments(
        self, unit: Unit, rows: list[Row], year_id: uuid.UUID, dry_run: bool, report: Report
    ) -> None:
        classes = await self._classes(unit, year_id)
        accounts = {
            a.username: a
            for a in (
                await unit.session.execute(
                    select(Account).where(Account.school_id == unit.school_id, Account.kind == "staff")
                )
            ).scalars()
        }
        valid: list[AssignmentIn] = []
        seen: dict[tuple[uuid.UUID, str], int] = {}
        for row in rows:
            values = row.values
            try:
                account = accounts.get(_text(values.get("teacher", "")).lower())
                if account is None:
                    raise _RowProblem("teacher", f"không có cán bộ, giáo viên “{values.get('teacher')}”")
                school_class = classes.get(search_key(_text(values.get("class_name", ""))))
                if school_class is None:
                    raise _RowProblem(
                        "class_name", f"không có lớp “{values.get('class_name')}” trong năm học này"
                    )
                kind_key = search_key(_text(values.get("kind", "")))
                kind = {"giang day": "subject_teacher", "chu nhiem": "homeroom_teacher"}.get(
                    kind_key, kind_key
                )
                if kind not in TEACHERS:
                    raise _RowProblem("kind", "ghi Giảng dạy hoặc Chủ nhiệm")
                code = None
                if kind == "subject_teacher":
                    given = _text(values.get("subject", ""))
                    code = (
                        given.upper()
                        if given.upper() in SUBJECTS_BY_CODE
                        else SUBJECTS_BY_NAME.get(search_key(given))
                    )
                    if code is None:
                        raise _RowProblem("subject", f"không có môn “{given}”")
                key = (school_class.id, code or "homeroom")
                if key in seen:
                    raise _RowProblem("class_name", f"đã phân công ở dòng {seen[key]} của tệp")
                seen[key] = row.number
                current = await self.assignment_repo.active_for(unit.session, school_class.id, kind, code)
                if current is not None:
                    raise _RowProblem(
                        "subject" if code else "class_name",
                        f"lớp {school_class.name} đã có phân công này",
                    )
            except _RowProblem as problem:
                self._error(report, "assignments", row, problem.field, problem.message)
                continue
            valid.append(
                AssignmentIn(kind=kind, teacher_id=account.id, class_id=school_class.id, subject_code=code)
            )
        if report.errors or dry_run:
            return
        for assignment in valid:
            await self.assignments.assign(unit, assignment)
            report.created += 1

    # --- export --------------------------------------------------------------------------

    async def export(self, unit: Unit, kind: Kind, school_year: str) -> list[dict[str, Any]]:
        year = await self.school_service.year_named(unit, school_year)
        classes = {c.id: c for c in await self.schools.classes(unit.session, unit.school_id, year.id)}
        session = unit.session
        if kind == "students":
            result = await session.execute(
                select(Student, Enrolment)
                .join(Enrolment, Enrolment.student_id == Student.id)
                .where(
                    Enrolment.school_year_id == year.id,
                    Enrolment.left_on.is_(None),
                    Student.school_id == unit.school_id,
                )
            )
            out = []
            for student, enrolment in result:
                row = {c.field: getattr(student, c.field, None) for c in STUDENT_COLUMNS}
                row["gender"] = "Nữ" if student.gender == "female" else "Nam"
                row["disability"] = "Có" if student.disability else "Không"
                row["class_name"] = classes[enrolment.class_id].name
                row["enrolled_on"] = enrolment.enrolled_on
                out.append(row)
            return sorted(out, key=lambda r: (text_key(r["class_name"]), name_key(r["full_name"])))
        if kind == "parents":
            linked = await session.execute(
                select(Parent, Account, ParentLink, Student)
                .join(Account, Account.id == Parent.id)
                .join(ParentLink, ParentLink.parent_id == Parent.id)
                .join(Student, Student.id == ParentLink.student_id)
                .where(Parent.school_id == unit.school_id)
            )
            parents: dict[uuid.UUID, dict[str, Any]] = {}
            for parent, account, link, student in linked:
                row = parents.setdefault(
                    parent.id,
                    {
                        "full_name": parent.full_name,
                        "phone": parent.phone,
                        "username": account.username,
                        "children": [],
                        "relationship": RELATIONSHIP_LABELS.get(link.relationship, link.relationship),
                    },
                )
                row["children"] = sorted([*row["children"], student.national_id])
            return sorted_by_name(parents.values(), lambda r: r["full_name"])
        if kind == "staff":
            departments = {d.id: d.name for d in await self.schools.departments(session, unit.school_id)}
            members = await session.execute(
                select(Staff, Account)
                .join(Account, Account.id == Staff.id)
                .where(Staff.school_id == unit.school_id)
            )
            return [
                {
                    "username": account.username,
                    "full_name": staff.full_name,
                    "roles": [ROLE_LABELS[r] for r in sorted(account.roles) if r in ROLE_LABELS],
                    "department": departments.get(staff.department_id) if staff.department_id else None,
                    "email": staff.email,
                    "phone": staff.phone,
                }
                for staff, account in sorted_by_name(members, lambda t: t[0].full_name)
            ]
        assignments = await self.assignment_repo.list(session, unit.school_id, year_id=year.id)
        described = await self.assignments.describe(unit, assignments)
        usernames = {
            a.id: a.username
            for a in (
                await session.execute(select(Account).where(Account.school_id == unit.school_id))
            ).scalars()
        }
        return [
            {
                "teacher": usernames.get(a.teacher_id),
                "class_name": a.class_name,
                "kind": "Chủ nhiệm" if a.kind == "homeroom_teacher" else "Giảng dạy",
                "subject": a.subject_name,
            }
            for a in sorted(described, key=lambda a: (a.class_name, a.kind, a.subject_code or ""))
        ]


def template_notes(kind: str) -> list[tuple[str, str]]:
    notes = [(c.header + (" *" if c.required else ""), c.note or "") for c in COLUMNS[kind]]
    notes.append(("", "Cột có dấu * là bắt buộc. Kiểm tra thử (không ghi) trước khi nhập thật; "
                      "nếu còn dòng lỗi thì không dòng nào được nhập."))  # fmt: skip
    return notes


def template_example(kind: str) -> list[dict[str, Any]]:
    return {
        "students": [
            {
                "national_id": "0340000001",
                "full_name": "Nguyễn Văn An",
                "date_of_birth": "14/03/2011",
                "gender": "Nam",
                "birthplace": "Thái Bình",
                "ethnicity": "Kinh",
                "nationality": "Việt Nam",
                "address": "Số 5 đường Lê Lợi, TP. Thái Bình",
                "father_name": "Nguyễn Văn Bình",
                "mother_name": "Trần Thị Cúc",
                "disability": "Không",
                "class_name": "10A1",
            }
        ],
        "parents": [
            {
                "full_name": "Trần Thị Cúc",
                "phone": "0912345678",
                "children": "0340000001",
                "relationship": "Mẹ",
            }
        ],
        "staff": [
            {
                "username": "gv.nguyenvana",
                "full_name": "Nguyễn Văn A",
                "roles": "Giáo viên bộ môn",
                "department": "Tổ Toán",
                "email": "a@example.edu.vn",
            }
        ],
        "assignments": [
            {"teacher": "gv.nguyenvana", "class_name": "10A1", "kind": "Giảng dạy", "subject": "Toán"}
        ],
    }[kind]
