"""Record signing requests of a batch, signed together through the batch workers.

The consumer only queues a request that carries a ``batch_id`` (``enqueue``, in the inbox's
transaction). ``BatchRunner`` takes the oldest pending batch, checks each request as the inline
path does (activation, base document, certificates), signs the accepted ones in worker processes
(``hbs_signing.batches.workers``) and settles each finished chunk in one transaction: the signed versions
stored, the requests marked done, ``signing.completed`` / ``signing.failed`` and a
``signing.batch.progress`` in the outbox. A request is settled only while still pending (one
conditional UPDATE), so a crash or a second runner never stores or announces a document twice;
what was not settled is signed again on the next run.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from hbs_shared.db import Database
from hbs_shared.events.contracts import RecordSigningRequested, SigningBatchProgress
from hbs_shared.events.envelope import EventEnvelope, EventPayload
from hbs_shared.logging import get_logger
from hbs_signing.batches.repository import (
    CLAIM_LEASE,
    COMPLETED,
    FAILED,
    PENDING,
    BatchItemRepository,
    BatchProgress,
    this_replica,
)
from hbs_signing.batches.workers import (
    BatchCredentials,
    BatchDocument,
    BatchResult,
    BatchSigner,
    RenderYearRecord,
    SealCredentials,
    StoredPdf,
    WorkerPool,
)
from hbs_signing.documents.layout import RECORD_BOXES
from hbs_signing.models import BatchItem, Certificate
from hbs_signing.requests.service import (
    REFUSALS,
    Job,
    Prepared,
    Refused,
    SignerReady,
    SigningRequestService,
)
from hbs_signing.token import TokenConfig

log = get_logger(__name__)

MAX_ATTEMPTS = 5
"""Runs a request may take without being settled (a worker killed, the service restarted)."""
UNSETTLED_CHUNKS = 2
"""Signed chunks handed to settling and not yet committed, at most (one committing, one waiting)."""
PROGRESS_SECONDS = 1.0
"""A batch's progress is announced at most this often while it runs (and after each run): one
event per settled group was ~700 events nobody waits for in a school's step 4."""


@dataclass(frozen=True)
class _Accepted:
    request: RecordSigningRequested
    job: Job
    ready: Prepared


