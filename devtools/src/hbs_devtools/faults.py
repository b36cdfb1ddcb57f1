"""Faults injected into a year end running on the embedded stack (`make test-faults`).

A `FaultPlan` says which fault hits which step and after how long, drawn from a seed so a failing
run can be repeated exactly. `Injector` does them to a running `Stack`: `kill -9` of signing or
grades (restarted the way a process supervisor would), `kill -9` of one of signing's batch
workers (its spawned children), and a restart of the in-memory broker (it comes back empty: the
services must resend from their outboxes). `run_steps` runs each step of the year end in a thread
and injects that step's faults while it is working. The outcome is judged afterwards, from the
databases and PDFs, by `hbs_devtools.outcome`.
"""

from __future__ import annotations

import os
import random
import signal
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from hbs_devtools.stack import Stack

FaultKind = Literal["kill_signing", "kill_grades", "kill_worker", "restart_broker"]
KINDS: tuple[FaultKind, ...] = ("kill_signing", "kill_grades", "kill_worker", "restart_broker")
BATCH_STEPS = (2, 3, 4)
"""Steps 2–4 sign a class's records in one batch, through signing's worker processes."""
STEP_WEIGHTS = {1: 3, 2: 3, 3: 1, 4: 2}
"""How likely a fault is to fall in each step, after how long each lasts (step 1: a request per
sheet; step 2: a batch per class; step 3: one batch for the school, after the samples; step 4: one
batch of three signatures per record): a fault planned into a step that ended is missed."""


@dataclass(frozen=True)
class Fault:
    number: int
    step: int
    kind: FaultKind
    delay: float
    """Seconds after the step started (the first fault) or after the previous fault recovered."""

    def __str__(self) -> str:
        return f"#{self.number} step {self.step} {self.kind} after {self.delay:.1f} s"


@dataclass(frozen=True)
class FaultPlan:
    seed: int
    faults: tuple[Fault, ...]

    @classmethod
    def make(
        cls,
        seed: int,
        count: int,
        steps: Sequence[int] = (1, 2, 3, 4),
        max_delay: float = 3.0,
        kinds: Sequence[FaultKind] = KINDS,
    ) -> FaultPlan:
        """`count` faults of `kinds` over `steps`, every kind at least once when `count` allows;
        a batch worker is killed only in steps that sign in batches."""
        rng = random.Random(seed)
        batch_steps = [s for s in steps if s in BATCH_STEPS]
        kinds = [k for k in kinds if k != "kill_worker" or batch_steps]
        pool = [kinds[i % len(kinds)] for i in range(count)]
        rng.shuffle(pool)
        if all(k == "kill_worker" for k in kinds):
            steps = batch_steps
        faults: list[tuple[int, FaultKind, float]] = []
        for step in _quotas(steps, count):
            # The first kind in the shuffled pool that this step can have (no batch worker in step 1).
            found = next((k for k in pool if k != "kill_worker" or step in BATCH_STEPS), None)
            if found is None:
                kind: FaultKind = rng.choice([k for k in kinds if k != "kill_worker"])
            else:
                kind = found
                pool.remove(found)
            faults.append((step, kind, round(rng.uniform(0.3, max_delay), 1)))
        return cls(seed, tuple(Fault(n, s, k, d) for n, (s, k, d) in enumerate(faults, 1)))

    def for_step(self, step: int) -> list[Fault]:
        return [f for f in self.faults if f.step == step]


def _quotas(steps: Sequence[int], count: int) -> list[int]:
    """`count` fault slots shared among `steps` by STEP_WEIGHTS (largest remainders), in step order."""
    total = sum(STEP_WEIGHTS.get(s, 1) for s in steps)
    shares = {s: count * STEP_WEIGHTS.get(s, 1) / total for s in steps}
    quotas = {s: int(share) for s, share in shares.items()}
    for s in sorted(steps, key=lambda s: quotas[s] - shares[s])[: count - sum(quotas.values())]:
        quotas[s] += 1
    return [s for s in steps for _ in range(quotas[s])]


@dataclass
class Injected:
    fault: Fault
    done: bool
    note: str
    recovery_s: float = 0.0


@dataclass
class FaultLog:
    entries: list[Injected] = field(default_factory=list)
    orphans: list[int] = field(default_factory=list)
    """Batch workers still alive after their signing process was killed (killed by us then)."""

    @property
    def injected(self) -> list[Injected]:
        return [e for e in self.entries if e.done]

    def summary(self) -> str:
        per_kind = {k: sum(1 for e in self.injected if e.fault.kind == k) for k in KINDS}
        kinds = " ".join(f"{k}={n}" for k, n in per_kind.items())
        return f"faults={len(self.injected)} missed={len(self.entries) - len(self.injected)} {kinds}"


