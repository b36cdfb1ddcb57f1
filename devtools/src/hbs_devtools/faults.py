"""Faults injected into a year end running on the embedded stack (`make test-faults`).

A `FaultPlan` says which fault hits which step and after how long, drawn from a seed so a failing
run can be repeated exactly. `Injector` does them to a running `Stack`: `kill -9` of signing or
grades (restarted the way a process supervisor would), `kill -9` of one of signing's batch
workers (its spawned children), and a restart of the in-memory broker (it comes back empty: the
services must resend from their outboxes). `run_steps` runs each step of the year end in a thread
and injects that step's faults while it is working; a fault whose step ended first is carried to
the next step that can take it. The outcome is judged afterwards, from the databases and PDFs, by
`hbs_devtools.outcome`.
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
from typing import Literal, Protocol

from hbs_devtools.stack import Stack

FaultKind = Literal["kill_signing", "kill_grades", "kill_worker", "restart_broker"]
KINDS: tuple[FaultKind, ...] = ("kill_signing", "kill_grades", "kill_worker", "restart_broker")
BATCH_STEPS = (2, 3, 4)
"""Steps 2–4 sign a class's records in one batch, through signing's worker processes."""
STEP_WEIGHTS = {1: 4, 2: 4, 3: 1, 4: 1}
"""How many of the faults fall in each step, after how many each can take: one fault goes in after
the previous one recovered (a killed service is back in 3–4 s), so a short step takes one or two
before it ends. Step 1 (a request per sheet) and step 2 (a batch per class) last 25–35 s under
the full run's faults; step 3 (one batch for the school, after the samples) 6 s and step 4 (one
batch) under 3 s since session 10 made them faster (session 11, idle: with the old weights 3:3:1:2,
7 of 24 faults found their step ended). A fault planned into a step that ended first is carried to
the next step (`run_steps`)."""
STEP_SECONDS = {1: 10.0, 2: 30.0, 3: 10.0, 4: 10.0}
"""About the least each step lasts in the full run (4 classes of 6) without faults (measured 18,
42, 13 and 16 s on a loaded 2-core machine; steps 1 and 4 have taken ~10 s). A step's faults are
planned to fit in it: their delays are drawn up to `STEP_SECONDS / faults in the step` (at most
`max_delay`, at least `MIN_SPREAD`), so about half of the step's time goes into delays and the rest
is left for waiting on work in flight."""
MIN_DELAY = 0.3
MIN_SPREAD = 0.8
"""The shortest upper bound of a step's delays: faults packed closer would mostly hit services still
starting again."""


@dataclass(frozen=True)
class Fault:
    number: int
    step: int
    kind: FaultKind
    delay: float
    """Seconds after the step started (the first fault) or after the previous fault recovered; the
    same in the step a fault is carried to."""

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
        min_delay: float = MIN_DELAY,
    ) -> FaultPlan:
        """`count` faults of `kinds` over `steps`, every kind at least once when `count` allows;
        a batch worker is killed only in steps that sign in batches. Each step's delays are drawn
        between `min_delay` and its bound (`STEP_SECONDS` shared by the step's faults, at most
        `max_delay`, see there), so the short steps get short delays."""
        rng = random.Random(seed)
        batch_steps = [s for s in steps if s in BATCH_STEPS]
        kinds = [k for k in kinds if k != "kill_worker" or batch_steps]
        pool = [kinds[i % len(kinds)] for i in range(count)]
        rng.shuffle(pool)
        if all(k == "kill_worker" for k in kinds):
            steps = batch_steps
        slots = _quotas(steps, count)
        bounds = {s: _delay_bound(s, slots.count(s), max_delay) for s in set(slots)}
        faults: list[tuple[int, FaultKind, float]] = []
        for step in slots:
            # The first kind in the shuffled pool that this step can have (no batch worker in step 1).
            found = next((k for k in pool if k != "kill_worker" or step in BATCH_STEPS), None)
            if found is None:
                kind: FaultKind = rng.choice([k for k in kinds if k != "kill_worker"])
            else:
                kind = found
                pool.remove(found)
            faults.append((step, kind, round(rng.uniform(min_delay, bounds[step]), 1)))
        return cls(seed, tuple(Fault(n, s, k, d) for n, (s, k, d) in enumerate(faults, 1)))

    def for_step(self, step: int) -> list[Fault]:
        return [f for f in self.faults if f.step == step]


def _delay_bound(step: int, faults: int, max_delay: float) -> float:
    """The longest delay of one of a step's `faults`: its STEP_SECONDS shared among them."""
    shared = STEP_SECONDS.get(step, max_delay * faults) / faults
    return min(max_delay, max(MIN_SPREAD, shared))


def takes(step: int, kind: FaultKind) -> bool:
    """Whether `step` can have a fault of `kind`: a batch worker is killed only while batches run."""
    return kind != "kill_worker" or step in BATCH_STEPS


