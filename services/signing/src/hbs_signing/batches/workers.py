"""The batch path: thousands of documents for one activated signer, in worker processes.

PKCS#11 login is per process and python-pkcs11 must not be called from two threads, so each
worker is its own process (start method ``spawn``: no PKCS#11 state is inherited) holding its
own logged-in token session, opened once, and each signer it is handed prepared once (key found,
certificate matched, validation data parsed) on that signer's first chunk: the service starts its
pool ahead of a batch, at the activation, before it knows whose documents come. Each worker
signs exactly like the service does (B-LT with the in-process timestamp authority and the
validation data in the same revision; reserved signature space, so no dry run), rendering a
first signature's year record itself.

Crash safety: the service stores each finished chunk and marks its requests done in one
transaction (``batches.service``); standalone runs (the bench) use ``BatchJournal``, which
records each finished document (its key and the SHA-256 of the signed file) as soon as it comes
back, flushed to disk. Either way a restarted batch skips what was recorded, so no document is
stored or announced twice. A document that was being signed when the process died is signed
again; its earlier, unrecorded result was never stored or announced.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import pickle
import signal
import sys
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

from asn1crypto import crl as asn1_crl
from asn1crypto import x509 as asn1_x509
from pyhanko.sign.timestamps.api import TimeStamper

from hbs_shared.records import YearRecordContent
from hbs_signing.documents.layout import Verification
from hbs_signing.documents.store import DocumentStore
from hbs_signing.token import (
    LongTermData,
    PreparedSigner,
    SignatureCountMismatch,
    SignatureOptions,
    SignatureText,
    Token,
    TokenConfig,
    TokenError,
    nfc,
)


@dataclass(frozen=True)
class SealCredentials:
    """The school seal added after each signature (the principal's step): its own key and
    organisation certificate; the seal locks the document and gets a document timestamp (B-LTA)."""

    key_label: str
    certificate_der: bytes
    chain_der: tuple[bytes, ...]
    validation_certificates: tuple[bytes, ...]
    crls: tuple[bytes, ...]
    signer_name: str
    reason: str
    field_name: str
    stamp_box: tuple[int, int, int, int] | None = None


@dataclass(frozen=True)
class BatchCredentials:
    """Everything a worker needs, picklable.

    Timestamps come from the development CA's TSA key in-process (``tsa_key_der`` and
    ``tsa_certificate_der``) or from a production TSA over HTTP (``tsa_url``), called from the
    worker's own loop.
    """

    token: TokenConfig
    key_label: str
    certificate_der: bytes
    chain_der: tuple[bytes, ...]
    validation_certificates: tuple[bytes, ...]
    crls: tuple[bytes, ...]
    field_name: str
    signer_name: str
    reason: str
    location: str
    stamp_box: tuple[int, int, int, int] | None = None
    seal: SealCredentials | None = None
    tsa_key_der: bytes | None = None
    tsa_certificate_der: bytes | None = None
    tsa_url: str | None = None
    store_root: Path | None = None
    """The service's document store: the worker reads each base PDF from it and writes each signed
    one into it (fsync'd), so the service's own process neither moves nor hashes the files. None
    (the bench): the signed PDF comes back in the result."""


@dataclass(frozen=True)
class StoredPdf:
    """A later signature's base: the signed version in the document store, by its SHA-256 (the
    worker checks the file against it)."""

    sha256: str


@dataclass(frozen=True)
class RenderYearRecord:
    """A first signature's document, rendered in the worker (rendering costs more than signing)."""

    record: YearRecordContent
    verification: Verification


@dataclass(frozen=True)
class BatchDocument:
    """What a worker signs: an existing PDF (a later signature) or a year record to render first."""

    key: str
    source: bytes | StoredPdf | RenderYearRecord
    reason: str | None = None
    """This document's reason, when it differs from the batch's (the class is named in it)."""
    signatures: int | None = None
    """The signatures an existing PDF must carry (its record's count), checked as it is signed."""


@dataclass(frozen=True)
class BatchResult:
    """One document's outcome: the signed PDF (or, with a store, its SHA-256 and size there), or
    why it could not be signed (that one only)."""

    key: str
    pdf: bytes | None
    error: str | None = None
    sha256: str | None = None
    size: int = 0

    @property
    def signed(self) -> bool:
        return self.error is None and (self.pdf is not None or self.sha256 is not None)


