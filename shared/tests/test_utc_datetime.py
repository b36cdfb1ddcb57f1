"""Moments read back from the database are aware, on SQLite as on PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, insert, select
from sqlalchemy.ext.asyncio import create_async_engine

from hbs_shared.db import UtcDateTime

pytestmark = [pytest.mark.db]


async def test_a_moment_comes_back_aware_and_in_utc(databases: Any) -> None:
    engine = create_async_engine(databases.new("utc"))
    table = Table("moments", MetaData(), Column("id", Integer, primary_key=True), Column("at", UtcDateTime()))
    hanoi = timezone(timedelta(hours=7))
    try:
        async with engine.begin() as connection:
            await connection.run_sync(table.metadata.create_all)
            morning = datetime(2026, 12, 2, 7, 30, tzinfo=hanoi)
            await connection.execute(insert(table).values(id=1, at=morning))
            at = (await connection.execute(select(table.c.at))).scalar_one()
    finally:
        await engine.dispose()
    assert at.tzinfo is not None
    assert at == datetime(2026, 12, 2, 0, 30, tzinfo=UTC)
