"""Examining an uploaded file in a child process with a CPU budget, a few at a time.

Anyone may upload to the public verification endpoint. pyHanko's reader spends CPU in proportion
to what it has to skip and parse (a 20 MB file padded with spaces: 6–14 s of CPU, and refused
in the end), and a thread cannot be stopped. A child forked from a small fork server (which has
imported pyHanko and never touched the token) gets RLIMIT_CPU and a wall-clock limit, and is
killed past either; at most `concurrency` run at once, the rest wait briefly or are turned away.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import resource
from dataclasses import dataclass
from datetime import datetime
from multiprocessing.connection import Connection
from typing import Any

from hbs_shared.logging import get_logger
from hbs_signing.verification.service import Examination, Verifier

log = get_logger(__name__)
_PRELOAD = ["hbs_signing.verification.service", "pyhanko.sign.validation", "pyhanko.pdf_utils.reader"]


class VerificationBusy(Exception):
    """Every examination slot stayed taken for the whole wait."""


class VerificationTooCostly(Exception):
    """The file needed more than the CPU or time budget to examine."""


@dataclass(frozen=True)
class Budget:
    cpu_seconds: int = 3
    wall_seconds: float = 30.0
    concurrency: int = 2
    queue_seconds: float = 10.0


def _examine_in_child(
    connection: Connection, roots_der: list[bytes], pdf: bytes, now: datetime | None, cpu: int
) -> None:
    # Past the soft limit the kernel sends SIGXCPU, whose default action ends the process.
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    try:
        connection.send(Verifier.for_roots(roots_der).examine(pdf, now=now))
    finally:
        connection.close()


class BoundedExaminer:
    def __init__(self, roots_der: list[bytes], budget: Budget) -> None:
        self._roots = roots_der
        self._budget = budget
        self._slots = asyncio.Semaphore(budget.concurrency)
        self._context: Any = None

    def _process_context(self) -> Any:
        if self._context is None:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(_PRELOAD)
            self._context = context
        return self._context

    async def examine(self, pdf: bytes, *, now: datetime | None = None) -> Examination:
        try:
            await asyncio.wait_for(self._slots.acquire(), self._budget.queue_seconds)
        except TimeoutError as error:
            raise VerificationBusy from error
        try:
            return await asyncio.to_thread(self._run, pdf, now)
        finally:
            self._slots.release()

    def _run(self, pdf: bytes, now: datetime | None) -> Examination:
        context = self._process_context()
        receiving, sending = context.Pipe(duplex=False)
        child = context.Process(
            target=_examine_in_child,
            args=(sending, self._roots, pdf, now, self._budget.cpu_seconds),
            daemon=True,
        )
        child.start()
        sending.close()
        try:
            if receiving.poll(self._budget.wall_seconds):
                try:
                    result = receiving.recv()
                except EOFError:  # killed at the CPU limit before it could answer
                    result = None
                if isinstance(result, Examination):
                    return result
            log.warning("verification over budget", size=len(pdf), exitcode=child.exitcode)
            raise VerificationTooCostly
        finally:
            receiving.close()
            if child.is_alive():
                child.kill()
            child.join(5)
