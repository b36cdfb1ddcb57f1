"""A service's copy of the school's facts, learnt from identity's `identity.school.changed`.

Identity owns the school's name, province, principal and current year. Grades prints them on
the sheets and year records it sends for signing; signing names the school on certificates,
the seal and the signature's location. Each keeps this table (its own migration), keyed by
school, so one deployment can serve several schools. A service that has not heard of a school
answers 503 naming it rather than guess.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Column, Date, MetaData, String, Table, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from hbs_shared.db import UtcDateTime
from hbs_shared.events.identity import SchoolChanged
from hbs_shared.problems import Problem
from hbs_shared.schools import PROVINCE_SCOPE

metadata = MetaData()

school_facts = Table(
    "school_facts",
    metadata,
    Column("school_id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("authority", String(200), nullable=False, server_default=""),
    Column("province", String(100), nullable=False, server_default=""),
    Column("principal_name", String(200), nullable=False, server_default=""),
    Column("school_year", String(9), nullable=True),
    Column("semester1_start", Date, nullable=True),
    Column("semester1_end", Date, nullable=True),
    Column("semester2_start", Date, nullable=True),
    Column("semester2_end", Date, nullable=True),
    Column("as_of", UtcDateTime(), nullable=False),
)


@dataclass(frozen=True)
class SchoolFacts:
    school_id: str
    name: str
    authority: str
    province: str
    principal_name: str
    """Empty while the school has no principal."""
    school_year: str | None
    """The current school year (năm học); None while identity has none current."""
    semester1_start: date | None = None
    semester1_end: date | None = None
    semester2_start: date | None = None
    semester2_end: date | None = None

    def current_year(self) -> str:
        """The current school year, or a 409 saying the school has none yet."""
        if self.school_year is None:
            raise Problem(
                409,
                "Trường chưa có năm học hiện tại",
                f"identity has no current school year for school {self.school_id}",
                field="school_year",
            )
        return self.school_year

    def require_province(self) -> str:
        """The province printed on the year record, or a 409 saying the school has not declared it."""
        if not self.province:
            raise Problem(
                409,
                "Trường chưa khai báo tỉnh, thành phố",
                f"identity has no province for school {self.school_id}",
                field="province",
            )
        return self.province


def school_not_known(school_id: str) -> Problem:
    if school_id == PROVINCE_SCOPE:
        # The province's own people belong to no school: a refusal, not "try again later".
        return Problem(
            403,
            "Tài khoản của Sở GD&ĐT không thuộc trường nào: chức năng này dành cho nhà trường",
            "a province account has no school",
            field="school_id",
        )
    return Problem(
        503,
        "Chưa nhận được thông tin của trường từ hệ thống định danh, xin thử lại sau ít phút",
        f"no identity.school.changed received yet for school {school_id}",
        field="school_id",
    )


class SchoolFactsStore:
    """All SQL on the copy; `apply` is the handler of `identity.school.changed`."""

    async def apply(self, session: AsyncSession, event: SchoolChanged, occurred_at: datetime) -> bool:
        """Replace the copy with the event's facts unless a later event was applied already."""
        year = event.current_year
        values = {
            "name": event.name,
            "authority": event.authority,
            "province": event.province,
            "principal_name": event.principal_name,
            "school_year": year.name if year else None,
            "semester1_start": year.semester1_start if year else None,
            "semester1_end": year.semester1_end if year else None,
            "semester2_start": year.semester2_start if year else None,
            "semester2_end": year.semester2_end if year else None,
            "as_of": occurred_at,
        }
        # Insert-if-absent in one statement: two deliveries of the first announcement (the broker's
        # and a replay) may race, and a check-then-insert failed one of them on the primary key.
        dialect_insert = (
            postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
        )
        created = await session.execute(
            dialect_insert(school_facts)
            .values(school_id=event.school_id, **values)
            .on_conflict_do_nothing(index_elements=["school_id"])
        )
        if created.rowcount == 1:  # type: ignore[attr-defined]
            return True
        held = (
            await session.execute(
                select(school_facts.c.as_of).where(school_facts.c.school_id == event.school_id)
            )
        ).scalar_one()
        if held > occurred_at:
            return False  # an older event delivered late: the copy already holds newer facts
        await session.execute(
            update(school_facts).where(school_facts.c.school_id == event.school_id).values(**values)
        )
        return True

    async def get(self, session: AsyncSession, school_id: str) -> SchoolFacts | None:
        row = (
            await session.execute(select(school_facts).where(school_facts.c.school_id == school_id))
        ).one_or_none()
        if row is None:
            return None
        return SchoolFacts(
            school_id=row.school_id,
            name=row.name,
            authority=row.authority,
            province=row.province,
            principal_name=row.principal_name,
            school_year=row.school_year,
            semester1_start=row.semester1_start,
            semester1_end=row.semester1_end,
            semester2_start=row.semester2_start,
            semester2_end=row.semester2_end,
        )

    async def require(self, session: AsyncSession, school_id: str) -> SchoolFacts:
        """The school's facts, or a 503 naming the school this service has not heard of yet."""
        facts = await self.get(session, school_id)
        if facts is None:
            raise school_not_known(school_id)
        return facts