class BatchJournal:
    """Append-only record of finished documents (one JSON line each), fsync'd per chunk."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.done: dict[str, str] = {}
        if path.exists():
            for line in path.read_text().splitlines():
                try:
                    entry = json.loads(line)
                except json.JSONDecodeError:
                    continue  # a line cut by a crash: that document is simply signed again
                self.done[str(entry["key"])] = str(entry["sha256"])
        self._handle = path.open("a")

    def record(self, entries: list[tuple[str, str]]) -> None:
        for key, digest in entries:
            self._handle.write(json.dumps({"key": key, "sha256": digest}) + "\n")
            self.done[key] = digest
        self._handle.flush()
        os.fsync(self._handle.fileno())

    def close(self) -> None:
        self._handle.close()


_worker: dict[str, Any] = {}
_Der = TypeVar("_Der", asn1_x509.Certificate, asn1_crl.CertificateList)


def _timestamper(credentials: BatchCredentials) -> TimeStamper:
    from hbs_signing.devca import InProcessTimeStamper
    from hbs_signing.timestamps import HttpTimeStamper

    if credentials.tsa_url:
        return HttpTimeStamper(credentials.tsa_url)
    if credentials.tsa_key_der is None or credentials.tsa_certificate_der is None:
        raise TokenError("a batch needs a timestamp authority (B-LT): neither a TSA URL nor a TSA key")
    return InProcessTimeStamper.from_der(credentials.tsa_certificate_der, credentials.tsa_key_der)


OPEN_TRIES = 5
"""A worker that cannot open the token tries again this often (backing off) before giving up."""


def _die_with_parent(parent_pid: int) -> None:
    """A worker must not outlive the service that started it (a `kill -9` of the service left
    its workers signing on, 110 MiB each): the kernel kills it when its parent goes. (Strictly,
    when the thread that spawned it ends: ``sign_all``'s thread, which outlives its pool.)"""
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent_pid:
        os._exit(1)  # the parent died before the line above took effect


def _open_token(config: TokenConfig) -> Token:
    """This process's own session, retried: one failed start must not fail (and later re-sign)
    the documents other workers already signed (`no token labelled …` once, with no fault)."""
    for attempt in range(1, OPEN_TRIES + 1):
        token = Token(config)
        try:
            token._open()
            return token
        except TokenError:
            if attempt == OPEN_TRIES:
                raise
            time.sleep(0.2 * 2**attempt)
    raise AssertionError("unreachable")


def _init_worker(token: TokenConfig, parent_pid: int | None = None) -> None:
    """A worker for any signer of this token: logged in once; each signer it is handed is
    prepared on its first chunk (``_signer``), so the pool can start before the batch is known."""
    if parent_pid is not None:
        _die_with_parent(parent_pid)
    if token.softhsm_dir is not None:
        # This token's own folder, not whatever the parent's environment points at by now
        # (another token's set-up in the same process changes SOFTHSM2_CONF).
        os.environ["SOFTHSM2_CONF"] = str(token.softhsm_dir.resolve() / "softhsm2.conf")
    _worker["token"] = _open_token(token)  # every call below stays on this one thread
    _worker["signers"] = OrderedDict()


@dataclass(frozen=True)
class _Signer:
    """One signer's credentials as a worker uses them, prepared once per worker."""

    credentials: BatchCredentials
    prepared: PreparedSigner
    seal: PreparedSigner | None
    store: DocumentStore | None


SIGNERS_KEPT = 8
"""Signers a worker keeps prepared (step 2 hands it a homeroom teacher per class)."""


def _signer(digest: str, blob: bytes) -> _Signer:
    """The prepared signer of these pickled credentials (this service's own pickle)."""
    signers: OrderedDict[str, _Signer] = _worker["signers"]
    found = signers.get(digest)
    if found is not None:
        signers.move_to_end(digest)
        return found
    credentials: BatchCredentials = pickle.loads(blob)  # noqa: S301 — made by our parent process
    found = _prepare(_worker["token"], credentials)
    signers[digest] = found
    while len(signers) > SIGNERS_KEPT:
        signers.popitem(last=False)
    return found


def _prepare(token: Token, credentials: BatchCredentials) -> _Signer:
    timestamper = _timestamper(credentials)
    # Key lookup, certificate/key match and parsing the DSS data: once per worker, not per document.
    prepared = token._prepare_signer(
        credentials.key_label,
        credentials.certificate_der,
        list(credentials.chain_der),
        LongTermData(timestamper, credentials.validation_certificates, credentials.crls),
    )
    store = DocumentStore(credentials.store_root) if credentials.store_root is not None else None
    seal = credentials.seal
    if seal is None:
        return _Signer(credentials, prepared, None, store)
    sealer = token._prepare_signer(
        seal.key_label,
        seal.certificate_der,
        list(seal.chain_der),
        LongTermData(timestamper, seal.validation_certificates, seal.crls, archive_timestamp=True),
    )
    # One DSS update per record: the principal's revision carries the seal's chain and CRLs
    # too, so the seal's revision (which covers it) adds none and re-reads no DSS.
    principal = replace(
        prepared,
        dss_certificates=_unique(prepared.dss_certificates + sealer.dss_certificates),
        dss_crls=_unique(prepared.dss_crls + sealer.dss_crls),
    )
    return _Signer(credentials, principal, replace(sealer, dss_certificates=(), dss_crls=()), store)


def _unique(items: tuple[_Der, ...]) -> tuple[_Der, ...]:
    return tuple({item.dump(): item for item in items}.values())


def _sign_chunk(digest: str, blob: bytes, chunk: list[BatchDocument]) -> list[BatchResult]:
    from hbs_signing.documents.layout import render_year_record

    token: Token = _worker["token"]
    signer = _signer(digest, blob)
    credentials, store = signer.credentials, signer.store
    location = nfc(credentials.location)
    options = SignatureOptions(stamp_box=credentials.stamp_box)
    out = []
    for document in chunk:
        key, source = document.key, document.source
        text = SignatureText(
            nfc(credentials.signer_name), nfc(document.reason or credentials.reason), location
        )
        try:
            if isinstance(source, StoredPdf):
                if store is None:
                    raise OSError("no document store to read the base document from")
                pdf = store.get(source.sha256)  # checked against its SHA-256
            elif isinstance(source, bytes):
                pdf = source
            else:
                pdf = render_year_record(source.record, source.verification)
            signed = token._sign_prepared(
                pdf, signer.prepared, credentials.field_name, text, options, document.signatures
            )
            seal = credentials.seal
            if seal is not None and signer.seal is not None:
                seal_text = SignatureText(nfc(seal.signer_name), nfc(seal.reason), location)
                seal_options = SignatureOptions(stamp_box=seal.stamp_box, lock_document=True)
                signed = token._sign_prepared(signed, signer.seal, seal.field_name, seal_text, seal_options)
        except (TokenError, SignatureCountMismatch) as error:
            out.append(BatchResult(key, None, str(error)))
            continue
        except OSError as error:  # a base file missing or changed in the store: that one only
            out.append(BatchResult(key, None, f"the base document cannot be read: {error}"))
            continue
        except Exception as error:  # one unrenderable record must not stop the others
            out.append(BatchResult(key, None, f"cannot prepare the document: {error}"))
            continue
        if store is None:
            out.append(BatchResult(key, signed))
        else:
            # Written (fsync'd) before the service settles it; an unsettled file is only an orphan.
            out.append(BatchResult(key, None, sha256=store.put(signed), size=len(signed)))
    return out


def _chunks(items: Iterable[BatchDocument], size: int) -> Iterator[list[BatchDocument]]:
    chunk: list[BatchDocument] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _ready() -> bool:
    return True


class WorkerPool:
    """Signing processes of one token, each logged in, for any signer's batch.

    Started ahead of a batch (at its activation) the pool is ready when the first documents
    arrive; a worker prepares each signer it is handed on that signer's first chunk."""

    def __init__(self, token: TokenConfig, workers: int | None = None) -> None:
        self.token = token
        self.workers = workers or os.cpu_count() or 1
        self._executor: ProcessPoolExecutor | None = None
        self._started = False

    def executor(self) -> ProcessPoolExecutor:
        """The processes, spawned as work is submitted when the pool was not started."""
        if self._executor is None:
            self._executor = ProcessPoolExecutor(
                self.workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_init_worker,
                initargs=(self.token, os.getpid()),
            )
        return self._executor

    def start(self) -> None:
        """Start every worker now (blocking until each is logged in), kept until ``close()``.

        Call it on a thread that lives as long as the pool: the workers die with the thread
        that started them (``_die_with_parent``)."""
        if self._started:
            return
        executor = self.executor()
        try:
            # Each submit finds no idle worker and starts one; waiting on them means logged in.
            for ready in [executor.submit(_ready) for _ in range(self.workers)]:
                ready.result()
        except BaseException:
            self._executor = None
            executor.shutdown(wait=False, cancel_futures=True)
            raise
        self._started = True

    @property
    def started(self) -> bool:
        return self._started

    def close(self) -> None:
        executor, self._executor, self._started = self._executor, None, False
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)


