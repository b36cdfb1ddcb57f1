"""Fixtures every test folder shares: the real broker, real databases, the running stack.

`HBS_TEST_DATABASE=postgresql` runs the database-backed tests on PostgreSQL
(`HBS_TEST_POSTGRES_URL`, default postgresql+asyncpg://postgres@127.0.0.1:5432/test).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
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
# (5 s at the default 10 s): 2 s here, as the stack's services have (hbs_devtools.stack), makes
# every in-process app of every test start 4 s sooner (a grades module's set-up: 2.5 s at 4 s,
# 1.5 s at 2 s).
for _service in ("IDENTITY", "GRADES", "SIGNING", "PORTAL"):
    os.environ.setdefault(f"HBS_{_service}_KAFKA_SESSION_TIMEOUT_MS", "2000")

# Argon2id's standard parameters cost about 0.15 s of CPU per sign-in, and the suite signs in
# thousands of times: the tests hash with 1 pass and 8 MiB (production refuses that setting).
os.environ.setdefault("HBS_IDENTITY_PASSWORD_HASH_COST", "test")

TEST_DATABASE = os.environ.get("HBS_TEST_DATABASE", "sqlite")
POSTGRES_URL = os.environ.get("HBS_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
ADMIN_DSN = POSTGRES_URL.replace("postgresql+asyncpg://", "postgresql://")


def pytest_report_header() -> str:
    return f"HBS test database: {TEST_DATABASE}"


MODULE_GROUPS = {
    f"tests/{name}": "sealed"
    for name in ("test_backup.py", "test_exchange.py", "test_revocation.py", "test_yearend.py")
}
"""Modules that `--dist loadfile` sends to one test process together, as one unit of work: the
modules that share the session's `sealed` class (tests/conftest.py), so it is sealed once, not once
in each process that runs one of them."""


LONG_UNITS: dict[str, tuple[int, int]] = {
    "tests/faults/test_year_end_faults.py": (94, 0),
    "sealed": (52, 70),
    "tests/test_oversight.py": (41, 33),
    "services/signing/tests/test_batches.py": (21, 61),
    "tests/test_year_records.py": (21, 43),
    "services/signing/tests/test_verification.py": (13, 35),
    "services/signing/tests/test_status.py": (12, 34),
    "shared/tests/test_broker_restart.py": (28, 33),
    "tests/security/test_matrix.py": (31, 0),
    "tests/test_demo_launcher.py": (29, 0),
    "services/signing/tests/test_two_schools.py": (9, 24),
    "services/signing/tests/test_http.py": (17, 23),
    "services/identity/tests/test_authz.py": (5, 22),
    "services/identity/tests/test_transfer.py": (4, 22),
    "tests/test_portal_grid_browser.py": (21, 0),
    "tests/test_portal_phone_a11y_browser.py": (21, 0),
    "shared/tests/test_messaging.py": (18, 19),
    "tests/test_walking_skeleton.py": (17, 18),
    "services/signing/tests/test_signing_flow.py": (5, 16),
    "tests/security/test_holes.py": (10, 15),
    "tests/test_portal_language.py": (15, 0),
    "tests/test_stack_supervisor.py": (14, 0),
    "tests/test_portal_family.py": (14, 0),
    "services/signing/tests/test_production_pki.py": (8, 14),
    "services/signing/tests/test_no_lock_across_signature.py": (9, 14),
    "tests/test_portal_language_browser.py": (13, 0),
}
"""The units of work that take longest, in seconds (SQLite, PostgreSQL): each one's wall time in a
run of `make test` / `make test-postgres` on 2 mostly idle cores (2026-12). Handed out first,
longest first, then the rest in collection order (testpaths): xdist's own order (most tests
first) left the one-test modules, the fault slice's minute and a half among them, for the end,
where one process ran them while the other had finished. Only the order depends on these."""


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """`--dist loadfile`, with `MODULE_GROUPS` each one unit and `LONG_UNITS` first. (Not xdist's
    `loadgroup`: it marks a group in `item._nodeid`, which pytest 9 no longer reads, and then
    runs every test apart.)"""
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling  # type: ignore[import-untyped]

    column = 1 if TEST_DATABASE == "postgresql" else 0

    class ModuleGroups(LoadFileScheduling):  # type: ignore[misc]  # xdist ships no types
        ordered = False

        def _split_scope(self, nodeid: str) -> str:
            module = str(super()._split_scope(nodeid))
            return MODULE_GROUPS.get(module, module)

        def _assign_work_unit(self, node: Any) -> None:
            if not self.ordered:  # the first assignment: the queue is complete
                self.ordered = True
                collected = {
                    unit: i for i, unit in enumerate(dict.fromkeys(map(self._split_scope, self.collection)))
                }
                units = sorted(
                    self.workqueue.items(),
                    key=lambda unit: (-LONG_UNITS.get(unit[0], (0, 0))[column], collected[unit[0]]),
                )
                self.workqueue.clear()
                self.workqueue.update(units)
            super()._assign_work_unit(node)

    return ModuleGroups(config, log)


class DatabaseFactory:
    """Hands out empty databases: SQLite files, or fresh PostgreSQL databases dropped once the run
    is over."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.created: list[str] = []
        self.templates: dict[Path, str] = {}

    def new(self, service: str) -> str:
        if TEST_DATABASE == "sqlite":
            return f"sqlite+aiosqlite:///{self.tmp / f'{service}-{uuid.uuid4().hex[:8]}.sqlite3'}"
        if TEST_DATABASE != "postgresql":
            raise pytest.UsageError("HBS_TEST_DATABASE must be sqlite or postgresql")
        return self._create(f"hbs_t_{service}_{uuid.uuid4().hex[:10]}")

    def _create(self, name: str, template: str | None = None) -> str:
        """A new PostgreSQL database (a copy of `template` if named), its URL."""

        async def create() -> None:
            connection = await asyncpg.connect(ADMIN_DSN)
            try:
                copy = f' TEMPLATE "{template}"' if template else ""
                await connection.execute(f'CREATE DATABASE "{name}"{copy}')
            finally:
                await connection.close()

        _run_in_thread(create)
        self.created.append(name)
        return f"{POSTGRES_URL.rsplit('/', 1)[0]}/{name}"

    def migrated(self, service: str, migrations: Path) -> str:
        """A new database already at the head of `migrations`, copied from one this test process
        migrated once (SQLite: the backup API; PostgreSQL: CREATE DATABASE … TEMPLATE) instead of
        running every migration again for each test: identity's took ~1 s on SQLite and seconds on
        PostgreSQL, for each of its tests. The migrations themselves are tested on `new()` ones."""
        template = self.templates.get(migrations)
        if template is None:
            template = self.new(f"{service}tpl")

            async def upgrade() -> None:
                from hbs_shared.db import Database
                from hbs_shared.migrations import upgrade_to_head

                db = Database(template)
                try:
                    await upgrade_to_head(db.engine, migrations)
                finally:
                    await db.dispose()

            _run_in_thread(upgrade)
            self.templates[migrations] = template
        if TEST_DATABASE == "sqlite":
            url = self.new(service)
            with (
                contextlib.closing(sqlite3.connect(template.split("///", 1)[1])) as source,
                contextlib.closing(sqlite3.connect(url.split("///", 1)[1])) as copy,
            ):
                source.backup(copy)
            return url
        return self._create(f"hbs_t_{service}_{uuid.uuid4().hex[:10]}", template.rsplit("/", 1)[1])

    def drop_later(self, name: str) -> None:
        """A PostgreSQL database made some other way (a test's own script), dropped with these."""
        self.created.append(name)

    def drop_all(self, config: pytest.Config) -> None:
        """Dropped by a detached process once the whole run is over (`drop_detached`): in a test
        process of several, its names go to the controller (`pytest_testnodedown`)."""
        workeroutput = getattr(config, "workeroutput", None)
        if workeroutput is not None:
            workeroutput["hbs_databases"] = list(self.created)
        else:
            drop_detached(self.created)


def drop_detached(names: list[str]) -> None:
    """DROP DATABASE in a process of its own that outlives pytest: PostgreSQL checkpoints for each
    one (~0.1 s idle, seconds while tests write), and the run waited ~23 s for its ~200 databases
    at the end of each test process. Only after the last test process: a test process that had
    finished dropping its own slowed the others' tests with a checkpoint after each."""
    if not names:
        return
    subprocess.Popen(  # noqa: S603 — our interpreter, our script, names we made
        [sys.executable, "-c", _DROP, ADMIN_DSN, *names],
        start_new_session=True,  # outlives pytest; its output is nobody's
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


_LEFT_BY_WORKERS: list[str] = []
"""The databases of the test processes that ended (the controller's list, dropped at its end)."""


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    _LEFT_BY_WORKERS.extend(getattr(node, "workeroutput", {}).get("hbs_databases", []))


def pytest_sessionfinish(session: pytest.Session) -> None:
    if not hasattr(session.config, "workeroutput"):  # the controller, or a run in one process
        drop_detached(_LEFT_BY_WORKERS)


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
def databases(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DatabaseFactory]:
    factory = DatabaseFactory(tmp_path_factory.mktemp("db"))
    yield factory
    factory.drop_all(request.config)


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
