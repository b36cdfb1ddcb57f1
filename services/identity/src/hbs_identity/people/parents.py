"""Parents: their account, their children (linked, unlinked), a parent gaining a second child."""

from __future__ import annotations

import uuid

from hbs_identity.errors import conflict, invalid, not_found
from hbs_identity.models import Account, Parent, ParentLink
from hbs_identity.people.accounts import UNUSABLE_PASSWORD, person_account
from hbs_identity.people.repository import PeopleRepository
from hbs_identity.people.schemas import ChildLink, ParentIn
from hbs_identity.text import search_key
from hbs_identity.unit import Unit


class ParentService:
    def __init__(self) -> None:
        self.repo = PeopleRepository()

    async def create_parent(
        self,
        unit: Unit,
        data: ParentIn,
        *,
        parent_id: uuid.UUID | None = None,
        checked: bool = False,
        password_hash: str = UNUSABLE_PASSWORD,
        must_change_password: bool = True,
    ) -> Parent:
        username = (data.username or "").lower() or (
            f"ph{data.phone}" if data.phone else f"ph-{uuid.uuid4().hex[:8]}"
        )
        if not checked:
            if data.phone and await self.repo.phone_taken(unit.session, data.phone):
                raise conflict("phone", f"phone {data.phone} already belongs to an account")
            if await self.repo.username_taken(unit.session, username):
                raise conflict("username", f"username {username} is taken")
        parent = Parent(
            id=parent_id or uuid.uuid4(),
            school_id=unit.school_id,
            full_name=data.full_name,
            search_name=search_key(data.full_name),
            phone=data.phone,
        )
        self.repo.add(
            unit.session,
            person_account(
                parent.id,
                unit.school_id,
                username,
                data.full_name,
                "parent",
                ["parent"],
                password_hash=password_hash,
                must_change_password=must_change_password,
                phone=data.phone,
            ),
        )
        self.repo.add(unit.session, parent)
        unit.audit("parent.created", "parent", parent.id, username=username)
        for index, child in enumerate(data.children):
            await self.link_child(unit, parent, child, field=f"children.{index}.student_id", checked=checked)
        return parent

    async def parent_to_extend(self, unit: Unit, data: ParentIn) -> Parent | None:
        """The parent who already has this phone (or username): creating them again links them
        to more children instead. A staff or student account with it is a conflict."""
        username = (data.username or "").lower() or (f"ph{data.phone}" if data.phone else "")
        by_phone = await self.repo.phone_owner(unit.session, data.phone) if data.phone else None
        by_name = await self.repo.account_named(unit.session, username) if username else None
        if by_phone is not None and by_name is not None and by_phone.id != by_name.id:
            raise conflict(
                "username", f"username {username} belongs to another account than phone {data.phone}"
            )
        found, field = (by_phone, "phone") if by_phone is not None else (by_name, "username")
        if found is None:
            return None
        if found.kind != "parent" or found.school_id != unit.school_id:
            what = f"phone {data.phone}" if field == "phone" else f"username {username}"
            raise conflict(field, f"{what} already belongs to a staff or student account")
        return await self.parent(unit, found.id)

    async def link_children(self, unit: Unit, parent: Parent, children: list[ChildLink]) -> list[ChildLink]:
        """Links the children not yet linked to this parent; returns those it linked."""
        added: list[ChildLink] = []
        for index, child in enumerate(children):
            if child.student_id in {a.student_id for a in added}:
                continue
            if await self.repo.link(unit.session, parent.id, child.student_id) is not None:
                continue
            await self.link_child(unit, parent, child, field=f"children.{index}.student_id")
            added.append(child)
        return added

    async def create_or_extend_parent(self, unit: Unit, data: ParentIn) -> tuple[Parent, bool]:
        """A new parent, or the existing one with this phone/username linked to these children
        (a parent gains a second child); the flag says whether the parent is new."""
        existing = await self.parent_to_extend(unit, data)
        if existing is None:
            return await self.create_parent(unit, data), True
        await self.link_children(unit, existing, data.children)
        return existing, False

    async def link_child(
        self,
        unit: Unit,
        parent: Parent,
        child: ChildLink,
        *,
        field: str = "student_id",
        checked: bool = False,
    ) -> None:
        if not checked:
            student = await self.repo.student(unit.session, child.student_id)
            if student is None or student.school_id != unit.school_id:
                raise invalid(field, f"unknown student {child.student_id}")
            if await self.repo.link(unit.session, parent.id, child.student_id) is not None:
                raise conflict(field, "this child is already linked to this parent")
        self.repo.add(
            unit.session,
            ParentLink(parent_id=parent.id, student_id=child.student_id, relationship=child.relationship),
        )
        unit.audit("parent.child_linked", "parent", parent.id, student_id=str(child.student_id))

    async def unlink_child(self, unit: Unit, parent: Parent, student_id: uuid.UUID) -> None:
        link = await self.repo.link(unit.session, parent.id, student_id)
        if link is None:
            raise not_found(f"student {student_id} is not linked to this parent")
        await unit.session.delete(link)
        unit.audit("parent.child_unlinked", "parent", parent.id, student_id=str(student_id))

    async def update_parent(
        self, unit: Unit, parent: Parent, full_name: str | None, phone: str | None
    ) -> None:
        account = await self.repo.account(unit.session, parent.id)
        assert account is not None
        if phone is not None and phone != parent.phone:
            if await self.repo.phone_taken(unit.session, phone):
                raise conflict("phone", f"phone {phone} already belongs to an account")
            parent.phone = account.phone = phone
        if full_name is not None:
            parent.full_name = account.full_name = full_name
            parent.search_name = search_key(full_name)
        unit.audit("parent.updated", "parent", parent.id)

    async def parent(self, unit: Unit, parent_id: uuid.UUID) -> Parent:
        parent = await self.repo.parent(unit.session, parent_id)
        if parent is None or parent.school_id != unit.school_id:
            raise not_found(f"parent {parent_id}")
        return parent

    # --- reading ------------------------------------------------------------------------------

    async def account_and_links(self, unit: Unit, parent: Parent) -> tuple[Account | None, list[ParentLink]]:
        account = await self.repo.account(unit.session, parent.id)
        return account, await self.repo.links_of_parent(unit.session, parent.id)

    async def search(self, unit: Unit, query: str | None, limit: int, offset: int) -> list[Parent]:
        """By name (diacritics and case ignored), page by page."""
        return await self.repo.search_parents(
            unit.session, unit.school_id, search_key(query) if query else None, limit, offset
        )

    async def of_student(self, unit: Unit, student_id: uuid.UUID) -> list[Parent]:
        return await self.repo.parents_of(unit.session, student_id)