class BatchSigner:
    """One signer's batch, signed in worker processes each with its own token session.

    Given a started ``WorkerPool`` (the service keeps one for several runs and signers: starting
    a worker — a new interpreter, the PDF libraries, the token's login — costs seconds), it signs
    there and leaves the pool open; ``start()`` makes it a pool of its own, kept until ``close()``.
    Otherwise each ``sign_all`` has a pool of its own."""

    def __init__(
        self,
        credentials: BatchCredentials,
        *,
        workers: int | None = None,
        chunk_size: int = 8,
        pool: WorkerPool | None = None,
    ) -> None:
        if pool is not None and pool.token != credentials.token:
            raise ValueError("the worker pool is logged in to another token")
        self.credentials = credentials
        self.workers = pool.workers if pool is not None else workers or os.cpu_count() or 1
        self.chunk_size = chunk_size
        self._pool = pool
        # Pickled once: each chunk carries these bytes, a worker unpickles them once.
        self._blob = pickle.dumps(credentials)
        self._digest = hashlib.sha256(self._blob).hexdigest()

    def start(self) -> None:
        """A pool of this signer's own, started now (see ``WorkerPool.start``)."""
        if self._pool is None:
            self._pool = WorkerPool(self.credentials.token, self.workers)
        self._pool.start()

    @property
    def started(self) -> bool:
        return self._pool is not None and self._pool.started

    def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.close()

    def sign_all(
        self,
        items: Iterable[BatchDocument],
        *,
        store: Callable[[list[BatchResult]], None],
        journal: BatchJournal | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> int:
        """Sign every document whose key is not yet in the journal; ``store`` each finished chunk, then
        journal its signed documents. Returns how many documents came back (signed or failed).

        Blocking: the service calls it in a thread. A worker that dies breaks the pool
        (BrokenProcessPool, and a started pool is closed); whatever was not stored is simply
        signed on the next run.
        """
        pool = self._pool
        if pool is not None and pool.started:
            try:
                return self._sign_all(pool.executor(), items, store, journal, progress)
            except BrokenProcessPool:
                pool.close()
                raise
        own = WorkerPool(self.credentials.token, self.workers)
        try:
            return self._sign_all(own.executor(), items, store, journal, progress)
        finally:
            own.close()

    def _sign_all(
        self,
        pool: ProcessPoolExecutor,
        items: Iterable[BatchDocument],
        store: Callable[[list[BatchResult]], None],
        journal: BatchJournal | None,
        progress: Callable[[int], None] | None,
    ) -> int:
        done = journal.done if journal is not None else {}
        pending = (item for item in items if item.key not in done)
        finished_count = 0
        chunks = _chunks(pending, self.chunk_size)
        running: set[Future[list[BatchResult]]] = set()
        try:
            # Keep each worker busy with two chunks in flight; never load the whole batch in memory.
            for chunk in chunks:
                running.add(pool.submit(_sign_chunk, self._digest, self._blob, chunk))
                if len(running) >= 2 * self.workers:
                    break
            while running:
                finished, running = wait(running, return_when=FIRST_COMPLETED)
                for future in finished:
                    results = future.result()
                    store(results)
                    if journal is not None:
                        journal.record(
                            [(r.key, hashlib.sha256(r.pdf).hexdigest()) for r in results if r.pdf is not None]
                        )
                    finished_count += len(results)
                    if progress is not None:
                        progress(finished_count)
                    following = next(chunks, None)
                    if following is not None:
                        running.add(pool.submit(_sign_chunk, self._digest, self._blob, following))
        finally:
            # Stopped early (a failed store): a kept pool must not go on with this call's chunks.
            for future in running:
                future.cancel()
        return finished_count
