"""The body of every service's Alembic env.py: online migrations on a passed-in connection."""

from __future__ import annotations

import asyncio
import hashlib

from alembic import context
from sqlalchemy import Connection, MetaData, text
from sqlalchemy.ext.asyncio import create_async_engine

MIGRATION_LOCK_KEY = int.from_bytes(hashlib.sha256(b"hbs:migrations").digest()[:8], "big", signed=True)
"""PostgreSQL advisory lock held by whoever migrates a database (per database, every service)."""


def take_migration_lock(connection: Connection) -> None:
    """Serialise migrations on this database until the connection's transaction ends.

    PostgreSQL: two replicas starting on an empty database both created `alembic_version` and one
    failed (UniqueViolation); the second now waits here, then finds the schema at head. SQLite
    needs nothing here: a `Database` engine's BEGIN already took the write lock, which is the
    whole file's (a bare engine's first write takes it too)."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})


def _run(connection: Connection, metadata: list[MetaData]) -> None:
    take_migration_lock(connection)
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_env(metadata: list[MetaData]) -> None:
    """Called from env.py; uses the caller's connection or opens one from sqlalchemy.url."""
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection, metadata)
        return

    async def _standalone() -> None:
        engine = create_async_engine(context.config.get_main_option("sqlalchemy.url") or "")
        async with engine.begin() as conn:
            await conn.run_sync(_run, metadata)
        await engine.dispose()

    asyncio.run(_standalone())
