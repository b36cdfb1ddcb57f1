"""Two deliveries of a school's first announcement at once (the broker's and a replay) both apply.

The check-then-insert it replaced failed the second with a primary-key violation: the first
transaction's row was not yet visible to the second's check, but blocked its insert."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from hbs_shared.db import Database
from hbs_shared.events.identity import CurrentYear, SchoolChanged
from hbs_shared.school_facts import SchoolFactsStore, metadata

pytestmark = pytest.mark.db

SCHOOL = "thpt-dua-tin"


def announcement(name: str) -> SchoolChanged:
    return SchoolChanged(
        school_id=SCHOOL,
        name=name,
        authority="Sở GD&ĐT Hưng Yên",
        province="Hưng Yên",
        principal_name="Nguyễn Văn Hiệu",
        current_year=CurrentYear(
            name="2026-2027",
            semester1_start=date(2026, 9, 5),
            semester1_end=date(2027, 1, 16),
            semester2_start=date(2027, 1, 18),
            semester2_end=date(2027, 5, 31),
        ),
    )


@pytest.fixture
async def db(databases: Any) -> AsyncIterator[Database]:
    database = Database(databases.new("facts"))
    async with database.engine.begin() as connection:
        await connection.run_sync(metadata.create_all)
    yield database
    await database.dispose()


async def test_a_second_first_announcement_waits_and_applies_instead_of_failing(db: Database) -> None:
    store = SchoolFactsStore()
    earlier = datetime.now(UTC)
    later = earlier + timedelta(seconds=1)
    async with db.transaction() as first:
        assert await store.apply(first, announcement("Trường A"), earlier)

        async def second() -> bool:
            async with db.transaction() as session:
                return await store.apply(session, announcement("Trường B"), later)

        racing = asyncio.create_task(second())
        await asyncio.sleep(0.3)  # the second transaction now waits on the first one's row
    assert await racing  # the newer facts replace the first copy; nothing failed
    async with db.transaction() as session:
        facts = await store.get(session, SCHOOL)
    assert facts is not None
    assert facts.name == "Trường B"
