"""A busy SQLite database makes a request wait, never answer 500.

`POST /activations` answered 500 under load ("database is locked"): signing's consumer held the
write lock longer than the 5 s busy timeout. And a transaction's reads ran outside it (the
driver began a transaction only at the first write), so what it read could change before it
wrote. Transactions now take the write lock at BEGIN, wait up to 10 s for it, and retry the
BEGIN a few times; only then answer 503. SQLite only: the services' embedded database."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI, Request
from sqlalchemy import Column, Integer, MetaData, String, Table, func, insert, select

from hbs_shared.db import Database
from hbs_shared.problems import install_problem_handlers

metadata = MetaData()
pins = Table(
    "pins", metadata, Column("id", Integer, primary_key=True), Column("owner", String(40), nullable=False)
)


def app_on(db: Database) -> FastAPI:
    """A write endpoint shaped like POST /activations: read first, then write, one transaction."""
    app = FastAPI()
    install_problem_handlers(app)

    @app.post("/activations", status_code=201)
    async def activate(request: Request) -> dict[str, int]:
        async with db.transaction() as session:
            tries = (await session.execute(select(func.count()).select_from(pins))).scalar_one()
            await asyncio.sleep(0.05)  # checking the PIN
            await session.execute(insert(pins).values(owner="teacher"))
        return {"before": int(tries)}

    return app


@contextmanager
def write_lock_held(path: Path, seconds: float) -> Iterator[threading.Event]:
    """Another connection (the consumer's long transaction) writes and holds the lock a while."""
    taken = threading.Event()

    def hold() -> None:
        connection = sqlite3.connect(path, isolation_level=None)
        connection.execute("BEGIN IMMEDIATE")
        connection.execute("INSERT INTO pins (owner) VALUES ('consumer')")
        taken.set()
        time.sleep(seconds)
        connection.execute("COMMIT")
        connection.close()

    thread = threading.Thread(target=hold)
    thread.start()
    try:
        yield taken
    finally:
        thread.join()


@pytest.fixture
async def sqlite_path(tmp_path: Path) -> Path:
    path = tmp_path / "busy.sqlite3"
    db = Database(f"sqlite+aiosqlite:///{path}")
    async with db.engine.begin() as connection:
        await connection.run_sync(metadata.create_all)
    await db.dispose()
    return path


async def post(db: Database) -> httpx.Response:
    transport = httpx.ASGITransport(app=app_on(db), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://signing") as client:
        return await client.post("/activations")


async def test_a_request_waits_for_a_write_lock_held_elsewhere_and_succeeds(sqlite_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{sqlite_path}")
    # Held longer than the former busy timeout (5 s, then a 500); the other connection commits
    # while the request waits.
    with write_lock_held(sqlite_path, 5.5) as taken:
        assert await asyncio.to_thread(taken.wait, 5)
        started = time.monotonic()
        response = await post(db)
        waited = time.monotonic() - started
    await db.dispose()
    assert response.status_code == 201, response.text
    assert response.json() == {"before": 1}, "it ran after the other transaction, and saw its row"
    assert waited > 5, "it waited for the lock"


async def test_a_lock_held_longer_than_the_busy_timeout_is_retried(sqlite_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{sqlite_path}", busy_timeout_ms=200, lock_attempts=10)
    with write_lock_held(sqlite_path, 1.0) as taken:
        assert await asyncio.to_thread(taken.wait, 5)
        response = await post(db)
    await db.dispose()
    assert response.status_code == 201, response.text


async def test_a_lock_never_released_in_time_answers_503_not_500(sqlite_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{sqlite_path}", busy_timeout_ms=100, lock_attempts=3)
    with write_lock_held(sqlite_path, 1.5) as taken:
        assert await asyncio.to_thread(taken.wait, 5)
        response = await post(db)
    await db.dispose()
    assert response.status_code == 503, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["title"] == "Hệ thống đang bận, vui lòng thử lại sau giây lát"


async def test_a_transaction_without_the_sqlite_lock_lets_others_write_while_it_awaits(
    sqlite_path: Path,
) -> None:
    """The outbox relay reads, awaits the broker, then marks what was sent: nobody waits for it."""
    db = Database(f"sqlite+aiosqlite:///{sqlite_path}", busy_timeout_ms=200, lock_attempts=1)
    try:
        async with db.transaction(sqlite_lock=False) as relay:
            assert (await relay.execute(select(func.count()).select_from(pins))).scalar_one() == 0
            async with asyncio.timeout(5):
                response = await post(db)  # while the relay awaits its broker
            assert response.status_code == 201, response.text
            await relay.execute(insert(pins).values(owner="relay"))
        async with db.transaction() as session:
            owners = sorted((await session.execute(select(pins.c.owner))).scalars())
    finally:
        await db.dispose()
    assert owners == ["relay", "teacher"]
