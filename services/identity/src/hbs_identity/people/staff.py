"""Staff: their account and roles, department, contact."""

from __future__ import annotations

import uuid

from hbs_identity.errors import conflict, invalid, not_found
from hbs_identity.models import Account, Department, Staff
from hbs_identity.people.accounts import UNUSABLE_PASSWORD, check_roles, person_account
from hbs_identity.people.repository import PeopleRepository
from hbs_identity.people.schemas import StaffIn, StaffUpdate
from hbs_identity.school.repository import SchoolRepository
from hbs_identity.text import search_key
from hbs_identity.unit import Unit


class StaffService:
    def __init__(self) -> None:
        self.repo = PeopleRepository()
        self.schools = SchoolRepository()

    async def create_staff(
        self,
        unit: Unit,
        data: StaffIn,
        *,
        staff_id: uuid.UUID | None = None,
        password_hash: str = UNUSABLE_PASSWORD,
        must_change_password: bool = True,
    ) -> tuple[Staff, Account]:
        username = data.username.lower()
        if await self.repo.username_taken(unit.session, username):
            raise conflict("username", f"username {username} is taken")
        if data.department_id is not None:
            await self._require_department(unit, data.department_id)
        account = person_account(
            staff_id or uuid.uuid4(),
            unit.school_id,
            username,
            data.full_name,
            "staff",
            sorted(set(data.roles)),
            password_hash=password_hash,
            must_change_password=must_change_password,
        )
        self.repo.add(unit.session, account)
        staff = Staff(
            id=account.id,
            school_id=unit.school_id,
            full_name=data.full_name,
            search_name=search_key(data.full_name),
            department_id=data.department_id,
            email=data.email,
            phone=data.phone,
        )
        self.repo.add(unit.session, staff)
        unit.audit("staff.created", "staff", staff.id, username=username, roles=account.roles)
        return staff, account

    async def staff(self, unit: Unit, staff_id: uuid.UUID) -> tuple[Staff, Account]:
        staff = await self.repo.staff(unit.session, staff_id)
        if staff is None or staff.school_id != unit.school_id:
            raise not_found(f"staff {staff_id}")
        account = await self.repo.account(unit.session, staff_id)
        assert account is not None
        return staff, account

    async def update_staff(self, unit: Unit, staff_id: uuid.UUID, data: StaffUpdate) -> tuple[Staff, Account]:
        staff, account = await self.staff(unit, staff_id)
        sent = data.model_dump(exclude_unset=True)
        if sent.get("department_id") is not None:
            await self._require_department(unit, sent["department_id"])
        if sent.get("full_name"):
            staff.full_name = account.full_name = sent["full_name"]
            staff.search_name = search_key(staff.full_name)
        if sent.get("roles"):
            check_roles(account.school_id, sent["roles"])
            account.roles = sorted(set(sent["roles"]))
        for name in ("department_id", "email", "phone"):
            if name in sent:
                setattr(staff, name, sent[name])
        unit.audit("staff.updated", "staff", staff.id, changed=sorted(sent))
        return staff, account

    async def _require_department(self, unit: Unit, department_id: uuid.UUID) -> None:
        department = await self.schools.department(unit.session, department_id)
        if department is None or department.school_id != unit.school_id:
            raise invalid("department_id", f"unknown department {department_id}")

    # --- reading ------------------------------------------------------------------------------

    async def department(self, unit: Unit, department_id: uuid.UUID | None) -> Department | None:
        return await self.schools.department(unit.session, department_id) if department_id else None

    async def search(self, unit: Unit, query: str | None, role: str | None) -> list[tuple[Staff, Account]]:
        """By name (diacritics and case ignored) and role."""
        return await self.repo.search_staff(
            unit.session, unit.school_id, search_key(query) if query else None, role
        )
