"""The injectors find what they must kill: a process's `spawn`ed multiprocessing workers (as
signing's batch pool starts them), not multiprocessing's resource tracker, and `alive` tells a
killed one from a running one. Seconds, no stack."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time

from hbs_devtools.faults import alive, batch_workers, children_of

POOL = """
import multiprocessing, time
from concurrent.futures import ProcessPoolExecutor
if __name__ == "__main__":
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        list(pool.map(abs, range(4)))
        print("ready", flush=True)
        time.sleep(60)
"""


def test_a_pool_s_spawned_workers_are_found_and_killed() -> None:
    parent = subprocess.Popen([sys.executable, "-c", POOL], stdout=subprocess.PIPE)
    try:
        assert parent.stdout is not None
        assert parent.stdout.readline().strip() == b"ready"
        workers = batch_workers(parent.pid)
        assert len(workers) == 2, workers
        # The resource tracker is a child too, but not a worker.
        assert len(children_of(parent.pid)) == 3
        os.kill(workers[0], signal.SIGKILL)
        deadline = time.monotonic() + 10
        while alive(workers[0]):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert not alive(workers[0])
        assert alive(parent.pid)
    finally:
        for child in children_of(parent.pid):
            # Listed, then gone: the pool's other worker exits once its sibling was killed.
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signal.SIGKILL)
        parent.kill()
        parent.wait()
