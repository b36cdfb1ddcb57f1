"""All SQL on students (and their versions), parents and staff."""

from __future__ import annotations

import uuid

from sqlalchemy import Select, delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from hbs_identity.models import (
    Account,
    Enrolment,
    Parent,
    ParentLink,
    RefreshToken,
    Staff,
    Student,
    StudentVersion,
)
from hbs_shared.names import name_key


class PeopleRepository:
    async def student(self, session: AsyncSession, student_id: uuid.UUID) -> Student | None:
        return await session.get(Student, student_id)

    async def student_by_national_id(self, session: AsyncSession, national_id: str) -> Student | None:
        result = await session.execute(select(Student).where(Student.national_id == national_id))
        return result.scalar_one_or_none()

    async def existing_national_ids(self, session: AsyncSession, national_ids: set[str]) -> set[str]:
        found: set[str] = set()
        ids = list(national_ids)
        for start in range(0, len(ids), 500):
            result = await session.execute(
                select(Student.national_id).where(Student.national_id.in_(ids[start : start + 500]))
            )
            found.update(result.scalars())
        return found

    def _student_query(
        self,
        school_id: str,
        query: str | None,
        class_ids: set[uuid.UUID] | None,
        student_ids: set[uuid.UUID] | None,
    ) -> Select[Student]:
        statement = select(Student).where(Student.school_id == school_id)
        if query:
            pattern = f"%{query}%"
            statement = statement.where(
                or_(Student.search_name.like(pattern), Student.national_id.like(pattern))
            )
        if class_ids is not None:
            enrolled = select(Enrolment.student_id).where(
                Enrolment.class_id.in_(class_ids), Enrolment.left_on.is_(None)
            )
            statement = statement.where(Student.id.in_(enrolled))
        if student_ids is not None:
            statement = statement.where(Student.id.in_(student_ids))
        return statement

    async def search_students(
        self,
        session: AsyncSession,
        school_id: str,
        *,
        query: str | None,
        class_ids: set[uuid.UUID] | None,
        student_ids: set[uuid.UUID] | None,
        limit: int,
        offset: int,
    ) -> tuple[int, list[Student]]:
        statement = self._student_query(school_id, query, class_ids, student_ids)
        # A class list's order (given name, then family and middle names, in the Vietnamese
        # alphabet) is ICU's, not the database's: a school's few thousand matching names are read
        # and sorted here, then only the page's students are loaded.
        columns = statement.with_only_columns(Student.id, Student.full_name, Student.national_id)
        named = list((await session.execute(columns)).all())
        named.sort(key=lambda row: (name_key(row.full_name), row.national_id))
        page = [row.id for row in named[offset : offset + limit]]
        if not page:
            return len(named), []
        loaded = await session.execute(select(Student).where(Student.id.in_(page)))
        by_id = {student.id: student for student in loaded.scalars()}
        return len(named), [by_id[student_id] for student_id in page]

    async def versions(self, session: AsyncSession, student_id: uuid.UUID) -> list[StudentVersion]:
        result = await session.execute(
            select(StudentVersion)
            .where(StudentVersion.student_id == student_id)
            .order_by(StudentVersion.version)
        )
        return list(result.scalars())

    async def parent(self, session: AsyncSession, parent_id: uuid.UUID) -> Parent | None:
        return await session.get(Parent, parent_id)

    async def links_of_parent(self, session: AsyncSession, parent_id: uuid.UUID) -> list[ParentLink]:
        result = await session.execute(select(ParentLink).where(ParentLink.parent_id == parent_id))
        return list(result.scalars())

    async def link(
        self, session: AsyncSession, parent_id: uuid.UUID, student_id: uuid.UUID
    ) -> ParentLink | None:
        return await session.get(ParentLink, (parent_id, student_id))

    async def parents_of(self, session: AsyncSession, student_id: uuid.UUID) -> list[Parent]:
        result = await session.execute(
            select(Parent)
            .join(ParentLink, ParentLink.parent_id == Parent.id)
            .where(ParentLink.student_id == student_id)
        )
        return list(result.scalars())

    async def search_parents(
        self, session: AsyncSession, school_id: str, query: str | None, limit: int, offset: int
    ) -> list[Parent]:
        statement = select(Parent).where(Parent.school_id == school_id)
        if query:
            pattern = f"%{query}%"
            statement = statement.where(or_(Parent.search_name.like(pattern), Parent.phone.like(pattern)))
        rows = await session.execute(statement.order_by(Parent.search_name).limit(limit).offset(offset))
        return list(rows.scalars())

    async def staff(self, session: AsyncSession, staff_id: uuid.UUID) -> Staff | None:
        return await session.get(Staff, staff_id)

    async def search_staff(
        self, session: AsyncSession, school_id: str, query: str | None, role: str | None
    ) -> list[tuple[Staff, Account]]:
        statement = (
            select(Staff, Account).join(Account, Account.id == Staff.id).where(Staff.school_id == school_id)
        )
        if query:
            pattern = f"%{query}%"
            statement = statement.where(or_(Staff.search_name.like(pattern), Account.username.like(pattern)))
        rows = (await session.execute(statement.order_by(Staff.search_name))).all()
        return [(s, a) for s, a in rows if role is None or role in a.roles]

    async def account(self, session: AsyncSession, account_id: uuid.UUID) -> Account | None:
        return await session.get(Account, account_id)

    async def username_taken(self, session: AsyncSession, username: str) -> bool:
        result = await session.execute(select(Account.id).where(Account.username == username))
        return result.first() is not None

    async def phone_taken(self, session: AsyncSession, phone: str) -> bool:
        result = await session.execute(select(Account.id).where(Account.phone == phone))
        return result.first() is not None

    async def account_named(self, session: AsyncSession, username: str) -> Account | None:
        result = await session.execute(select(Account).where(Account.username == username))
        return result.scalars().first()

    async def phone_owner(self, session: AsyncSession, phone: str) -> Account | None:
        """The account that has this phone: on the account (parents) or on a staff record."""
        result = await session.execute(select(Account).where(Account.phone == phone))
        found = result.scalars().first()
        if found is not None:
            return found
        staff = await session.execute(
            select(Account).join(Staff, Staff.id == Account.id).where(Staff.phone == phone)
        )
        return staff.scalars().first()

    async def ever_signed_in(self, session: AsyncSession, account_id: uuid.UUID) -> bool:
        result = await session.execute(select(RefreshToken.id).where(RefreshToken.account_id == account_id))
        return result.first() is not None

    async def delete_student(self, session: AsyncSession, student_id: uuid.UUID) -> None:
        """The student, their versions, enrolments and account, children before parents."""
        await session.execute(delete(StudentVersion).where(StudentVersion.student_id == student_id))
        await session.execute(delete(Enrolment).where(Enrolment.student_id == student_id))
        await session.execute(delete(Student).where(Student.id == student_id))
        await session.execute(delete(Account).where(Account.id == student_id, Account.kind == "student"))

    def add(self, session: AsyncSession, row: object) -> None:
        session.add(row)
