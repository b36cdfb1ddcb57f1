"""The province's use cases (Sở GD&ĐT): its own accounts, a new school with its first
administrator, and every school's counts. Nothing here reads a person's data."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterable

from sqlalchemy.exc import IntegrityError

from hbs_identity.accounts.passwords import hash_password
from hbs_identity.accounts.security import initial_password
from hbs_identity.errors import conflict
from hbs_identity.models import Account, School
from hbs_identity.people.accounts import UNUSABLE_PASSWORD, person_account
from hbs_identity.people.repository import PeopleRepository
from hbs_identity.people.schemas import StaffIn
from hbs_identity.people.staff import StaffService
from hbs_identity.province.repository import ProvinceRepository
from hbs_identity.province.schemas import NewSchoolIn, SchoolCounts
from hbs_identity.school.repository import SchoolRepository
from hbs_identity.school.schemas import SchoolIn
from hbs_identity.school.service import SchoolService
from hbs_identity.unit import Unit
from hbs_shared.roles import Role
from hbs_shared.schools import PROVINCE_SCOPE

FIRST_ADMIN_ROLES: tuple[str, ...] = (Role.office_admin, Role.system_admin)
"""The new school's first administrator sets up its years, classes and people."""


class ProvinceService:
    def __init__(self) -> None:
        self.repo = ProvinceRepository()
        self.schools = SchoolRepository()
        self.people = PeopleRepository()
        self.school = SchoolService()
        self.staff = StaffService()

    async def create_school(self, unit: Unit, data: NewSchoolIn) -> tuple[School, Account, str]:
        """The school, and its first administrator with a one-time password (returned once).

        `unit` is the new school's: its facts are announced and its trail starts here; the
        province's own trail notes it too."""
        assert unit.school_id == data.id
        if await self.schools.school(unit.session, data.id) is not None:
            raise conflict("id", f"trường {data.id} đã có")
        username = data.admin.username.lower()
        if await self.people.username_taken(unit.session, username):
            raise conflict("admin.username", f"tên đăng nhập {username} đã có người dùng")
        password = initial_password()
        password_hash = await asyncio.to_thread(hash_password, password)
        try:
            # The unique keys settle two simultaneous requests for one id or one username.
            async with unit.session.begin_nested():
                school = await self.school.ensure_school(
                    unit, SchoolIn(name=data.name, authority=data.authority, province=data.province)
                )
                await unit.session.flush()
        except IntegrityError:
            raise conflict("id", f"trường {data.id} đã có") from None
        try:
            async with unit.session.begin_nested():
                _, account = await self.staff.create_staff(
                    unit,
                    StaffIn(username=username, full_name=data.admin.full_name, roles=list(FIRST_ADMIN_ROLES)),
                    password_hash=password_hash,
                    must_change_password=True,
                )
                await unit.session.flush()
        except IntegrityError:
            raise conflict("admin.username", f"tên đăng nhập {username} đã có người dùng") from None
        unit.audit("account.password_issued", "account", account.id)
        unit.audit_in(PROVINCE_SCOPE, "school.created", "school", school.id, name=school.name, admin=username)
        return school, account, password

    async def create_account(
        self,
        unit: Unit,
        username: str,
        full_name: str,
        roles: Iterable[str],
        *,
        account_id: uuid.UUID | None = None,
        password_hash: str = UNUSABLE_PASSWORD,
        must_change_password: bool = True,
    ) -> Account:
        """An account of the province's own people (school_id PROVINCE_SCOPE, province roles)."""
        assert unit.school_id == PROVINCE_SCOPE
        username = username.strip().lower()
        if await self.people.username_taken(unit.session, username):
            raise conflict("username", f"tên đăng nhập {username} đã có người dùng")
        account = person_account(
            account_id or uuid.uuid4(),
            PROVINCE_SCOPE,
            username,
            full_name,
            "province",
            sorted(set(roles)),
            password_hash=password_hash,
            must_change_password=must_change_password,
        )
        self.people.add(unit.session, account)
        unit.audit("province_account.created", "account", account.id, username=username, roles=account.roles)
        return account

    async def schools_with_counts(self, unit: Unit) -> list[SchoolCounts]:
        session = unit.session
        classes, students, staff = (
            await self.repo.classes(session),
            await self.repo.students(session),
            await self.repo.staff(session),
        )
        return [
            SchoolCounts(
                id=s.id,
                name=s.name,
                authority=s.authority,
                province=s.province,
                classes=classes.get(s.id, 0),
                students=students.get(s.id, 0),
                staff=staff.get(s.id, 0),
            )
            for s in await self.repo.schools(session)
        ]
