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
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from hbs_shared.db import Database
from hbs_shared.events.contracts import RecordSigningRequested, SigningBatchProgress
from hbs_shared.logging import get_logger
from hbs_signing.batches.repository import COMPLETED, FAILED, PENDING, BatchItemRepository, BatchProgress
from hbs_signing.batches.workers import (
    BatchCredentials,
    BatchDocument,
    BatchResult,
    BatchSigner,
    RenderYearRecord,
    SealCredentials,
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
        after_commit: Callable[[], None] | None = None,
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
        self.after_commit = after_commit
        self._wake = asyncio.Event()

    # --- queueing (the consumer's transaction) ------------------------------------------------

    async def enqueue(
        self, session: AsyncSession, school_id: str, request: RecordSigningRequested, requested_at: datetime
    ) -> None:
        assert request.batch_id is not None
        # A redelivered request (new event id, same request) is queued or handled once only.
        if await self.requests.requests.get(session, request.request_id) is not None:
            return
        if await self.items.get(session, request.request_id) is not None:
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

    async def progress(
        self, session: AsyncSession, school_id: str, batch_id: uuid.UUID, signer_user_id: uuid.UUID | None
    ) -> BatchProgress | None:
        return await self.items.progress(session, school_id, batch_id, signer_user_id)

    def nudge(self) -> None:
        self._wake.set()

    # --- signing -------------------------------------------------------------------------------

    async def run_forever(self) -> None:
        while True:
            try:
                while await self.run_once():
                    pass
            except asyncio.CancelledError:
                raise
            except Exception as error:  # a broken worker pool or database hiccup: retried
                log.warning("batch signing interrupted; its pending requests are retried", error=str(error))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_seconds)
            self._wake.clear()

    async def run_once(self) -> int:
        """Sign up to ``max_per_run`` pending requests of the oldest batch; how many were taken."""
        async with self.db.transaction() as session:
            items = await self.items.next_pending(session, self.max_per_run)
            if not items:
                return 0
            school_id, batch_id, signer = items[0].school_id, items[0].batch_id, items[0].signer_user_id
            queued = []
            for item in items:
                # Counted before signing: a run that never comes back still counts.
                item.attempts += 1
                queued.append((item.request_id, item.payload, item.requested_at, item.attempts))
        accepted: dict[tuple[str, ...], list[_Accepted]] = {}
        checks = _RunChecks()
        for request_id, payload, requested_at, attempts in queued:
            try:
                request = RecordSigningRequested.model_validate(payload)
            except ValidationError as error:
                # Queued under an older contract and unreadable now: set aside, never retried forever.
                log.error("unreadable queued signing request", request_id=str(request_id), error=str(error))
                async with self.db.transaction() as session:
                    await self.items.settle(session, request_id, FAILED)
                continue
            if attempts > MAX_ATTEMPTS:
                await self._give_up(school_id, request)
                continue
            checked = await self._check(school_id, request, requested_at, checks)
            if checked is not None:
                # One worker pool per signing key and field (a batch normally has exactly one).
                key = (checked.job.signer_role, checked.ready.certificate.sha256, _sha(checked.ready.seal))
                accepted.setdefault(key, []).append(checked)
        for group in accepted.values():
            await self._sign_group(school_id, batch_id, signer, group)
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
        self, school_id: str, request: RecordSigningRequested, requested_at: datetime, checks: _RunChecks
    ) -> _Accepted | None:
        """This request's own checks (activation, base document); the signer's certificates and
        CRLs come from ``checks``, made once per run and signer (again if a CRL's update passed)."""
        job = self.requests.record_job(school_id, request)
        async with self.db.transaction() as session:
            try:
                signer = await checks.signer(self.requests, session, job)
                ready = await self.requests.prepare(
                    session, job, (request.activation_id, request.batch_id, requested_at), signer
                )
            except REFUSALS as error:
                if await self.items.settle(session, request.request_id, FAILED):
                    await self.requests.fail(session, job, str(error))
                    await self._announce_progress(session, school_id, request)
                refused = True
            else:
                refused = False
        if refused:
            self._committed()
            return None
        return _Accepted(request, job, ready)

    async def _sign_group(
        self, school_id: str, batch_id: uuid.UUID, signer: uuid.UUID, group: list[_Accepted]
    ) -> None:
        first = group[0]
        try:
            tsa = self.requests.timestamp_authority()
        except Refused as problem:
            by_key = {str(a.request.request_id): a for a in group}
            await self._store(school_id, by_key, [BatchResult(key, None, str(problem)) for key in by_key])
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
        )
        documents = [
            BatchDocument(
                str(a.request.request_id),
                a.ready.base[1]
                if a.ready.base is not None
                else RenderYearRecord(a.request.record, a.ready.verification),
                reason=a.job.reason,
            )
            for a in group
        ]
        by_key = {str(a.request.request_id): a for a in group}
        loop = asyncio.get_running_loop()

        def store(results: list[BatchResult]) -> None:
            # Called on the signing thread: settle on the service's loop and wait for the commit.
            asyncio.run_coroutine_threadsafe(self._store(school_id, by_key, results), loop).result()

        signer_pool = BatchSigner(credentials, workers=self.workers, chunk_size=self.chunk_size)
        log.info("batch signing", batch_id=str(batch_id), documents=len(documents), workers=self.workers)
        await asyncio.to_thread(signer_pool.sign_all, documents, store=store)

    async def _store(self, school_id: str, by_key: dict[str, _Accepted], results: list[BatchResult]) -> None:
        # The files first (fsync each), so the transaction holds the write lock for milliseconds.
        digests = {r.key: await self.requests.store_file(r.pdf) for r in results if r.pdf is not None}
        async with self.db.transaction() as session:
            for result in results:
                accepted = by_key[result.key]
                state = COMPLETED if result.pdf is not None else FAILED
                if not await self.items.settle(session, accepted.request.request_id, state):
                    continue  # settled by another run meanwhile: never stored twice
                if result.pdf is None:
                    await self.requests.fail(session, accepted.job, result.error or "signing failed")
                else:
                    await self.requests.complete(
                        session, accepted.job, accepted.ready, result.pdf, digests[result.key]
                    )
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


class _RunChecks:
    """The checks one run makes once per signer and role (school, certificates, chains, CRLs),
    kept until the earliest CRL update or certificate end among them."""

    def __init__(self) -> None:
        self._signers: dict[tuple[str, uuid.UUID, str, bool], SignerReady] = {}

    async def signer(self, requests: SigningRequestService, session: AsyncSession, job: Job) -> SignerReady:
        key = (job.school_id, job.signer_user_id, job.signer_role, job.seal)
        ready = self._signers.get(key)
        if ready is None or datetime.now(UTC) >= ready.valid_until:
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


def _sha(certificate: Certificate | None) -> str:
    return certificate.sha256 if certificate is not None else ""
