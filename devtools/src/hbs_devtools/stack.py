"""`make demo`: the broker and the four services as processes, on SQLite files in one folder.

Prints `<service>: <base URL>` once every /readyz answers; Ctrl-C stops everything. A service
(or the broker) that dies is started again by the stack's supervisor, as systemd would.
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

from hbs_devtools.broker import LocalBroker, die_with_parent, free_port
from hbs_devtools.demo import (
    DEMO_CHILDREN,
    DEMO_PARENT,
    DEMO_PARENT_PHONE,
    DEMO_PASSWORD,
    DEMO_PEOPLE,
    DEMO_PROVINCE,
    DEMO_STUDENT_LOGIN,
    SECOND_SCHOOL,
)

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
        self._reaping = threading.Lock()  # the supervisor and kill() both poll

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
        with self._reaping:
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


@dataclass(frozen=True)
class Death:
    """One unexpected exit the supervisor saw (and then restarted)."""

    service: str  # a service's name, or "broker"
    returncode: int | None
    at: float  # time.monotonic()


class Stack:
    """The whole embedded system; used by `make demo` and by the end-to-end tests.

    Once started, a supervisor thread restarts any service process that exits without `stop()`
    or `stop_service()` asking it to (a crash, `kill -9`, an exit on a fatal error), after a
    back-off that doubles from `RESTART_BACKOFF` up to `MAX_RESTART_BACKOFF` seconds while it keeps
    dying within `STABLE_AFTER` seconds; each restart is a line on stderr and in `logs/stack.log`.
    A restarted service runs as `python -m hbs_<name>` (never forked from the supervisor thread).
    The broker is supervised too: if it dies it is started again on the same port (empty).

    The fault tests' API: `kill(service, signal)` returns once the supervisor brought the service
    back and its /readyz answers; `restart_broker()` stops the broker and starts an empty one on
    the same port (`stop_broker()` / `start_broker()` to keep it down for a while);
    `stop_service(name)` / `resume_service(name)` keep a service down and bring it back;
    `pid(name)`, `deaths` and `restarts` tell what happened.
    """

    RESTART_BACKOFF = 0.5
    MAX_RESTART_BACKOFF = 30.0
    STABLE_AFTER = 30.0

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
        supervise: bool = True,
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
        self.supervise = supervise
        self.deaths: list[Death] = []
        """Every unexpected exit the supervisor saw, oldest first."""
        self.restarts: dict[str, int] = {}
        """How many times the supervisor started each service (or "broker") again."""
        self._lock = threading.RLock()
        self._closing = threading.Event()
        self._broker_held = False  # stop_broker() was called: the supervisor leaves it down
        self._started_at: dict[str, float] = {}
        self._backoff: dict[str, float] = {}
        self._due: dict[str, float] = {}  # service → when to start it again
        self._supervisor: threading.Thread | None = None

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

    def start_service(self, spec: ServiceSpec, *, fork: bool | None = None) -> None:
        log_dir = self.data_dir / "logs"
        log_dir.mkdir(parents=True, exist_ok=True)
        log_path = log_dir / f"{spec.name}.log"
        self._started_at[spec.name] = time.monotonic()
        if self.fork if fork is None else fork:
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
        if self.supervise and self._supervisor is None:
            self._closing.clear()
            self._supervisor = threading.Thread(target=self._supervise, name="stack-supervisor", daemon=True)
            self._supervisor.start()

    def note(self, message: str) -> None:
        """A line from the stack itself: on stderr and in logs/stack.log."""
        line = f"{time.strftime('%Y-%m-%dT%H:%M:%S')} stack: {message}"
        print(line, file=sys.stderr, flush=True)
        with contextlib.suppress(OSError), open(self.data_dir / "logs" / "stack.log", "a") as log:
            print(line, file=log)

    def _supervise(self) -> None:
        while not self._closing.wait(0.2):
            try:
                self._supervise_once()
            except Exception as error:  # the supervisor must outlive any one failed restart
                self.note(f"supervisor error: {type(error).__name__}: {error}")

    def _supervise_once(self) -> None:
        now = time.monotonic()
        with self._lock:
            if self._closing.is_set():
                return
            if not self._broker_held and not self.broker.running():
                self.deaths.append(Death("broker", None, now))
                self.note(f"broker died; starting an empty one on port {self.broker.port}")
                self.broker.start()
                self.restarts["broker"] = self.restarts.get("broker", 0) + 1
            for name, process in list(self.processes.items()):
                if name in self._due or process.poll() is None:
                    continue
                lived = now - self._started_at.get(name, now)
                backoff = self._backoff.get(name, self.RESTART_BACKOFF)
                if lived >= self.STABLE_AFTER:
                    backoff = self.RESTART_BACKOFF
                self._backoff[name] = min(backoff * 2, self.MAX_RESTART_BACKOFF)
                self._due[name] = now + backoff
                self.deaths.append(Death(name, process.returncode, now))
                self.note(
                    f"{name} exited with code {process.returncode} after {lived:.1f} s; "
                    f"restarting in {backoff:.1f} s"
                )
            for name, due in list(self._due.items()):
                if due <= now:
                    del self._due[name]
                    # A subprocess, not a fork: forking from this thread could copy a held lock.
                    self.start_service(_spec(name), fork=False)
                    self.restarts[name] = self.restarts.get(name, 0) + 1
                    self.note(f"{name} restarted (pid {self.pid(name)})")

    def pid(self, service: str) -> int:
        """The current process id of a service, or of the broker (`"broker"`)."""
        with self._lock:
            if service == "broker":
                if self.broker.pid is None:
                    raise RuntimeError("the broker is not running")
                return self.broker.pid
            return self.processes[service].pid

    def kill(self, service: str, signum: int = signal.SIGKILL, timeout: float = 120.0) -> int:
        """Send `signum` to a service's process (kill -9 by default), then wait until the
        supervisor has started it again and its /readyz answers 200. Returns the new pid.
        `kill("broker")` kills the broker: the supervisor starts an empty one on the same port,
        and this returns once every running service's /readyz answers again."""
        if not self.supervise:
            raise RuntimeError("kill() needs the supervisor (Stack(supervise=True))")
        if service == "broker":
            return self._kill_broker(signum, timeout)
        with self._lock:
            old = self.processes[service]
            old.send_signal(signum)
        try:
            old.wait(timeout=timeout)
        except subprocess.TimeoutExpired as expired:
            raise TimeoutError(f"{service} (pid {old.pid}) did not exit on signal {signum}") from expired
        self.wait_restarted(service, old.pid, timeout)
        return self.pid(service)

    def _kill_broker(self, signum: int, timeout: float) -> int:
        old_pid = self.pid("broker")
        os.kill(old_pid, signum)
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                back = self.broker.running() and self.broker.pid != old_pid
                running = tuple(self.processes)
            if back:
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"the broker was not started again {timeout} s after signal {signum}")
            time.sleep(0.1)
        self.wait_ready(max(deadline - time.monotonic(), 1.0), running)
        return self.pid("broker")

    def wait_restarted(self, service: str, old_pid: int, timeout: float = 120.0) -> None:
        """Wait until `service` runs in a process other than `old_pid` and its /readyz answers."""
        deadline = time.monotonic() + timeout
        with httpx.Client(timeout=2) as client:
            while time.monotonic() < deadline:
                with self._lock:
                    process = self.processes.get(service)
                    current = process.pid if process is not None and process.poll() is None else None
                if current is not None and current != old_pid:
                    with contextlib.suppress(httpx.HTTPError):
                        if client.get(self.url(service) + "/readyz").status_code == 200:
                            return
                time.sleep(0.2)
        raise TimeoutError(f"{service} not back and ready {timeout} s after it died")

    def stop_broker(self) -> None:
        """Stop the broker and keep it down (the supervisor leaves it) until `start_broker()`."""
        with self._lock:
            self._broker_held = True
            self.broker.stop()
        self.note(f"broker stopped (port {self.broker.port})")

    def start_broker(self, *, wait_ready: bool = True, timeout: float = 60.0) -> None:
        """Start an empty broker (new cluster id) on the same port; with `wait_ready`, return once
        every service's /readyz answers again (each reaches the new broker)."""
        with self._lock:
            if not self.broker.running():
                self.broker.start()
            self._broker_held = False
        self.note(f"broker started (port {self.broker.port}, cluster {self.broker.cluster_id})")
        if wait_ready:
            with self._lock:
                running = tuple(self.processes)
            self.wait_ready(timeout, running)

    def restart_broker(self, *, down_seconds: float = 0.0, wait_ready: bool = True) -> None:
        """Restart the in-memory broker in place: same port, nothing kept (topics, records,
        committed offsets and the cluster id are all new). The services must recover alone:
        their consumers rejoin and their outboxes resend what the old broker had."""
        self.stop_broker()
        if down_seconds > 0:
            time.sleep(down_seconds)
        self.start_broker(wait_ready=wait_ready)

    def wait_ready(self, timeout: float, services: tuple[str, ...] | None = None) -> None:
        deadline = time.monotonic() + timeout
        pending = set(services or self.ports)
        with httpx.Client(timeout=2) as client:
            while pending:
                for name in sorted(pending):
                    with self._lock:
                        process = self.processes.get(name)
                    supervised = self._supervisor is not None and self._supervisor.is_alive()
                    if process is not None and process.poll() is not None and not supervised:
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

    def resume_service(self, name: str, timeout: float = 120.0) -> int:
        """Start again a service stopped with `stop_service()` (supervised again); returns its pid
        once its /readyz answers."""
        with self._lock:
            if name in self.processes:
                raise RuntimeError(f"{name} is running")
            self.start_service(_spec(name), fork=False)
        self.wait_ready(timeout, (name,))
        return self.pid(name)

    def stop_service(self, name: str) -> None:
        """Stop a service (SIGTERM, then SIGKILL after 15 s); the supervisor leaves it stopped
        until `resume_service()`."""
        with self._lock:
            process = self.processes.pop(name, None)
            self._due.pop(name, None)
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def stop(self) -> None:
        self._closing.set()
        if self._supervisor is not None:
            self._supervisor.join(timeout=30)
            self._supervisor = None
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
    print(f"the second school, {SECOND_SCHOOL.name} (same password):")
    for person in SECOND_SCHOOL.people:
        print(f"  {person.username:<15} {person.full_name} ({', '.join(person.roles)})")
    print(f"the province (Sở GD&ĐT): {DEMO_PROVINCE.username} {DEMO_PROVINCE.full_name} (schools, progress)")
    print("Ctrl-C stops everything.", flush=True)
    if not args.exit_when_ready:
        while not stopping.wait(1.0):
            pass  # the stack's supervisor restarts whatever dies meanwhile
    print("stopping…", flush=True)
    stack.stop()
    print("stopped.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
