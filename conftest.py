"""Fixtures every test folder shares: the real broker, real databases, the running stack.

`HBS_TEST_DATABASE=postgresql` runs the database-backed tests on PostgreSQL
(`HBS_TEST_POSTGRES_URL`, default postgresql+asyncpg://postgres@127.0.0.1:5432/test).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from hbs_devtools.broker import LocalBroker
from hbs_devtools.stack import Stack

# A consumer joining its group waits about half the session timeout on the embedded broker
# (5 s at the default 10 s): 4 s here makes every service of every test start 3 s sooner.
for _service in ("IDENTITY", "GRADES", "SIGNING", "PORTAL"):
    os.environ.setdefault(f"HBS_{_service}_KAFKA_SESSION_TIMEOUT_MS", "4000")

# Argon2id's standard parameters cost about 0.15 s of CPU per sign-in, and the suite signs in
# thousands of times: the tests hash with 1 pass and 8 MiB (production refuses that setting).
os.environ.setdefault("HBS_IDENTITY_PASSWORD_HASH_COST", "test")

TEST_DATABASE = os.environ.get("HBS_TEST_DATABASE", "sqlite")
POSTGRES_URL = os.environ.get("HBS_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")


def pytest_report_header() -> str:
    return f"HBS test database: {TEST_DATABASE}"


class DatabaseFactory:
    """Hands out empty databases: SQLite files, or fresh PostgreSQL databases dropped at the end."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.created: list[str] = []

    def _admin_dsn(self) -> str:
        return POSTGRES_URL.replace("postgresql+asyncpg://", "postgresql://")

    def new(self, service: str) -> str:
        if TEST_DATABASE == "sqlite":
            return f"sqlite+aiosqlite:///{self.tmp / f'{service}-{uuid.uuid4().hex[:8]}.sqlite3'}"
        if TEST_DATABASE != "postgresql":
            raise pytest.UsageError("HBS_TEST_DATABASE must be sqlite or postgresql")
        name = f"hbs_t_{service}_{uuid.uuid4().hex[:10]}"

        async def create() -> None:
            connection = await asyncpg.connect(self._admin_dsn())
            try:
                await connection.execute(f'CREATE DATABASE "{name}"')
            finally:
                await connection.close()

        _run_in_thread(create)
        self.created.append(name)
        base = POSTGRES_URL.rsplit("/", 1)[0]
        return f"{base}/{name}"

    def drop_all(self) -> None:
        """Dropped by a detached process: PostgreSQL checkpoints for each DROP DATABASE (~0.1 s),
        and the run waited ~23 s for its ~200 databases at the end of each test process."""
        if not self.created:
            return
        subprocess.Popen(  # noqa: S603 — our interpreter, our script, names we made
            [sys.executable, "-c", _DROP, self._admin_dsn(), *self.created],
            start_new_session=True,  # outlives pytest; its output is nobody's
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )


_DROP = """
import asyncio, sys
import asyncpg

async def drop() -> None:
    connection = await asyncpg.connect(sys.argv[1])
    try:
        for name in sys.argv[2:]:
            await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()

asyncio.run(drop())
"""


def _run_in_thread(factory: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """Run a coroutine to completion from sync code, even when a test's event loop is running."""
    errors: list[BaseException] = []

    def target() -> None:
        try:
            asyncio.run(factory())
        except BaseException as error:
            errors.append(error)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if errors:
        raise errors[0]


@pytest.fixture(scope="session")
def databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DatabaseFactory]:
    factory = DatabaseFactory(tmp_path_factory.mktemp("db"))
    yield factory
    factory.drop_all()


@pytest.fixture(scope="module")
def kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalBroker]:
    """The real Kafka-compatible broker, fresh for each test module: its memory is the only
    state, so one module's events (say identity's demo school) never reach another's consumers."""
    with LocalBroker(log_path=tmp_path_factory.mktemp("broker") / "broker.log") as broker:
        yield broker


class Mailbox:
    """What the session's local SMTP server received (aiosmtpd calls `handle_DATA`)."""

    def __init__(self) -> None:
        self.port = 0
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 — aiosmtpd's name
        self.messages.append(envelope)
        return "250 OK"

    def to(self, address: str) -> list[Any]:
        return [m for m in self.messages if address in m.rcpt_tos]


@pytest.fixture(scope="session")
def mailbox() -> Iterator[Mailbox]:
    """A local SMTP server for the stack's grades (the board's reminders by e-mail): started before
    the stack, whose environment must name its port."""
    from aiosmtpd.controller import Controller

    from hbs_devtools.broker import free_port

    box = Mailbox()
    box.port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=box.port)
    controller.start()
    try:
        yield box
    finally:
        controller.stop()


@pytest.fixture(scope="session")
def stack(
    tmp_path_factory: pytest.TempPathFactory, databases: DatabaseFactory, mailbox: Mailbox
) -> Iterator[Stack]:
    """The whole system as separate processes, as `make demo` runs it."""
    from hbs_devtools.broker import free_port

    names = ("identity", "grades", "signing", "portal")
    running = Stack(
        tmp_path_factory.mktemp("stack"),
        ports={name: free_port() for name in names},
        database_urls={name: databases.new(name) for name in names},
        environment="test",
        # A small demo school: the flows under test, not 1,500 students, at every start.
        extra_env={
            "HBS_IDENTITY_DEMO_SIZE": "small",
            # Every portal request then refreshes its token: the refresh path runs all the time.
            "HBS_PORTAL_TOKEN_REFRESH_MARGIN_SECONDS": "3600",
            # Reminders by e-mail go to the session's local SMTP server (`mailbox`).
            "HBS_GRADES_SMTP_HOST": "127.0.0.1",
            "HBS_GRADES_SMTP_PORT": str(mailbox.port),
            "HBS_GRADES_SMTP_SENDER": "hbs@thpt-chuyen-thai-binh.example",
        },
    )
    # Two test processes start their stacks at once on two cores: give them time (90 s by default).
    try:
        running.start(timeout=180)
        yield running
    finally:
        running.stop()
