"""One service's database, copied out while it runs and copied back into an empty one.

SQLite: the online backup API, in one step (one read transaction: a consistent snapshot while the
service keeps writing, WAL lets it). PostgreSQL: `pg_dump --format=custom` inside a snapshot this
module exports (`pg_export_snapshot()`), so the rows it counts are exactly the rows dumped;
`pg_restore --single-transaction` puts it back. Every table's rows are counted on both sides.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import sqlite3
import threading
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy.engine import make_url

from hbs_shared.backup.crypto import BackupError

T = TypeVar("T")

SQLITE, POSTGRESQL = "sqlite", "postgresql"
PG_TIMEOUT_SECONDS = 3600.0


@dataclass(frozen=True)
class Snapshot:
    engine: str
    tables: dict[str, int]
    """Every table → its rows, in the snapshot."""
    revision: str | None
    """The database's Alembic revision (None if it has none)."""
    references: frozenset[str] = frozenset()
    """The values of the column asked for (`refs`: signing's document digests), in the snapshot."""


def engine_of(url: str) -> str:
    if url.startswith("sqlite"):
        return SQLITE
    if url.startswith("postgresql"):
        return POSTGRESQL
    raise BackupError(f"unsupported database URL scheme: {url.split(':', 1)[0]}")


def sqlite_path(url: str) -> Path:
    path = url.split("///", 1)[-1]
    if not path or path == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up")
    return Path(path)


def describe(url: str) -> str:
    """The database's place, for messages: never its password."""
    if engine_of(url) == SQLITE:
        return str(sqlite_path(url))
    parsed = make_url(url)
    return f"postgresql://{parsed.host or 'localhost'}:{parsed.port or 5432}/{parsed.database}"


