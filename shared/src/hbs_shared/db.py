"""SQLAlchemy 2 async engine and sessions, the same code on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, event, text
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.exc import DisconnectionError, OperationalError
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
    if mode != "NONE":
        connection.exec_driver_sql(f"BEGIN {mode}")


@dataclass(frozen=True)
class PoolSettings:
    """PostgreSQL's connection pool (HBS_<SERVICE>_DATABASE_POOL_*; SQLite has no server).

    No ping at every checkout: SQLAlchemy's pre-ping cost three round trips per transaction
    (BEGIN, ";", ROLLBACK on asyncpg) and took sheet saves over their p99 target. A connection is
    pinged only when it sat unused longer than `ping_idle_seconds` (a server or network may have
    closed it meanwhile), and replaced after `recycle_seconds` whatever happens."""

    size: int = 20
    max_overflow: int = 0
    """Connections opened beyond `size` in a burst are closed when returned: under load that was
    a new connection every few saves. 20 kept open is what 10 + 10 allowed at most before."""
    timeout_seconds: float = 30.0
    recycle_seconds: int = 1800
    ping_idle_seconds: float = 30.0
    pre_ping: bool = False
    """SQLAlchemy's ping at every checkout, for a network that drops connections at any moment."""


def _ping_when_idle(engine: AsyncEngine, idle_seconds: float) -> None:
    """Check a connection before use only when it sat idle a while; a dead one is replaced."""
    pool = engine.sync_engine.pool
    dialect = engine.sync_engine.dialect

    def fresh(_dbapi_connection: Any, record: Any) -> None:
        record.info["hbs_idle_since"] = time.monotonic()

    def checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get("hbs_idle_since")
        if idle_since is not None and time.monotonic() - idle_since > idle_seconds:
            try:
                dialect.do_ping(dbapi_connection)
            except Exception as error:
                # The pool discards this connection and checks out (or opens) another one.
                raise DisconnectionError("connection lost while idle") from error

    event.listen(pool, "connect", fresh)
    event.listen(pool, "checkin", fresh)
    event.listen(pool, "checkout", checkout)


async def serialise(session: AsyncSession, key: str) -> None:
    """Wait for, then hold until this transaction ends, the lock named `key`: whatever the
    transaction reads next sees what the lock's previous holder committed. PostgreSQL: an advisory
    transaction lock; SQLite needs none (its write lock is taken at BEGIN, so writers never overlap)."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"), {"key": key})


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
        pool: PoolSettings | None = None,
    ) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        self.lock_attempts = lock_attempts
        # SQLite: this process's transactions queue here in arrival order, rather than polling the
        # file lock (its busy handler sleeps in steps of up to 100 ms); other processes still poll.
        self._gate = asyncio.Lock()
        self._gate_seconds = busy_timeout_ms * lock_attempts / 1000
        kwargs: dict[str, Any] = {"echo": echo}
        if self.is_sqlite:
            path = url.split("///", 1)[-1]
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
        else:
            pool = pool or PoolSettings()
            kwargs.update(
                pool_size=pool.size,
                max_overflow=pool.max_overflow,
                pool_timeout=pool.timeout_seconds,
                pool_recycle=pool.recycle_seconds,
                pool_pre_ping=pool.pre_ping,
            )
        self.engine: AsyncEngine = create_async_engine(url, **kwargs)
        if pool is not None and not pool.pre_ping:
            _ping_when_idle(self.engine, pool.ping_idle_seconds)
        if self.is_sqlite:
            event.listen(self.engine.sync_engine, "connect", _sqlite_connected(busy_timeout_ms))
            event.listen(self.engine.sync_engine, "begin", _sqlite_begin)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    @asynccontextmanager
    async def transaction(self, *, sqlite_lock: bool = True) -> AsyncIterator[AsyncSession]:
        """A session whose work commits once at the end, or rolls back on any error.

        On SQLite the write lock is taken at BEGIN, so a busy database makes the transaction wait
        there (busy_timeout), and is retried whole a few times: nothing of it has run yet. Only
        then does it fail, with DatabaseBusy (503). PostgreSQL starts the same way, lazily.

        `sqlite_lock=False` is for work that awaits something else (the outbox relay's broker
        round trips) between its statements: on SQLite each statement then commits by itself and
        nothing waits for it meanwhile; PostgreSQL is unchanged (one transaction, row locks)."""
        if not self.is_sqlite:
            async with self._transaction() as session:
                yield session
            return
        if not sqlite_lock:
            async with self.sessions() as session, session.begin():
                await session.connection(execution_options={"sqlite_begin": "NONE"})
                yield session
            return
        try:
            async with asyncio.timeout(self._gate_seconds):
                await self._gate.acquire()
        except TimeoutError:
            raise DatabaseBusy from None
        try:
            async with self._transaction() as session:
                yield session
        finally:
            self._gate.release()

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[AsyncSession]:
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
