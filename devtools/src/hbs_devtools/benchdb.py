"""Databases for the benchmarks: a SQLite file, and a fresh PostgreSQL database when asked."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine


def postgres_wanted() -> bool:
    """HBS_TEST_DATABASE=postgresql measures on PostgreSQL too, as the tests do."""
    return os.environ.get("HBS_TEST_DATABASE") == "postgresql"


@contextlib.asynccontextmanager
async def postgres_database(prefix: str) -> AsyncIterator[str]:
    """A new database on HBS_TEST_POSTGRES_URL's server, dropped afterwards; yields its URL."""
    import asyncpg  # type: ignore[import-untyped]

    base = os.environ.get("HBS_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
    admin = base.replace("postgresql+asyncpg://", "postgresql://")
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    connection = await asyncpg.connect(admin)
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    try:
        yield f"{base.rsplit('/', 1)[0]}/{name}"
    finally:
        connection = await asyncpg.connect(admin)
        try:
            await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await connection.close()


def sqlite_url(folder: Path, name: str) -> str:
    return f"sqlite+aiosqlite:///{folder / name}.sqlite3"


class RoundTrips:
    """Counts the round trips to PostgreSQL per unit of work (a save): every message asyncpg
    sends and then waits on (prepare, bind-execute, simple query, closing a statement), whichever
    statement or type introspection caused it. Unlike a time, the count does not depend on how
    loaded the machine is. Installed on an engine before its first connection; SQLite has no
    round trips (nothing is counted)."""

    _WAITED = frozenset(
        {"prepare", "bind_execute", "bind_execute_many", "query", "close_statement", "bind", "execute"}
    )

    def __init__(self, engine: AsyncEngine) -> None:
        self._current: ContextVar[list[int] | None] = ContextVar("round_trips", default=None)
        self.connections = 0
        if engine.dialect.name == "postgresql":
            event.listen(engine.sync_engine, "connect", self._wrap)

    def _wrap(self, dbapi_connection: Any, _record: Any) -> None:
        self.connections += 1
        driver = dbapi_connection.driver_connection  # asyncpg's Connection
        driver._protocol = _CountingProtocol(driver._protocol, self._current, self._WAITED)

    @contextlib.contextmanager
    def counting(self) -> Iterator[list[int]]:
        """`with trips.counting() as n:` … `n[0]` round trips made by this task meanwhile."""
        count = [0]
        token = self._current.set(count)
        try:
            yield count
        finally:
            self._current.reset(token)


class _CountingProtocol:
    """asyncpg's protocol object, each waited-on call counted against the current unit."""

    def __init__(self, inner: Any, current: ContextVar[list[int] | None], waited: frozenset[str]) -> None:
        self._inner, self._current, self._waited = inner, current, waited

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._inner, name)
        if name not in self._waited:
            return value

        def counted(*args: Any, **kwargs: Any) -> Any:
            count = self._current.get()
            if count is not None:
                count[0] += 1
            return value(*args, **kwargs)

        return counted