class BatchRunner:
    def __init__(
        self,
        db: Database,
        requests: SigningRequestService,
        token: TokenConfig,
        *,
        workers: int,
        chunk_size: int = 2,
        max_per_run: int = 256,
        poll_seconds: float = 2.0,
        keep_workers_seconds: float = 60.0,
        after_commit: Callable[[], None] | None = None,
        replica: str | None = None,
        lease: timedelta = CLAIM_LEASE,
    ) -> None:
        self.db = db
        self.requests = requests
        self.items = BatchItemRepository()
        self.token = token
        self.workers = workers
        # Small chunks, settled as each comes back: a killed service re-signs only what was in flight.
        self.chunk_size = chunk_size
        # The certificates are checked again before every run of at most this many documents.
        self.max_per_run = max_per_run
        self.poll_seconds = poll_seconds
        # The workers outlive a run (started once for a whole batch, not per run of 256) and are
        # closed after this long without one; run_once alone (tests, drills) closes them.
        self.keep_workers_seconds = keep_workers_seconds
        self._pool: WorkerPool | None = None
        self._starting: asyncio.Task[WorkerPool] | None = None
        self._used_at = time.monotonic()
        self._keep_workers = False
        self.after_commit = after_commit
        self._wake = asyncio.Event()
        # Several replicas share the queue: each signs only what it claimed (see the repository).
        self.replica = replica or this_replica()
        self.lease = lease

    # --- queueing (the consumer's transaction) ------------------------------------------------

    async def enqueue(
        self, session: AsyncSession, school_id: str, request: RecordSigningRequested, requested_at: datetime
    ) -> None:
        assert request.batch_id is not None
        # A redelivered request (new event id, same request) is queued or handled once only.
        asked: dict[uuid.UUID, bool] = session.info.get(_KNOWN, {})
        if request.request_id in asked:
            seen_before = asked[request.request_id]
            asked[request.request_id] = True  # the same request again later in this batch
        else:
            seen_before = (
                await self.requests.requests.get(session, request.request_id) is not None
                or await self.items.get(session, request.request_id) is not None
            )
        if seen_before:
            return
        self.items.add(
            session,
            BatchItem(
                request_id=request.request_id,
                batch_id=request.batch_id,
                school_id=school_id,
                signer_user_id=request.signer_user_id,
                payload=request.model_dump(mode="json"),
                requested_at=requested_at,
                state=PENDING,
            ),
        )

    async def prepare_enqueue(
        self, session: AsyncSession, events: Sequence[tuple[EventEnvelope, EventPayload]]
    ) -> None:
        """A consumer batch's record requests: which are already handled or queued, asked in two
        queries for the batch instead of two for each request (`enqueue` reads the answer)."""
        ids = {
            e.request_id
            for _, e in events
            if isinstance(e, RecordSigningRequested) and e.batch_id is not None
        }
        known = await self.items.known(session, ids) if ids else set()
        session.info[_KNOWN] = {request_id: request_id in known for request_id in ids}

    async def progress(
        self, session: AsyncSession, school_id: str, batch_id: uuid.UUID, signer_user_id: uuid.UUID | None
    ) -> BatchProgress | None:
        return await self.items.progress(session, school_id, batch_id, signer_user_id)

    def nudge(self) -> None:
        self._wake.set()

    # --- signing -------------------------------------------------------------------------------

    async def run_forever(self) -> None:
        """Sign batches until cancelled, renewing this replica's claims meanwhile."""
        renewing = asyncio.create_task(self._renew_claims())
        self._keep_workers = True
        try:
            await self._run_batches()
        finally:
            renewing.cancel()
            self._keep_workers = False
            await self.close_workers()

    async def close_workers(self) -> None:
        starting = self._starting
        if starting is not None:
            with contextlib.suppress(Exception):
                await asyncio.shield(starting)  # a pool half-started must not be left behind
        pool, self._pool = self._pool, None
        if pool is not None:
            await asyncio.to_thread(pool.close)

    def warm(self) -> None:
        """A batch was activated: start the workers now, so its first documents find them logged
        in (starting them took seconds of a step 4's start). Only while ``run_forever`` runs (the
        service; it closes them after ``keep_workers_seconds`` unused); a failed start is retried
        when the batch comes."""
        if not self._keep_workers:
            return
        self._used_at = time.monotonic()
        if (self._pool is None or not self._pool.started) and self._starting is None:
            task = self._start_workers()
            task.add_done_callback(_log_failed_start)

    def _start_workers(self) -> asyncio.Task[WorkerPool]:
        async def start() -> WorkerPool:
            try:
                pool = WorkerPool(self.token, self.workers)
                began = time.monotonic()
                # On a thread of the loop's default pool, which lives as long as the service: the
                # workers die with the thread that started them.
                await asyncio.to_thread(pool.start)
                self._pool = pool
                log.info(
                    "batch workers started", workers=pool.workers, seconds=round(time.monotonic() - began, 2)
                )
                return pool
            finally:
                self._starting = None

        self._starting = asyncio.create_task(start())
        return self._starting

    async def _workers(self) -> WorkerPool:
        """The started pool: the running one, the one being started (``warm``), or a new one."""
        if self._pool is not None and self._pool.started:
            return self._pool
        return await asyncio.shield(self._starting or self._start_workers())

    async def _renew_claims(self) -> None:
        while True:
            await asyncio.sleep(self.lease.total_seconds() / 3)
            try:
                async with self.db.transaction() as session:
                    await self.items.renew_claims(session, self.replica, self.lease)
            except Exception as error:  # tried again at the next third: the lease outlasts two misses
                log.warning("batch claims not renewed", error=str(error))

    async def _run_batches(self) -> None:
        self._used_at = time.monotonic()
        while True:
            try:
                while await self.run_once():
                    self._used_at = time.monotonic()
            except asyncio.CancelledError:
                raise
            except Exception as error:  # a broken worker pool or database hiccup: retried
                log.warning("batch signing interrupted; its pending requests are retried", error=str(error))
                await self.close_workers()
            if self._pool is not None and time.monotonic() - self._used_at > self.keep_workers_seconds:
                await self.close_workers()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_seconds)
            self._wake.clear()

    async def run_once(self) -> int:
        """Sign up to ``max_per_run`` pending requests of the oldest batch; how many were taken."""
        async with self.db.transaction() as session:
            items = await self.items.claim(session, self.max_per_run, self.replica, self.lease)
            if not items:
                return 0
            school_id, batch_id, signer = items[0].school_id, items[0].batch_id, items[0].signer_user_id
            queued = []
            for item in items:
                # Counted before signing: a run that never comes back still counts.
                item.attempts += 1
                queued.append((item.request_id, item.payload, item.requested_at, item.attempts))
        checks = _RunChecks(self.db)
        # The first signer's requests go to the workers as soon as each passes its checks (the
        # workers sign while the rest are checked); another signer's, rare in one batch, after.
        streaming: tuple[tuple[str, ...], _Feed, asyncio.Task[None]] | None = None
        later: dict[tuple[str, ...], _Feed] = {}
        try:
            # The checks only read: one session for the run, not a write transaction per request
            # (SQLite: no write lock taken, so settling commits meanwhile); a refusal writes apart.
            async with self.db.transaction(sqlite_lock=False) as reading:
                # Every record's document versions in one query, not two for each request.
                await self.requests.preload_versions(
                    reading, school_id, _subjects(p for _, p, _, _ in queued)
                )
                for request_id, payload, requested_at, attempts in queued:
                    if streaming is not None and streaming[2].done():
                        break  # signing stopped (its error is raised below): the rest waits for a run
                    try:
                        request = RecordSigningRequested.model_validate(payload)
                    except ValidationError as error:
                        # Queued under an older contract and unreadable now: set aside, not retried.
                        log.error(
                            "unreadable queued signing request", request_id=str(request_id), error=str(error)
                        )
                        async with self.db.transaction() as session:
                            await self.items.settle(session, request_id, FAILED)
                        continue
                    if attempts > MAX_ATTEMPTS:
                        await self._give_up(school_id, request)
                        continue
                    checked = await self._check(reading, school_id, request, requested_at, checks)
                    if checked is None:
                        continue
                    # One worker pool per signing key and field (a batch normally has exactly one).
                    ready = checked.ready
                    key = (checked.job.signer_role, ready.certificate.sha256, _sha(ready.seal))
                    if streaming is None:
                        feed = _Feed()
                        feed.put(checked)
                        task = asyncio.create_task(self._sign_group(school_id, batch_id, signer, feed))
                        streaming = (key, feed, task)
                    elif key == streaming[0]:
                        streaming[1].put(checked)
                    else:
                        later.setdefault(key, _Feed()).put(checked)
        finally:
            if streaming is not None:
                streaming[1].close()
                # Raised here: a broken pool, a failed commit (the rest is retried by a later run).
                await streaming[2]
        for feed in later.values():
            feed.close()
            await self._sign_group(school_id, batch_id, signer, feed)
        return len(queued)

    async def _give_up(self, school_id: str, request: RecordSigningRequested) -> None:
        """A request whose signing never finished: refused with the reason, the batch goes on."""
        job = self.requests.record_job(school_id, request)
        log.error("batch request failed after repeated interrupted runs", request_id=str(request.request_id))
        async with self.db.transaction() as session:
            if await self.items.settle(session, request.request_id, FAILED):
                reason = f"signing was interrupted {MAX_ATTEMPTS} times (worker crash); not retried"
                await self.requests.fail(session, job, reason)
                await self._announce_progress(session, school_id, request)
        self._committed()

    async def _check(
        self,
        reading: AsyncSession,
        school_id: str,
        request: RecordSigningRequested,
        requested_at: datetime,
        checks: _RunChecks,
    ) -> _Accepted | None:
        """This request's own checks (activation, base document) on the run's reading session;
        the signer's certificates and CRLs come from ``checks``, made once per run and signer
        (again if a CRL's update passed). A refusal is settled in its own transaction."""
        job = self.requests.record_job(school_id, request)
        try:
            signer = await checks.signer(self.requests, job)
            ready = await self.requests.prepare(
                reading,
                job,
                (request.activation_id, request.batch_id, requested_at),
                signer,
                in_worker=True,
            )
        except REFUSALS as error:
            async with self.db.transaction() as session:
                if await self.items.settle(session, request.request_id, FAILED):
                    await self.requests.fail(session, job, str(error))
                    await self._announce_progress(session, school_id, request)
            self._committed()
            return None
        return _Accepted(request, job, ready)

    async def _sign_group(self, school_id: str, batch_id: uuid.UUID, signer: uuid.UUID, feed: _Feed) -> None:
        """Sign what ``feed`` hands over (one signer's requests, until it is closed) in the workers,
        settling each finished chunk as it comes back."""
        first = feed.first
        by_key = feed.by_key
        try:
            tsa = self.requests.timestamp_authority()
        except Refused as problem:
            await self._refuse_all(school_id, feed, str(problem))
            return
        tsa_chain = tsa.chain
        certificate, validation = first.ready.certificate, first.ready.validation
        credentials = BatchCredentials(
            token=self.token,
            key_label=certificate.key_label,
            certificate_der=certificate.der,
            chain_der=validation.chain,
            validation_certificates=tuple(dict.fromkeys((certificate.der, *validation.chain, *tsa_chain))),
            crls=validation.crls,
            field_name=first.job.field_name,
            signer_name=first.job.signer_name,
            reason=first.job.reason,
            location=first.ready.location,
            stamp_box=RECORD_BOXES.get(first.job.field_name),
            seal=_seal_credentials(self.requests, first, tsa_chain),
            tsa_key_der=tsa.key_der,
            tsa_certificate_der=tsa.certificate_der,
            tsa_url=tsa.url,
            store_root=self.requests.store.root,
        )
        loop = asyncio.get_running_loop()
        finished: asyncio.Queue[list[BatchResult] | None] = asyncio.Queue()
        # Chunks handed over and not yet committed: one being committed and one waiting at most,
        # so a killed service signs again only what was in flight (test_batch_lifecycle).
        unsettled = threading.Semaphore(UNSETTLED_CHUNKS)
        settling = asyncio.create_task(self._settle(school_id, by_key, finished, unsettled))
        stopped = threading.Event()
        settling.add_done_callback(lambda _: stopped.set())

        def store(results: list[BatchResult]) -> None:
            # Called on the signing thread: handed to the settling task, which commits whatever
            # has come back meanwhile in one transaction; signing goes on while it commits.
            while not unsettled.acquire(timeout=0.5):
                if stopped.is_set():
                    break
            if stopped.is_set():
                raise RuntimeError("settling stopped; the batch's pending requests are retried")
            loop.call_soon_threadsafe(finished.put_nowait, results)

        log.info("batch signing", batch_id=str(batch_id), workers=self.workers)
        try:
            workers = await self._signer_for(credentials)
            try:
                await asyncio.to_thread(workers.sign_all, feed.documents(), store=store)
            finally:
                if not self._keep_workers:
                    await self.close_workers()
        finally:
            feed.stop()
            finished.put_nowait(None)
            # What came back is settled even when signing broke off (a killed worker).
            await asyncio.shield(settling)

    async def _refuse_all(self, school_id: str, feed: _Feed, reason: str) -> None:
        """No signing possible for this group (no timestamp authority): each request fails with
        the reason, as the checking loop hands it over."""
        while True:
            fed = await asyncio.to_thread(feed.drain)
            if fed:
                await self._store(school_id, feed.by_key, [BatchResult(key, None, reason) for key in fed])
            if feed.closed:
                return

    async def _signer_for(self, credentials: BatchCredentials) -> BatchSigner:
        """These credentials' signer on the started workers (each worker prepares a signer on its
        first chunk and keeps it). The batch's reason is left out: each document carries its own
        (the class is named in it), so one teacher's runs reuse one prepared signer."""
        pool = await self._workers()
        return BatchSigner(replace(credentials, reason=""), pool=pool, chunk_size=self.chunk_size)

    async def _settle(
        self,
        school_id: str,
        by_key: dict[str, _Accepted],
        finished: asyncio.Queue[list[BatchResult] | None],
        unsettled: threading.Semaphore,
    ) -> None:
        """Settle finished chunks as they come back, every chunk waiting at that moment in one
        transaction (group commit: one commit for several chunks). The batch's progress is
        announced at most every PROGRESS_SECONDS, and always after the run's last chunk."""
        announced_at = time.monotonic()
        unannounced: RecordSigningRequested | None = None
        while True:
            waiting = [await finished.get()]
            while not finished.empty():
                waiting.append(finished.get_nowait())
            chunks = [chunk for chunk in waiting if chunk is not None]
            last = None in waiting
            if chunks:
                results = [result for chunk in chunks for result in chunk]
                announce = last or time.monotonic() - announced_at >= PROGRESS_SECONDS
                await self._store(school_id, by_key, results, announce=announce)
                unannounced = None if announce else by_key[results[0].key].request
                if announce:
                    announced_at = time.monotonic()
                for _ in chunks:
                    unsettled.release()
            if last:
                if unannounced is not None:
                    async with self.db.transaction() as session:
                        await self._announce_progress(session, school_id, unannounced)
                    self._committed()
                return

    async def _store(
        self,
        school_id: str,
        by_key: dict[str, _Accepted],
        results: list[BatchResult],
        *,
        announce: bool = True,
    ) -> None:
        # The workers wrote their files (fsync'd); a PDF that came back (none, with the store) is
        # written first, so the transaction holds the write lock for milliseconds.
        store = self.requests.store
        back = [(r.key, r.pdf) for r in results if r.signed and r.pdf is not None]
        written: dict[str, str] = {}
        if back:
            written = dict(await asyncio.to_thread(lambda: [(key, store.put(pdf)) for key, pdf in back]))
        async with self.db.transaction() as session:
            # One UPDATE, and the documents, requests and announcements inserted together at the
            # end: a statement per record each was most of the settling's time.
            settled = await self.items.settle_many(
                session,
                [(by_key[r.key].request.request_id, COMPLETED if r.signed else FAILED) for r in results],
            )
            events: list[tuple[EventPayload, str]] = []
            for result in results:
                accepted = by_key[result.key]
                if accepted.request.request_id not in settled:
                    continue  # settled by another run meanwhile: never stored twice
                if not result.signed:
                    await self.requests.fail(session, accepted.job, result.error or "signing failed")
                elif result.pdf is not None:
                    await self.requests.complete(
                        session, accepted.job, accepted.ready, result.pdf, written[result.key], events=events
                    )
                else:
                    assert result.sha256 is not None
                    await self.requests.complete_stored(
                        session, accepted.job, accepted.ready, result.sha256, result.size, events=events
                    )
            await self.requests.outbox.add_many(session, events)
            if announce:
                await self._announce_progress(session, school_id, by_key[results[0].key].request)
        self._committed()

    async def _announce_progress(
        self, session: AsyncSession, school_id: str, request: RecordSigningRequested
    ) -> None:
        assert request.batch_id is not None
        progress = await self.items.progress(session, school_id, request.batch_id, request.signer_user_id)
        if progress is None:
            return
        await self.requests.outbox.add(
            session,
            SigningBatchProgress(
                batch_id=progress.batch_id,
                signer_user_id=progress.signer_user_id,
                total=progress.total,
                done=progress.done,
                failed=progress.failed,
            ),
            school_id,
        )

    def _committed(self) -> None:
        if self.after_commit is not None:
            self.after_commit()