def run_async(factory: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine to completion from sync code, on a thread of its own: whatever event loop
    the caller has (running or not, a test's) is left alone."""
    result: list[T] = []
    errors: list[BaseException] = []

    def target() -> None:
        try:
            result.append(asyncio.run(factory()))
        except BaseException as error:
            errors.append(error)

    thread = threading.Thread(target=target, name="hbs-backup-db")
    thread.start()
    thread.join()
    if errors:
        raise errors[0]
    return result[0]


# ---------------------------------------------------------------------------------------- SQLite


def _ident(name: str) -> str:
    """A table or column name as a quoted SQL identifier (names come from the database's catalogue)."""
    return '"' + name.replace('"', '""') + '"'


def _sqlite_tables(connection: sqlite3.Connection) -> list[str]:
    rows = connection.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
    ).fetchall()
    return [str(row[0]) for row in rows]


def _sqlite_counts(connection: sqlite3.Connection) -> tuple[dict[str, int], str | None]:
    tables = _sqlite_tables(connection)
    counts = {t: int(connection.execute(f"SELECT count(*) FROM {_ident(t)}").fetchone()[0]) for t in tables}  # noqa: S608
    revision = None
    if "alembic_version" in tables:
        row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
        revision = str(row[0]) if row else None
    return counts, revision


def _open_existing(path: Path) -> sqlite3.Connection:
    # mode=rw: never creates a missing file (the URL names a database that must be there).
    return sqlite3.connect(f"{path.resolve().as_uri()}?mode=rw", uri=True, timeout=30)


Refs = tuple[str, str] | None
"""(table, column) whose values a snapshot also returns: the documents its rows point to."""


def _sqlite_values(connection: sqlite3.Connection, refs: Refs) -> frozenset[str]:
    if refs is None or refs[0] not in _sqlite_tables(connection):
        return frozenset()
    table, column = refs
    query = f"SELECT DISTINCT {_ident(column)} FROM {_ident(table)}"  # noqa: S608
    return frozenset(str(row[0]) for row in connection.execute(query))


def snapshot_sqlite(url: str, dest: Path, refs: Refs = None) -> Snapshot:
    path = sqlite_path(url)
    if not path.exists():
        raise BackupError(f"no database at {path}")
    with (
        contextlib.closing(_open_existing(path)) as source,
        contextlib.closing(sqlite3.connect(dest)) as copy,
    ):
        # pages=-1: the whole file in one step, inside one read transaction: consistent, and WAL
        # lets the service go on writing meanwhile.
        source.backup(copy, pages=-1)
        copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
        counts, revision = _sqlite_counts(copy)
        references = _sqlite_values(copy, refs)
    return Snapshot(SQLITE, counts, revision, references)


def restore_sqlite(source: Path, url: str) -> None:
    path = sqlite_path(url)
    path.parent.mkdir(parents=True, exist_ok=True)
    for stale in (Path(f"{path}-wal"), Path(f"{path}-shm"), Path(f"{path}-journal")):
        stale.unlink(missing_ok=True)
    with (
        contextlib.closing(sqlite3.connect(source)) as staged,
        contextlib.closing(sqlite3.connect(path)) as target,
    ):
        staged.backup(target, pages=-1)


def sqlite_tables_in(url: str) -> int:
    path = sqlite_path(url)
    if not path.exists() or path.stat().st_size == 0:
        return 0
    with contextlib.closing(_open_existing(path)) as connection:
        return len(_sqlite_tables(connection))


# ------------------------------------------------------------------------------------ PostgreSQL


def _pg_dsn(url: str) -> str:
    parsed = make_url(url)
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


def _pg_env(url: str) -> dict[str, str]:
    """libpq's environment for pg_dump / pg_restore: the password never on a command line."""
    parsed = make_url(url)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env["PGHOST"] = parsed.host or "localhost"
    env["PGPORT"] = str(parsed.port or 5432)
    env["PGDATABASE"] = parsed.database or ""
    if parsed.username:
        env["PGUSER"] = parsed.username
    if parsed.password:
        env["PGPASSWORD"] = str(parsed.password)
    ssl = parsed.query.get("ssl") or parsed.query.get("sslmode")
    if isinstance(ssl, str):
        env["PGSSLMODE"] = ssl
    return env


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(
            f"{name} is not installed: PostgreSQL backups need the PostgreSQL client tools "
            "(Debian: postgresql-client; `make bootstrap` installs them)"
        )
    return found


_PG_TABLES = (
    "SELECT table_schema, table_name FROM information_schema.tables "
    "WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema') "
    "ORDER BY table_schema, table_name"
)


async def _pg_counts(connection: Any) -> tuple[dict[str, int], str | None]:
    counts: dict[str, int] = {}
    for row in await connection.fetch(_PG_TABLES):
        schema, table = str(row[0]), str(row[1])
        name = table if schema == "public" else f"{schema}.{table}"
        query = f"SELECT count(*) FROM {_ident(schema)}.{_ident(table)}"  # noqa: S608
        counts[name] = int(await connection.fetchval(query))
    revision = None
    if "alembic_version" in counts:
        revision = await connection.fetchval("SELECT version_num FROM alembic_version")
    return counts, (str(revision) if revision is not None else None)


async def _pg_connect(url: str) -> Any:
    import asyncpg  # type: ignore[import-untyped]

    try:
        return await asyncpg.connect(_pg_dsn(url), timeout=30)
    except asyncpg.InvalidCatalogNameError:
        raise BackupError(f"the database {describe(url)} does not exist (create it first)") from None
    except (OSError, asyncpg.PostgresError) as error:
        raise BackupError(f"cannot reach {describe(url)}: {error}") from None


async def _run_tool(args: list[str], env: dict[str, str], what: str) -> None:
    process = await asyncio.create_subprocess_exec(
        *args, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    try:
        _, err = await asyncio.wait_for(process.communicate(), PG_TIMEOUT_SECONDS)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise BackupError(f"{what}: no answer after {PG_TIMEOUT_SECONDS:.0f} s") from None
    if process.returncode != 0:
        tail = err.decode(errors="replace").strip().splitlines()[-5:]
        raise BackupError(f"{what} failed (exit {process.returncode}): {' / '.join(tail)}")


async def _pg_values(connection: Any, refs: Refs) -> frozenset[str]:
    if refs is None:
        return frozenset()
    table, column = refs
    if not await connection.fetchval("SELECT to_regclass($1)", f"public.{_ident(table)}"):
        return frozenset()
    query = f"SELECT DISTINCT {_ident(column)} FROM {_ident(table)}"  # noqa: S608
    return frozenset(str(row[0]) for row in await connection.fetch(query))


async def _snapshot_postgres(url: str, dest: Path, refs: Refs) -> Snapshot:
    pg_dump = _tool("pg_dump")
    connection = await _pg_connect(url)
    try:
        async with connection.transaction(isolation="repeatable_read", readonly=True):
            exported = await connection.fetchval("SELECT pg_export_snapshot()")
            dump = asyncio.ensure_future(
                _run_tool(
                    [pg_dump, "--format=custom", f"--snapshot={exported}", f"--file={dest}"],
                    _pg_env(url),
                    f"pg_dump of {describe(url)}",
                )
            )
            try:
                counts, revision = await _pg_counts(connection)  # the same snapshot, meanwhile
                references = await _pg_values(connection, refs)
            finally:
                await dump
    finally:
        await connection.close()
    return Snapshot(POSTGRESQL, counts, revision, references)


def snapshot_postgres(url: str, dest: Path, refs: Refs = None) -> Snapshot:
    return run_async(lambda: _snapshot_postgres(url, dest, refs))


def restore_postgres(source: Path, url: str) -> None:
    pg_restore = _tool("pg_restore")
    env = _pg_env(url)
    args = [
        pg_restore,
        "--single-transaction",
        "--exit-on-error",
        "--no-owner",
        "--no-privileges",
        f"--dbname={env['PGDATABASE']}",
        str(source),
    ]
    run_async(lambda: _run_tool(args, env, f"pg_restore into {describe(url)}"))


async def _pg_tables_in(url: str) -> int:
    connection = await _pg_connect(url)
    try:
        return len(await connection.fetch(_PG_TABLES))
    finally:
        await connection.close()


# ------------------------------------------------------------------------------------- either


def snapshot(url: str, dest: Path, refs: Refs = None) -> Snapshot:
    """Copy the database to `dest` as it is at one moment, with its rows counted at that moment."""
    if engine_of(url) == SQLITE:
        return snapshot_sqlite(url, dest, refs)
    return snapshot_postgres(url, dest, refs)


def restore(source: Path, url: str) -> None:
    if engine_of(url) == SQLITE:
        restore_sqlite(source, url)
    else:
        restore_postgres(source, url)


def tables_in(url: str) -> int:
    """How many tables the database holds (0: an empty database, or a SQLite file not made yet)."""
    if engine_of(url) == SQLITE:
        return sqlite_tables_in(url)
    return run_async(lambda: _pg_tables_in(url))


def counts(url: str, refs: Refs = None) -> Snapshot:
    """Every table's rows now (after a restore, to compare with the manifest)."""
    if engine_of(url) == SQLITE:
        with contextlib.closing(_open_existing(sqlite_path(url))) as connection:
            found, revision = _sqlite_counts(connection)
            references = _sqlite_values(connection, refs)
        return Snapshot(SQLITE, found, revision, references)

    async def pg() -> Snapshot:
        connection = await _pg_connect(url)
        try:
            found, revision = await _pg_counts(connection)
            references = await _pg_values(connection, refs)
        finally:
            await connection.close()
        return Snapshot(POSTGRESQL, found, revision, references)

    return run_async(pg)


def execute(url: str, statement: str) -> int:
    """One statement in its own transaction (the restore's outbox requeue); rows it changed."""
    if engine_of(url) == SQLITE:
        with contextlib.closing(_open_existing(sqlite_path(url))) as connection, connection:
            return int(connection.execute(statement).rowcount)

    async def pg() -> int:
        connection = await _pg_connect(url)
        try:
            status = await connection.execute(statement)
        finally:
            await connection.close()
        parts = str(status).split()
        return int(parts[-1]) if parts and parts[-1].isdigit() else 0

    return run_async(pg)
