"""py-spy on running services during one phase of a benchmark, and a plain-text summary of it.

`Spy(folder, {"signing": pid, ...})` records each process (and its subprocesses: signing's batch
workers) while the block runs (`py-spy record --format raw`: collapsed stacks, samples of busy
threads only); `summary()` then lists, per process, the functions with the largest share of its
samples, inclusive (the function or anything it called) and self (the function itself).
"""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

_PROCESS = re.compile(r'^process (\d+):"(.*)"$')


class Spy:
    def __init__(self, folder: Path, pids: Mapping[str, int], *, rate: int = 100) -> None:
        self.folder = folder
        self.pids = dict(pids)
        self.rate = rate
        self._running: dict[str, subprocess.Popen[bytes]] = {}

    def output(self, name: str) -> Path:
        return self.folder / f"{name}.txt"

    def __enter__(self) -> Spy:
        program = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
        self.folder.mkdir(parents=True, exist_ok=True)
        for name, pid in self.pids.items():
            # Non-blocking: the services are not paused for each sample (a benchmark is running).
            self._running[name] = subprocess.Popen(  # noqa: S603 — our own dev dependency
                [program, "record", "--pid", str(pid), "--subprocesses", "--nonblocking", "--function",
                 "--rate", str(self.rate), "--format", "raw", "--output",
                 str(self.output(name))],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )  # fmt: skip
        return self

    def __exit__(
        self, _type: type[BaseException] | None, _error: BaseException | None, _tb: TracebackType | None
    ) -> None:
        for process in self._running.values():
            process.send_signal(signal.SIGINT)  # py-spy writes its file on SIGINT
        for process in self._running.values():
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()

    def summary(self, top: int = 15) -> str:
        lines = []
        for name in self.pids:
            path = self.output(name)
            if path.exists():
                lines.append(summarise(name, path.read_text(), top))
        return "\n".join(lines)


def summarise(name: str, collapsed: str, top: int = 15) -> str:
    """Per process in `collapsed` (py-spy's raw format), its samples and top functions."""
    inclusive: dict[str, Counter[str]] = {}
    own: dict[str, Counter[str]] = {}
    totals: Counter[str] = Counter()
    for line in collapsed.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = stack.split(";")
        process = name
        # With --subprocesses a child's stacks start with its parent's process frame, then its own.
        while frames and (match := _PROCESS.match(frames[0])):
            process = f"{name} pid {match.group(1)} ({_short(match.group(2))})"
            frames = frames[1:]
        frames = [f for f in frames if not f.startswith("thread ")]
        if not frames:
            continue
        totals[process] += count
        for frame in set(frames):
            inclusive.setdefault(process, Counter())[frame] += count
        own.setdefault(process, Counter())[frames[-1]] += count
    out = []
    for process, total in totals.most_common():
        out.append(f"== {process}: {total} samples")
        out.append("  inclusive:")
        for frame, count in inclusive[process].most_common(top):
            out.append(f"    {100 * count / total:5.1f} %  {frame}")
        out.append("  self:")
        for frame, count in own[process].most_common(top // 2):
            out.append(f"    {100 * count / total:5.1f} %  {frame}")
    return "\n".join(out)


def _short(command: str) -> str:
    return command if len(command) <= 60 else command[:57] + "..."


def main(argv: list[str] | None = None) -> None:
    """`python -m hbs_devtools.spy FILE [TOP]`: summarise a raw py-spy file."""
    args = argv if argv is not None else sys.argv[1:]
    path = Path(args[0])
    print(summarise(path.stem, path.read_text(), int(args[1]) if len(args) > 1 else 15))


if __name__ == "__main__":
    main()