class _Feed:
    """Checked requests of one signer, handed from the checking loop (the event loop) to the
    signing thread as each passes; ``close()`` after the last one."""

    def __init__(self) -> None:
        self._queue: queue.Queue[_Accepted | None] = queue.Queue()
        self.by_key: dict[str, _Accepted] = {}
        self.first: _Accepted
        self.closed = False
        self._stopped = False

    def put(self, accepted: _Accepted) -> None:
        if not self.by_key:
            self.first = accepted
        self.by_key[str(accepted.request.request_id)] = accepted  # before the workers can see it
        self._queue.put(accepted)

    def close(self) -> None:
        self._queue.put(None)

    def stop(self) -> None:
        """The signing thread gave up: whatever is still put is left pending for a later run."""
        self._stopped = True

    def documents(self) -> Iterator[BatchDocument]:
        """On the signing thread: each request's document as it is handed over, until closed."""
        while not self._stopped and (accepted := self._queue.get()) is not None:
            yield _document(accepted)
        self.closed = True

    def drain(self) -> list[str]:
        """The keys handed over since the last call (blocking for the first), until closed."""
        keys: list[str] = []
        accepted = self._queue.get()
        while accepted is not None:
            keys.append(str(accepted.request.request_id))
            try:
                accepted = self._queue.get_nowait()
            except queue.Empty:
                return keys
        self.closed = True
        return keys


