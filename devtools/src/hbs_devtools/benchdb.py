"""Databases for the benchmarks: a SQLite file, and a fresh PostgreSQL database when asked."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path


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
