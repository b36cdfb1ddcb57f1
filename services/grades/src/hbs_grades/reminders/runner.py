"""The reminders' background task: e-mails waiting reminders (at once when nudged) and, every
`reminder_check_seconds`, adds the automatic reminders of windows about to close."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

from hbs_grades.reminders.service import ReminderService
from hbs_shared.db import Database
from hbs_shared.logging import get_logger

log = get_logger(__name__)
POLL_SECONDS = 30.0


class ReminderRunner:
    def __init__(
        self,
        service: ReminderService,
        db: Database,
        check_seconds: float,
        writing: Callable[[bool], AbstractAsyncContextManager[None]],
    ) -> None:
        self.service = service
        self.db = db
        self.writing = writing
        """Grades' writer gate (SQLite has one writer)."""
        self.check_seconds = check_seconds
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._last_check = 0.0

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="grades-reminders")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def nudge(self) -> None:
        self._wake.set()

    async def _run(self) -> None:
        while True:
            try:
                await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:  # a bad moment (database away): try again at the next wake
                log.exception("reminders run failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), POLL_SECONDS)
            self._wake.clear()

    async def run_once(self) -> None:
        if self.check_seconds and time.monotonic() - self._last_check >= self.check_seconds:
            self._last_check = time.monotonic()
            async with self.writing(self.db.is_sqlite), self.db.transaction() as session:
                made = await self.service.remind_due_soon(session)
            if made:
                log.info("automatic reminders added", count=made)
        await self.deliver()

    async def deliver(self) -> int:
        """Send the waiting e-mails; each outcome is stored as it comes."""
        if not self.service.mailer.configured:
            return 0
        async with self.writing(self.db.is_sqlite), self.db.transaction() as session:
            claimed = await self.service.claim_emails(session)
        for reminder_id, to, subject, body in claimed:
            error: str | None = None
            try:
                await self.service.mailer.send(to, subject, body)
            except Exception as exc:  # refused, unreachable, timed out: kept and tried again
                error = f"{type(exc).__name__}: {exc}"
                # Only the kind in the log: a server's refusal may quote the recipient's address.
                log.warning("reminder e-mail failed", reminder_id=str(reminder_id), error=type(exc).__name__)
            async with self.writing(self.db.is_sqlite), self.db.transaction() as session:
                await self.service.settle_email(session, reminder_id, error)
        return len(claimed)