def _document(accepted: _Accepted) -> BatchDocument:
    base, request = accepted.ready.base, accepted.request
    if base is None:
        return BatchDocument(
            str(request.request_id),
            RenderYearRecord(request.record, accepted.ready.verification),
            reason=accepted.job.reason,
        )
    # The worker reads the file from the store (checking its SHA-256) and counts its signatures.
    return BatchDocument(
        str(request.request_id),
        StoredPdf(base[0].sha256),
        reason=accepted.job.reason,
        signatures=base[0].signature_count,
    )


class _RunChecks:
    """The checks one run makes once per signer and role (school, certificates, chains, CRLs),
    kept until the earliest CRL update or certificate end among them."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._signers: dict[tuple[str, uuid.UUID, str, bool], SignerReady] = {}

    async def signer(self, requests: SigningRequestService, job: Job) -> SignerReady:
        key = (job.school_id, job.signer_user_id, job.signer_role, job.seal)
        ready = self._signers.get(key)
        if ready is None or datetime.now(UTC) >= ready.valid_until:
            # Its own transaction: a first signature makes the signer's development certificate.
            async with self.db.transaction() as session:
                ready = await requests.prepare_signer(session, job)  # raises a refusal: not kept
            self._signers[key] = ready
        return ready


def _seal_credentials(
    requests: SigningRequestService, accepted: _Accepted, tsa_chain: tuple[bytes, ...]
) -> SealCredentials | None:
    seal, validation = accepted.ready.seal, accepted.ready.seal_validation
    if seal is None or validation is None:
        return None
    job = requests.seal_job(accepted.job, seal, accepted.ready.school_name)
    return SealCredentials(
        key_label=seal.key_label,
        certificate_der=seal.der,
        chain_der=validation.chain,
        validation_certificates=tuple(dict.fromkeys((seal.der, *validation.chain, *tsa_chain))),
        crls=validation.crls,
        signer_name=job.signer_name,
        reason=job.reason,
        field_name=job.field_name,
        stamp_box=RECORD_BOXES.get(job.field_name),
    )


_KNOWN = "hbs.signing.requests_known"
"""`session.info` key: a consumer batch's record requests, each with whether it is already handled
or queued."""


def _subjects(payloads: Iterable[Any]) -> set[uuid.UUID]:
    """The record ids of queued requests' payloads; an unreadable one is left to the run's checks."""
    found: set[uuid.UUID] = set()
    for payload in payloads:
        try:
            found.add(uuid.UUID(str(payload["record"]["record_id"])))
        except (KeyError, TypeError, ValueError):
            continue
    return found


def _log_failed_start(task: asyncio.Task[WorkerPool]) -> None:
    if not task.cancelled() and (error := task.exception()) is not None:
        log.warning("batch workers not started ahead; started again with the batch", error=str(error))


def _sha(certificate: Certificate | None) -> str:
    return certificate.sha256 if certificate is not None else ""
