"""Signing the requests the consumer queued, with no transaction open across a signature.

The consumer's transaction only queues a request (``enqueue_*``: the inbox row and the queue row
commit together, in milliseconds). ``RequestRunner`` then takes each queued request in three
steps: a short transaction that leases it and checks it (activation, base document,
certificates); the rendering and signature with no transaction open; a short transaction that
settles it only if it is still queued (one conditional DELETE) — the signed version stored,
``signing.completed`` or ``signing.failed`` in the outbox. A duplicate delivery or a second
replica therefore settles nothing twice, and a killed service's lease simply runs out.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from hbs_shared.db import Database
from hbs_shared.events.contracts import (
    MinutesSigningRequested,
    RecordSigningRequested,
    SheetSigningRequestedV2,
)
from hbs_shared.logging import correlation_id, error_kind, get_logger
from hbs_signing.models import QueuedRequest
from hbs_signing.requests.rendering import RenderPool
from hbs_signing.requests.repository import QueueRepository
from hbs_signing.requests.service import REFUSALS, Job, Prepared, SigningRequestService

log = get_logger(__name__)

MAX_ATTEMPTS = 5
"""Leases a request may take without being settled (a signature that kills the service)."""

Activation = tuple[uuid.UUID, uuid.UUID | None, datetime]


class RequestRunner:
    def __init__(
        self,
        db: Database,
        service: SigningRequestService,
        *,
        concurrency: int = 4,
        lease_seconds: float = 60.0,
        poll_seconds: float = 2.0,
        after_commit: Callable[[], None] | None = None,
        renderer: RenderPool | None = None,
    ) -> None:
        self.db = db
        self.service = service
        self.queue = QueueRepository()
        # Signatures run one at a time on the token thread; rendering (in `renderer`'s processes)
        # and checks overlap them.
        self.concurrency = concurrency
        self.lease = timedelta(seconds=lease_seconds)
        self.poll_seconds = poll_seconds
        self.after_commit = after_commit
        self.renderer = renderer or RenderPool(0)
        self._wake = asyncio.Event()

    # --- queueing (the consumer's transaction) ------------------------------------------------

    async def enqueue_sheet(
        self, session: AsyncSession, school_id: str, request: SheetSigningRequestedV2, requested_at: datetime
    ) -> None:
        await self._enqueue(session, school_id, "sheet", request, requested_at)

    async def enqueue_minutes(
        self, session: AsyncSession, school_id: str, request: MinutesSigningRequested, requested_at: datetime
    ) -> None:
        if await self.service.refuse_minutes_out_of_role(session, school_id, request):
            return
        await self._enqueue(session, school_id, "minutes", request, requested_at)

    async def enqueue_record(
        self, session: AsyncSession, school_id: str, request: RecordSigningRequested, requested_at: datetime
    ) -> None:
        await self._enqueue(session, school_id, "record", request, requested_at)

    async def _enqueue(
        self,
        session: AsyncSession,
        school_id: str,
        kind: str,
        request: SheetSigningRequestedV2 | MinutesSigningRequested | RecordSigningRequested,
        requested_at: datetime,
    ) -> None:
        # A redelivered request (new event id, same request) is queued or handled once only.
        if await self.service.requests.get(session, request.request_id) is not None:
            return
        if await self.queue.get(session, request.request_id) is not None:
            return
        self.queue.add(
            session,
            QueuedRequest(
                request_id=request.request_id,
                school_id=school_id,
                kind=kind,
                payload=request.model_dump(mode="json"),
                requested_at=requested_at,
                attempts=0,
                correlation_id=(correlation_id.get() or "")[:64] or None,
            ),
        )

    def nudge(self) -> None:
        self._wake.set()

    # --- signing -------------------------------------------------------------------------------

    async def run_forever(self) -> None:
        """Keep up to ``concurrency`` requests in progress: a slot that frees takes the next queued
        request at once (woken by the consumer's commit or by a request finishing), instead of
        waiting for the slowest request of a round of ``concurrency``."""
        running: set[asyncio.Task[None]] = set()

        def finished(task: asyncio.Task[None]) -> None:
            running.discard(task)
            self._wake.set()

        try:
            while True:
                self._wake.clear()  # before the claim: a nudge during it is not lost
                free = self.concurrency - len(running)
                if free > 0:
                    try:
                        taken = await self._claim(free)
                    except asyncio.CancelledError:
                        raise
                    except Exception as error:  # a database hiccup: the requests stay queued
                        log.warning("queued requests not claimed; retried", error=error_kind(error))
                        taken = []
                    for item in taken:
                        task = asyncio.create_task(self._traced(*item))
                        running.add(task)
                        task.add_done_callback(finished)
                    if taken and len(taken) == free:
                        continue  # every slot is busy now: the next wake is a request finishing
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.poll_seconds)
        finally:
            for task in running:
                task.cancel()

    async def run_once(self) -> int:
        """Sign up to ``concurrency`` queued requests at once; how many were taken."""
        taken = await self._claim(self.concurrency)
        await asyncio.gather(*(self._traced(*item) for item in taken))
        return len(taken)

    async def _claim(self, limit: int) -> list[tuple[Any, ...]]:
        async with self.db.transaction() as session:
            items = await self.queue.claim(session, limit, datetime.now(UTC), self.lease)
            return [
                (i.request_id, i.school_id, i.kind, i.payload, i.requested_at, i.attempts, i.correlation_id)
                for i in items
            ]

    async def _traced(self, *item: Any) -> None:
        *request, correlation = item
        # Each request runs in its own task: the id set here is this request's only.
        correlation_id.set(correlation)
        await self._process(*request)

    async def _process(
        self,
        request_id: uuid.UUID,
        school_id: str,
        kind: str,
        payload: dict[str, object],
        requested_at: datetime,
        attempts: int,
    ) -> None:
        try:
            job, activation = self._job(school_id, kind, payload, requested_at)
        except (ValidationError, ValueError) as error:
            # Queued under an older contract and unreadable now: set aside, never retried forever.
            log.error(
                "unreadable queued signing request", request_id=str(request_id), error=error_kind(error)
            )
            async with self.db.transaction() as session:
                await self.queue.settle(session, request_id)
            return
        try:
            if attempts > MAX_ATTEMPTS:
                await self._settle_failed(job, f"signing was interrupted {MAX_ATTEMPTS} times; not retried")
                return
            ready = await self._check(job, activation)
            if ready is None:
                return
            try:
                # No transaction open; the rendering in the worker processes.
                signed = await self.service.sign_prepared(job, ready, self.renderer.render)
            except REFUSALS as error:
                await self._settle_failed(job, str(error))
                return
            await self._settle_signed(job, ready, signed)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # database busy, disk full…: give the lease back, retried soon
            log.warning(
                "signing request not settled; retried", request_id=str(request_id), error=error_kind(error)
            )
            with contextlib.suppress(Exception):
                async with self.db.transaction() as session:
                    await self.queue.release(session, request_id)

    def _job(
        self, school_id: str, kind: str, payload: dict[str, object], requested_at: datetime
    ) -> tuple[Job, Activation]:
        request: BaseModel
        if kind == "sheet":
            request = SheetSigningRequestedV2.model_validate(payload)
            return self.service.sheet_job(school_id, request), (request.activation_id, None, requested_at)
        if kind == "minutes":
            request = MinutesSigningRequested.model_validate(payload)
            return self.service.minutes_job(school_id, request), (request.activation_id, None, requested_at)
        if kind == "record":
            request = RecordSigningRequested.model_validate(payload)
            job = self.service.record_job(school_id, request)
            return job, (request.activation_id, request.batch_id, requested_at)
        raise ValueError(f"unknown queued request kind {kind!r}")

    async def _check(self, job: Job, activation: Activation) -> Prepared | None:
        """The short first transaction: every check before signing (reads; a first-use
        certificate from the development CA is the only write)."""
        async with self.db.transaction() as session:
            if await self.service.requests.get(session, job.request_id) is not None:
                await self.queue.settle(session, job.request_id)  # handled by an earlier delivery
                return None
            try:
                return await self.service.prepare(session, job, activation)
            except REFUSALS as error:
                reason = str(error)
        await self._settle_failed(job, reason)
        return None

    async def _settle_failed(self, job: Job, reason: str) -> None:
        async with self.db.transaction() as session:
            if await self.queue.settle(session, job.request_id):
                await self.service.fail(session, job, reason)
        self._committed()

    async def _settle_signed(self, job: Job, ready: Prepared, signed: bytes) -> None:
        # The file first (fsync), so the transaction holds the write lock for milliseconds only.
        digest = await self.service.store_file(signed)
        async with self.db.transaction() as session:
            if not await self.queue.settle(session, job.request_id):
                return  # settled by another run meanwhile: never stored twice
            if await self.service.still_current(session, job, ready):
                await self.service.complete(session, job, ready, signed, digest)
            else:
                await self.service.fail(session, job, "the base document is superseded by a newer version")
        self._committed()

    def _committed(self) -> None:
        if self.after_commit is not None:
            self.after_commit()