def _quotas(steps: Sequence[int], count: int) -> list[int]:
    """`count` fault slots shared among `steps` by STEP_WEIGHTS (largest remainders), in step order;
    every step has one at least when there are enough (the slice: one fault a step)."""
    total = sum(STEP_WEIGHTS.get(s, 1) for s in steps)
    shares = {s: count * STEP_WEIGHTS.get(s, 1) / total for s in steps}
    quotas = {s: int(share) for s, share in shares.items()}
    for s in sorted(steps, key=lambda s: quotas[s] - shares[s])[: count - sum(quotas.values())]:
        quotas[s] += 1
    if count >= len(steps):
        for s in [s for s in steps if quotas[s] == 0]:
            quotas[max(steps, key=lambda t: quotas[t])] -= 1
            quotas[s] = 1
    return [s for s in steps for _ in range(quotas[s])]


@dataclass
class Injected:
    fault: Fault
    done: bool
    note: str
    recovery_s: float = 0.0
    step: int = 0
    """The step it was injected in (or last waited for); 0: its planned step."""

    def __post_init__(self) -> None:
        if not self.step:
            self.step = self.fault.step

    @property
    def carried(self) -> bool:
        """Its planned step ended first; it went to a later one."""
        return self.step != self.fault.step


@dataclass
class FaultLog:
    entries: list[Injected] = field(default_factory=list)
    orphans: list[int] = field(default_factory=list)
    """Batch workers still alive after their signing process was killed (killed by us then)."""

    @property
    def injected(self) -> list[Injected]:
        return [e for e in self.entries if e.done]

    @property
    def carried(self) -> list[Injected]:
        """Injected faults that landed in a later step than planned (their step ended first)."""
        return [e for e in self.injected if e.carried]

    def summary(self) -> str:
        """`faults` injected (`carried` of them in a later step than planned), `missed`, per kind."""
        per_kind = {k: sum(1 for e in self.injected if e.fault.kind == k) for k in KINDS}
        kinds = " ".join(f"{k}={n}" for k, n in per_kind.items())
        return (
            f"faults={len(self.injected)} missed={len(self.entries) - len(self.injected)} "
            f"carried={len(self.carried)} {kinds}"
        )


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

    def inject(self, fault: Fault, step: int) -> Injected:
        """Does `fault` now, in `step` (its own or the one it was carried to); `run_steps` logs it."""
        started = time.monotonic()
        note: str = fault.kind
        if fault.kind == "kill_signing":
            self.kill("signing")
        elif fault.kind == "kill_grades":
            self.kill("grades")
        elif fault.kind == "kill_worker":
            found = self.kill_worker()
            if found is None:
                return Injected(fault, False, "no batch worker ran", step=step)
            note = found
        else:
            self.restart_broker()
        return Injected(fault, True, note, time.monotonic() - started, step)


class Injects(Protocol):
    """What `run_steps` needs of an `Injector` (the unit tests give it one that does nothing)."""

    log: FaultLog

    def inject(self, fault: Fault, step: int) -> Injected: ...


@dataclass
class StepResult:
    step: int
    seconds: float
    error: BaseException | None


def run_steps(
    steps: Sequence[tuple[int, Callable[[], None]]],
    plan: FaultPlan,
    injector: Injects,
    busy: Callable[[], bool],
    report: Callable[[str], None] = print,
) -> list[StepResult]:
    """Each step in a thread; its faults injected one after another (each after its delay, counted
    from the step's start or the previous fault's recovery) while it runs and `busy()` says work is
    in flight (requests or replies on their way): never into an idle system. A fault whose step
    ended first is carried, with its number and delay, to the next step that can take it (a batch
    worker's kill only to a batch step), before that step's own faults; it is missed only when no
    later step can take it, or when a step failed (the rest of the run is skipped). Every planned
    fault ends as one entry of `injector.log`."""
    log = injector.log.entries
    results: list[StepResult] = []
    carried: list[Fault] = []
    for index, (number, work) in enumerate(steps):
        due = sorted(
            [f for f in carried if takes(number, f.kind)] + plan.for_step(number), key=lambda f: f.number
        )
        carried = [f for f in carried if not takes(number, f.kind)]
        later = [n for n, _ in steps[index + 1 :]]
        if results and results[-1].error is not None:
            # A step that failed leaves nothing for the next one to sign: judge what is there.
            for fault in due:
                log.append(Injected(fault, False, f"step {results[-1].step} failed", step=number))
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
        for fault in due:
            where = f" (carried to step {number})" if fault.step != number else ""
            thread.join(fault.delay)
            while thread.is_alive() and not busy():
                thread.join(0.1)
            if thread.is_alive():
                entry = injector.inject(fault, number)
                # A batch worker looked for in vain while the step ended: carried like the rest.
                if entry.done or thread.is_alive():
                    log.append(entry)
                    recovered = f", recovered in {entry.recovery_s:.1f} s" if entry.done else ""
                    report(f"fault {fault}{where}: {entry.note}{recovered}")
                    continue
            after = next((n for n in later if takes(n, fault.kind)), None)
            if after is None:
                log.append(Injected(fault, False, "the step ended first", step=number))
                report(f"fault {fault}{where}: missed (the step ended first, no later step takes it)")
            else:
                carried.append(fault)
                report(f"fault {fault}{where}: carried to step {after} (the step ended first)")
        thread.join()
        results.append(StepResult(number, time.monotonic() - started, failure[0] if failure else None))
        report(
            f"step {number}: {results[-1].seconds:.1f} s" + (f", failed: {failure[0]!r}" if failure else "")
        )
    return results
