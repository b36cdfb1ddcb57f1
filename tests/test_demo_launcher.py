"""`make demo`'s launcher: prints one line per service once ready; Ctrl-C leaves no process behind."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from hbs_devtools.broker import free_port
from hbs_devtools.demo import DEMO_PASSWORD
from hbs_devtools.stack import Stack

pytestmark = [pytest.mark.broker, pytest.mark.hsm]


def children_of(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            # The command may contain spaces and parentheses: the ppid follows the last ')'.
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.add(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def four_free_ports() -> int:
    """A port whose next three are free too (the launcher takes base … base+3)."""
    for _ in range(50):
        base = free_port()
        try:
            for offset in range(1, 4):
                with socket.socket() as sock:
                    sock.bind(("127.0.0.1", base + offset))
        except OSError:
            continue
        return base
    raise RuntimeError("no four consecutive free ports")


def test_demo_prints_each_service_and_ctrl_c_stops_everything(tmp_path: Path) -> None:
    base = four_free_ports()
    launcher = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "hbs_devtools.stack",
            "--data-dir",
            str(tmp_path / "demo"),
            "--port-base",
            str(base),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert launcher.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + 120
    while not lines or "Ctrl-C stops everything." not in lines[-1]:
        line = launcher.stdout.readline()
        assert line, f"launcher ended early: {''.join(lines)}"
        lines.append(line)
        assert time.monotonic() < deadline
    output = "".join(lines)
    urls = dict(re.findall(r"^(identity|grades|signing|portal): (http://\S+)$", output, re.M))
    assert set(urls) == {"identity", "grades", "signing", "portal"}
    assert urls["portal"] == f"http://127.0.0.1:{base}"
    assert "gv.toan" in output
    for url in urls.values():
        assert httpx.get(url + "/readyz").status_code == 200

    processes = children_of(launcher.pid)
    assert len(processes) == 5  # the broker and four services
    launcher.send_signal(signal.SIGINT)
    assert launcher.wait(timeout=60) == 0
    time.sleep(0.5)
    left = [pid for pid in processes if alive(pid)]
    assert not left, f"still running after Ctrl-C: {left}"
    with pytest.raises(httpx.ConnectError):
        httpx.get(urls["portal"] + "/healthz")
    assert os.path.exists(tmp_path / "demo" / "logs" / "signing.log")


def test_a_restarted_demo_sends_its_events_again_to_the_new_in_memory_broker(tmp_path: Path) -> None:
    """The embedded broker forgets everything when the demo stops. Grades' database is lost here
    too (as if it had not caught up): on the next start identity's outbox is sent again and grades
    rebuilds its class lists; nothing is applied twice (the inbox)."""
    data = tmp_path / "demo"
    ports = {name: free_port() for name in ("identity", "grades", "signing", "portal")}
    stack = Stack(data, ports=ports, extra_env={"HBS_IDENTITY_DEMO_SIZE": "small"})
    stack.start(timeout=120)
    stack.stop()
    for leftover in data.glob("grades.sqlite3*"):
        leftover.unlink()

    stack = Stack(data, ports=ports, extra_env={"HBS_IDENTITY_DEMO_SIZE": "small"})
    stack.start(timeout=120)
    try:
        token = httpx.post(
            stack.url("identity") + "/auth/token", json={"username": "gv.van", "password": DEMO_PASSWORD}
        ).json()["access_token"]
        deadline = time.monotonic() + 90
        students: list[object] = []
        while time.monotonic() < deadline and len(students) < 10:
            answer = httpx.get(
                stack.url("grades") + "/classes/10A1/conduct", headers={"authorization": f"Bearer {token}"}
            )
            students = answer.json() if answer.status_code == 200 else []
            time.sleep(0.5)
        assert len(students) == 10  # the small demo's 10A1, rebuilt from the replayed events
    finally:
        stack.stop()
