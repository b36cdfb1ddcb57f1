"""Rendering single requests' documents in a few worker processes (issue 12).

A sheet's rendering is most of its signing CPU (~0.13 s of ~0.15 s; the signature itself ~0.02 s
on the token thread). In the service's own process it holds the interpreter lock that the
consumers, the endpoints and the token thread need, so a burst of sheets queued behind one core
while the other idled. The workers hold no token and no database: a render is pure (content and
verification code in, PDF bytes out), so a worker that dies loses nothing but that render, which
is simply made again. Workers are spawned (nothing inherited), die with the service
(``PR_SET_PDEATHSIG``) and load the fonts once.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import signal
import sys
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from hbs_shared.logging import error_kind, get_logger
from hbs_signing.documents.layout import Verification, _prepared_fonts

log = get_logger(__name__)

Render = Callable[[Verification], bytes]
"""A job's rendering: picklable (a module-level function's ``functools.partial``) to reach a worker."""


def _die_with_parent(parent_pid: int) -> None:
    # A render worker must not outlive the service (a `kill -9` of signing must leave no children).
    if sys.platform.startswith("linux"):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
    if os.getppid() != parent_pid:
        os._exit(1)


WORKER_NAME = b"hbs-render"
"""The workers' process name (`/proc/<pid>/comm`): the fault injector tells them from batch workers."""


def _init_worker(parent_pid: int, fonts: dict[str, str]) -> None:
    _die_with_parent(parent_pid)
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(15, WORKER_NAME, 0, 0, 0)  # PR_SET_NAME
    from hbs_signing.documents.layout import use_prepared_fonts

    use_prepared_fonts(fonts)  # the service's cut fonts: cutting them again costs seconds of CPU


def _render(render: Render, verification: Verification) -> bytes:
    return render(verification)


def _ready() -> int:
    return os.getpid()


class RenderPool:
    """``workers`` processes (0: a thread of the service's own process, as before)."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._pool: ProcessPoolExecutor | None = None

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                self.workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_init_worker,
                initargs=(os.getpid(), _prepared_fonts()),
            )
        return self._pool

    async def start(self) -> None:
        """Spawn every worker and load its fonts now, so the first request does not wait for them."""
        if self.workers == 0:
            return
        loop = asyncio.get_running_loop()
        await asyncio.to_thread(_prepared_fonts)  # cut once here, before the workers need them
        executor = self._executor()
        with contextlib.suppress(BrokenProcessPool):
            await asyncio.gather(*(loop.run_in_executor(executor, _ready) for _ in range(self.workers)))

    async def render(self, render: Render, verification: Verification) -> bytes:
        if self.workers == 0:
            return await asyncio.to_thread(render, verification)
        loop = asyncio.get_running_loop()
        for attempt in (1, 2):
            if self._pool is None:
                await asyncio.to_thread(_prepared_fonts)  # never cut on the event loop
            executor = self._executor()
            try:
                return await loop.run_in_executor(executor, _render, render, verification)
            except BrokenProcessPool as error:
                # A worker was killed: that render is lost, nothing else. A new pool renders it again.
                log.warning("a render worker died; rendering again", attempt=attempt, error=error_kind(error))
                if self._pool is executor:
                    self._pool = None
                    executor.shutdown(wait=False)
        return await asyncio.to_thread(render, verification)

    def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
