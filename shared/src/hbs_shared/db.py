"""SQLAlchemy 2 async engine and sessions, the same code on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, event, text
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.types import TypeDecorator

from hbs_shared.logging import get_logger
from hbs_shared.problems import Problem

log = get_logger(__name__)

SQLITE_BUSY_TIMEOUT_MS = 10_000
"""How long SQLite waits for the write lock at each BEGIN before it reports "database is locked"."""
SQLITE_LOCK_ATTEMPTS = 3
"""BEGINs tried (each waiting the busy timeout) before a transaction gives up with DatabaseBusy."""


class UtcDateTime(TypeDecorator[datetime]):
    """A moment in time, always read back aware (UTC): SQLite drops the offset of
    `DateTime(timezone=True)`, so without this a service answers naive times on SQLite only."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is not None:
            return value.astimezone(UTC)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class DatabaseBusy(Problem):
    """SQLite's write lock stayed taken through every attempt: answered 503 (try again), not 500."""

    def __init__(self) -> None:
        super().__init__(503, "Hệ thống đang bận, vui lòng thử lại sau giây lát", "the database is busy")


def _sqlite_connected(busy_timeout_ms: int) -> Any:
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # The driver's own implicit BEGIN is deferred; we emit BEGIN IMMEDIATE ourselves (below).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        # busy_timeout waits instead of failing (first: another process may be creating the file);
        # WAL lets readers proceed while the outbox relay writes.
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    return on_connect


def _sqlite_begin(connection: Connection) -> None:
    # A deferred transaction that read and then writes fails at once ("database is locked") when
    # another connection wrote since its read; taking the write lock at BEGIN waits instead.
    mode = connection.get_execution_options().get("sqlite_begin", "IMMEDIATE")
    connection.exec_driver_sql(f"BEGIN {mode}")


def is_locked(error: BaseException) -> bool:
    """SQLite's "database is locked" (SQLITE_BUSY), whichever driver layer raised it."""
    return isinstance(error, OperationalError) and "database is locked" in str(error.orig)


class Database:
    """One service's database: its engine and a session factory."""

    def __init__(
        self,
        url: str,
        *,
        echo: bool = False,
        busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS,
        lock_attempts: int = SQLITE_LOCK_ATTEMPTS,
    ) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        self.lock_attempts = lock_attempts
        kwargs: dict[str, Any] = {"echo": echo}
        if self.is_sqlite:
            path = url.split("///", 1)[-1]
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
        else:
            kwargs.update(pool_size=10, max_overflow=10, pool_pre_ping=True)
        self.engine: AsyncEngine = create_async_engine(url, **kwargs)
        if self.is_sqlite:
            event.listen(self.engine.sync_engine, "connect", _sqlite_connected(busy_timeout_ms))
            event.listen(self.engine.sync_engine, "begin", _sqlite_begin)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session whose work commits once at the end, or rolls back on any error.

        On SQLite the write lock is taken at BEGIN, so a busy database makes the transaction wait
        there (busy_timeout), and is retried whole a few times: nothing of it has run yet. Only
        then does it fail, with DatabaseBusy (503). PostgreSQL starts the same way, lazily."""
        for attempt in range(1, self.lock_attempts + 1):
            began = False
            try:
                async with self.sessions() as session, session.begin():
                    if self.is_sqlite:
                        await session.connection()  # BEGIN IMMEDIATE now, not at the first statement
                    began = True
                    yield session
                return
            except OperationalError as error:
                if began or not is_locked(error):
                    raise
                if attempt == self.lock_attempts:
                    raise DatabaseBusy from error
                log.warning("database busy; transaction retried", attempt=attempt)
            await asyncio.sleep(0.05 * attempt)

    async def ping(self) -> None:
        async with self.engine.connect() as connection:
            # A deferred BEGIN: readiness must not queue for the write lock behind a long writer.
            await connection.execution_options(sqlite_begin="DEFERRED")
            await connection.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()
