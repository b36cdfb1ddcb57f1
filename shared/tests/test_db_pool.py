"""PostgreSQL's pool without a ping per transaction: a connection the server closed while it sat
idle is replaced before use, not handed to a request (SQLAlchemy's pre-ping did that with three
round trips at every checkout)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import text

from hbs_shared.db import Database, PoolSettings

pytestmark = pytest.mark.db


async def backend_pids(db: Database) -> set[int]:
    async with db.transaction() as session:
        return {int(pid) for pid in (await session.execute(text("SELECT pg_backend_pid()"))).scalars()}


async def test_a_connection_closed_by_the_server_while_idle_is_replaced(databases: Any) -> None:
    url = databases.new("pool")
    if url.startswith("sqlite"):
        pytest.skip("SQLite has no server to close a connection; this is PostgreSQL's pool")
    db = Database(url, pool=PoolSettings(size=2, ping_idle_seconds=1.0))
    admin = Database(url, pool=PoolSettings(size=1))
    dialect = db.engine.sync_engine.dialect
    ping = dialect.do_ping
    pings = 0

    def counted(dbapi_connection: Any) -> bool:
        nonlocal pings
        pings += 1
        return bool(ping(dbapi_connection))

    dialect.do_ping = counted  # type: ignore[method-assign]
    try:
        first = await backend_pids(db)
        for _ in range(5):
            assert await backend_pids(db) == first
        assert pings == 0, "no ping for a connection in use"
        async with admin.transaction() as session:
            # What a server restart or a firewall's idle timeout does to the pooled connection.
            await session.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": next(iter(first))})
        await asyncio.sleep(1.2)
        assert await backend_pids(db) != first, "a new connection, and the transaction succeeded"
        assert pings == 1, "the idle connection was checked once"
    finally:
        await db.dispose()
        await admin.dispose()