def children_of(pid: int) -> list[int]:
    """Live processes whose parent is `pid` (read from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # Field 4 (ppid) comes after the command name, which is in parentheses and may hold spaces.
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(entry.name))
    return found


def _cmdline(pid: int) -> str:
    try:
        return (Path("/proc") / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def batch_workers(signing_pid: int) -> list[int]:
    """Signing's batch workers: its `spawn`ed children (not multiprocessing's resource tracker, nor
    the fork server of the public verification's examinations, nor the render workers of single
    requests, which name themselves `hbs-render`)."""
    return [
        pid
        for pid in children_of(signing_pid)
        if "multiprocessing" in (line := _cmdline(pid))
        and "resource_tracker" not in line
        and "forkserver" not in line
        and _comm(pid) != "hbs-render"
    ]


def _comm(pid: int) -> str:
    try:
        return (Path("/proc") / str(pid) / "comm").read_text().strip()
    except OSError:
        return ""


def alive(pid: int) -> bool:
    try:
        stat = (Path("/proc") / str(pid) / "stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


class Injector:
    """Does faults to a running stack and brings it back, as a process supervisor would."""

    def __init__(self, stack: Stack, rng: random.Random, ready_timeout: float = 120.0) -> None:
        self.stack = stack
        # Faults come seconds apart by design: the supervisor must not back off as for a crash loop.
        stack.STABLE_AFTER = 1.0
        self.rng = rng
        self.ready_timeout = ready_timeout
        self.log = FaultLog()

    def kill(self, service: str) -> None:
        """`kill -9` the service; the stack's supervisor starts it again (waited for until ready)."""
        workers = batch_workers(self.stack.pid("signing")) if service == "signing" else []
        self.stack.kill(service, signal.SIGKILL, timeout=self.ready_timeout)
        self._reap_orphans(workers)

    def _reap_orphans(self, workers: list[int]) -> None:
        """Workers must die with signing; any still alive after 5 s is counted, then killed."""
        deadline = time.monotonic() + 5
        while (left := [p for p in workers if alive(p)]) and time.monotonic() < deadline:
            time.sleep(0.1)
        for pid in left:
            self.log.orphans.append(pid)
            os.kill(pid, signal.SIGKILL)

    def kill_worker(self, wait: float = 30.0) -> str | None:
        """`kill -9` one batch worker of signing, once one runs; None when none ran within `wait`."""
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            workers = batch_workers(self.stack.pid("signing"))
            if workers:
                victim = self.rng.choice(sorted(workers))
                os.kill(victim, signal.SIGKILL)
                return f"worker {victim} of {len(workers)}"
            time.sleep(0.05)
        return None

    def restart_broker(self) -> None:
        """Stop the in-memory broker and start an empty one on the same port (waits for every
        service's /readyz); what the old one held must come again from the outboxes."""
        self.stack.restart_broker()

    def inject(self, fault: Fault) -> Injected:
        started = time.monotonic()
        note: str = fault.kind
        if fault.kind == "kill_signing":
            self.kill("signing")
        elif fault.kind == "kill_grades":
            self.kill("grades")
        elif fault.kind == "kill_worker":
            found = self.kill_worker()
            if found is None:
                entry = Injected(fault, False, "no batch worker ran")
                self.log.entries.append(entry)
                return entry
            note = found
        else:
            self.restart_broker()
        entry = Injected(fault, True, note, time.monotonic() - started)
        self.log.entries.append(entry)
        return entry


@dataclass
class StepResult:
    step: int
    seconds: float
    error: BaseException | None


def run_steps(
    steps: Sequence[tuple[int, Callable[[], None]]],
    plan: FaultPlan,
    injector: Injector,
    busy: Callable[[], bool],
    report: Callable[[str], None] = print,
) -> list[StepResult]:
    """Each step in a thread; its faults injected while it runs and `busy()` says work is in
    flight (requests or replies on their way). A fault whose step ended first is recorded as
    missed, never injected into an idle system."""
    results: list[StepResult] = []
    for number, work in steps:
        if results and results[-1].error is not None:
            # A step that failed leaves nothing for the next one to sign: judge what is there.
            for fault in plan.for_step(number):
                injector.log.entries.append(Injected(fault, False, f"step {results[-1].step} failed"))
            continue
        failure: list[BaseException] = []

        def target(work: Callable[[], None] = work, failure: list[BaseException] = failure) -> None:
            try:
                work()
            except BaseException as error:
                failure.append(error)

        started = time.monotonic()
        thread = threading.Thread(target=target, name=f"step {number}", daemon=True)
        thread.start()
        for fault in plan.for_step(number):
            thread.join(fault.delay)
            while thread.is_alive() and not busy():
                thread.join(0.1)
            if not thread.is_alive():
                injector.log.entries.append(Injected(fault, False, "the step ended first"))
                report(f"fault {fault}: missed (the step ended first)")
                continue
            entry = injector.inject(fault)
            report(f"fault {fault}: {entry.note}, recovered in {entry.recovery_s:.1f} s")
        thread.join()
        results.append(StepResult(number, time.monotonic() - started, failure[0] if failure else None))
        report(
            f"step {number}: {results[-1].seconds:.1f} s" + (f", failed: {failure[0]!r}" if failure else "")
        )
    return results
