"""`make demo`: the broker and the four services as processes, on SQLite files in one folder.

Prints `<service>: <base URL>` once every /readyz answers; Ctrl-C stops everything.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import runpy
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from types import FrameType, TracebackType

import httpx

from hbs_shared.demo import (
    DEMO_CHILDREN,
    DEMO_PARENT,
    DEMO_PARENT_PHONE,
    DEMO_PASSWORD,
    DEMO_PEOPLE,
    DEMO_STUDENT_LOGIN,
)
from hbs_shared.devstack.broker import LocalBroker, die_with_parent, free_port

PORTAL_SOURCE_ADDRESS = "127.0.0.2"
"""The local address the embedded portal calls the services from (loopback, but not 127.0.0.1)."""


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    module: str
    default_port: int


SERVICES: tuple[ServiceSpec, ...] = (
    ServiceSpec("identity", "hbs_identity", 8001),
    ServiceSpec("grades", "hbs_grades", 8002),
    ServiceSpec("signing", "hbs_signing", 8003),
    ServiceSpec("portal", "hbs_portal", 8000),
)


def _spec(name: str) -> ServiceSpec:
    return next(spec for spec in SERVICES if spec.name == name)


# What every service imports; loaded once in the launcher and shared by the forked children,
# so four processes on two cores do not each spend seconds importing the same libraries.
PRELOAD = (
    "fastapi",
    "faststream.kafka",
    "faststream.kafka.prometheus",
    "aiokafka",
    "sqlalchemy.ext.asyncio",
    "aiosqlite",
    "asyncpg",
    "pydantic_settings",
    "uvicorn",
    "structlog",
    "jwt",
    "prometheus_client",
    "alembic.command",
    "alembic.config",
    "alembic.runtime.migration",
    "hbs_shared.service",
)


class ForkedService:
    """A service forked from the launcher: `python -m <module>` without re-importing the world.

    Only for the launcher's main thread before anything else runs (no threads, no event loop).
    """

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None

    @classmethod
    def start(cls, module: str, env: dict[str, str], log_path: Path) -> ForkedService:
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid:
            return cls(pid)
        code = 1
        try:
            os.setsid()
            die_with_parent()
            for signum in (signal.SIGINT, signal.SIGTERM):
                signal.signal(signum, signal.SIG_DFL)
            log = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
            os.dup2(log, 1)
            os.dup2(log, 2)
            os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
            os.environ.clear()
            os.environ.update(env)
            sys.argv = [module]
            runpy.run_module(module, run_name="__main__", alter_sys=True)
            code = 0
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else 1
            if exit_.code is not None and not isinstance(exit_.code, int):
                print(exit_.code, file=sys.stderr)
        except BaseException:
            traceback.print_exc()
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)

    def poll(self) -> int | None:
        if self.returncode is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def send_signal(self, signum: int) -> None:
        if self.poll() is None:
            os.kill(self.pid, signum)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(f"pid {self.pid}", timeout or 0)
            time.sleep(0.05)
        assert self.returncode is not None
        return self.returncode


def preload() -> None:
    for module in PRELOAD:
        importlib.import_module(module)


def replay_outboxes(data_dir: Path, services: list[str]) -> int:
    """The embedded broker keeps nothing across restarts, so every event the services' SQLite
    outboxes sent to the previous one is sent again; each consumer's inbox drops those it already
    applied, and one that had not caught up when the demo stopped still gets the rest."""
    replayed = 0
    for name in services:
        path = data_dir / f"{name}.sqlite3"
        if not path.exists():
            continue
        with contextlib.closing(sqlite3.connect(path)) as connection:
            try:
                with connection:
                    replayed += connection.execute(
                        "UPDATE outbox SET sent_at = NULL, attempts = 0, last_error = NULL "
                        "WHERE sent_at IS NOT NULL"
                    ).rowcount
            except sqlite3.OperationalError:
                pass  # a database from before its migrations ran: nothing was sent
    return replayed


class Stack:
    """The whole embedded system; used by `make demo` and by the end-to-end tests."""

    def __init__(
        self,
        data_dir: Path,
        *,
        ports: dict[str, int] | None = None,
        database_urls: dict[str, str] | None = None,
        broker_port: int | None = None,
        extra_env: dict[str, str] | None = None,
        environment: str = "development",
        fork: bool = False,
    ) -> None:
        self.data_dir = data_dir.resolve()
        self.ports = ports or {s.name: s.default_port for s in SERVICES}
        self.database_urls = database_urls or {}
        self.broker = LocalBroker(broker_port, log_path=self.data_dir / "logs" / "broker.log")
        self.extra_env = extra_env or {}
        self.environment = environment
        self.fork = fork
        """Fork each service from this process after preloading the common libraries (see
        ForkedService); otherwise start `python -m hbs_<name>` for each."""
        self.processes: dict[str, subprocess.Popen[bytes] | ForkedService] = {}

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    def service_env(self, spec: ServiceSpec) -> dict[str, str]:
        prefix = f"HBS_{spec.name.upper()}_"
        env = {
            **os.environ,
            f"{prefix}ENVIRONMENT": self.environment,
            f"{prefix}PORT": str(self.ports[spec.name]),
            f"{prefix}HOST": "127.0.0.1",
            f"{prefix}DATA_DIR": str(self.data_dir),
            f"{prefix}KAFKA_BOOTSTRAP": self.broker.bootstrap,
            # Tansu holds a joining consumer for about half the session timeout: keep it short.
            f"{prefix}KAFKA_SESSION_TIMEOUT_MS": "2000",
            f"{prefix}IDENTITY_URL": self.url("identity"),
            f"{prefix}SEED_DEMO": "true",
        }
        if spec.name in self.database_urls:
            env[f"{prefix}DATABASE_URL"] = self.database_urls[spec.name]
        if spec.name != "portal":
            # The portal calls from 127.0.0.2 with its user's address in X-Forwarded-For.
            env[f"{prefix}TRUSTED_PROXIES"] = f'["{PORTAL_SOURCE_ADDRESS}"]'
        if spec.name == "signing":
            env[f"{prefix}SOFTHSM_DIR"] = str(self.data_dir / "softhsm")
            env[f"{prefix}PUBLIC_PORTAL_URL"] = self.url("portal")
        if spec.name == "portal":
            env[f"{prefix}GRADES_URL"] = self.url("grades")
            env[f"{prefix}SIGNING_URL"] = self.url("signing")
            # The services believe X-Forwarded-For only from this address (their trusted proxies).
            env[f"{prefix}SOURCE_ADDRESS"] = PORTAL_SOURCE_ADDRESS
        env.update(self.extra_env)
        return env

    def start_service(self, spec: ServiceSpec) -> None:
        log_dir = self.data_dir / "logs"
        log_dir.mkdir(parents=True, exist_ok=True)
        log_path = log_dir / f"{spec.name}.log"
        if self.fork:
            self.processes[spec.name] = ForkedService.start(spec.module, self.service_env(spec), log_path)
            return
        with open(log_path, "ab") as log:
            self.processes[spec.name] = subprocess.Popen(  # noqa: S603 — our own interpreter
                [sys.executable, "-m", spec.module],
                env=self.service_env(spec),
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=die_with_parent,
                start_new_session=True,
            )

    def start(self, timeout: float = 90.0) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        (self.data_dir / "logs").mkdir(exist_ok=True)
        replay_outboxes(self.data_dir, [s.name for s in SERVICES if s.name not in self.database_urls])
        self.broker.start()
        if self.fork:
            preload()
            # Signing has the most left to import (pyHanko, PKCS#11): it goes first.
            self.start_service(_spec("signing"))
        for spec in SERVICES:
            if spec.name not in self.processes:
                self.start_service(spec)
        self.wait_ready(timeout)

    def wait_ready(self, timeout: float, services: tuple[str, ...] | None = None) -> None:
        deadline = time.monotonic() + timeout
        pending = set(services or self.ports)
        with httpx.Client(timeout=2) as client:
            while pending:
                for name in sorted(pending):
                    process = self.processes.get(name)
                    if process is not None and process.poll() is not None:
                        raise RuntimeError(
                            f"{name} exited with code {process.returncode}; "
                            f"see {self.data_dir / 'logs' / (name + '.log')}"
                        )
                    try:
                        if client.get(self.url(name) + "/readyz").status_code == 200:
                            pending.discard(name)
                    except httpx.HTTPError:
                        pass
                if pending and time.monotonic() > deadline:
                    raise TimeoutError(f"not ready after {timeout} s: {', '.join(sorted(pending))}")
                if pending:
                    time.sleep(0.2)

    def stop_service(self, name: str) -> None:
        process = self.processes.pop(name, None)
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def stop(self) -> None:
        for spec in reversed(SERVICES):
            self.stop_service(spec.name)
        self.broker.stop()

    def __enter__(self) -> Stack:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self, _t: type[BaseException] | None, _e: BaseException | None, _tb: TracebackType | None
    ) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run the whole HBS system locally (demo).")
    parser.add_argument("--data-dir", type=Path, default=Path("var/demo"))
    parser.add_argument("--broker-port", type=int, default=None)
    parser.add_argument(
        "--port-base",
        type=int,
        default=8000,
        help="portal on this port, identity +1, grades +2, signing +3 (default 8000)",
    )
    parser.add_argument("--exit-when-ready", action="store_true", help="start, print, stop")
    args = parser.parse_args(argv)
    started = time.monotonic()

    ports = {spec.name: spec.default_port - 8000 + args.port_base for spec in SERVICES}
    stack = Stack(args.data_dir, ports=ports, broker_port=args.broker_port or free_port(), fork=True)
    stopping = threading.Event()

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        stack.start()
    except (RuntimeError, TimeoutError) as error:
        print(f"HBS failed to start: {error}", file=sys.stderr)
        stack.stop()
        return 1
    print(f"HBS ready in {time.monotonic() - started:.1f} s (data: {stack.data_dir})")
    for spec in SERVICES:
        print(f"{spec.name}: {stack.url(spec.name)}")
    print(f"broker: {stack.broker.bootstrap}")
    print("demo logins (password for all: " + DEMO_PASSWORD + "):")
    for person in DEMO_PEOPLE:
        print(f"  {person.username:<15} {person.full_name} ({', '.join(person.roles)})")
    children = " and ".join(f"{name} seat {seat}" for name, seat in DEMO_CHILDREN)
    print(
        f"  {DEMO_PARENT.username:<15} {DEMO_PARENT.full_name} (parent of {children}; "
        f"or phone {DEMO_PARENT_PHONE})"
    )
    first_class, first_seat = DEMO_CHILDREN[0]
    print(f"  {DEMO_STUDENT_LOGIN:<15} the student of {first_class} seat {first_seat} (student)")
    print("Ctrl-C stops everything.", flush=True)
    if not args.exit_when_ready:
        while not stopping.is_set():
            for name, process in stack.processes.items():
                if process.poll() is not None:
                    print(f"{name} exited with code {process.returncode}", file=sys.stderr)
                    stopping.set()
            stopping.wait(1.0)
    print("stopping…", flush=True)
    stack.stop()
    print("stopped.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
