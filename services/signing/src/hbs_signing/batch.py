"""The batch path: thousands of documents for one activated signer, in worker processes.

PKCS#11 login is per process and python-pkcs11 must not be called from two threads, so each
worker is its own process (start method ``spawn``: no PKCS#11 state is inherited) holding its
own logged-in token session, opened once. Each worker signs exactly like the service does
(``Token._sign_pdf``: B-LT with the in-process timestamp authority and the validation data in the
same revision; reserved signature space, so no dry run).

Crash safety: ``BatchJournal`` records each finished document (its key and the SHA-256 of the
signed file) as soon as it comes back, flushed to disk; a restarted batch skips every key in the
journal, so no document is signed into the result twice. A document that was being signed when
the process died is signed again; its earlier, unrecorded result was never stored or announced.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hbs_signing.token import LongTermData, SignatureOptions, Token, TokenConfig


@dataclass(frozen=True)
class BatchCredentials:
    """Everything a worker needs, picklable. The TSA key is the development CA's (in-process TSA)."""

    token: TokenConfig
    key_label: str
    certificate_der: bytes
    chain_der: tuple[bytes, ...]
    tsa_key_der: bytes
    tsa_certificate_der: bytes
    validation_certificates: tuple[bytes, ...]
    crls: tuple[bytes, ...]
    field_name: str
    signer_name: str
    reason: str
    location: str
    stamp_box: tuple[int, int, int, int] | None = None


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


def _init_worker(credentials: BatchCredentials) -> None:
    from hbs_signing.devca import InProcessTimeStamper

    token = Token(credentials.token)
    token._open()  # this process's own session; every call below stays on this one thread
    _worker["token"] = token
    _worker["credentials"] = credentials
    long_term = LongTermData(
        timestamper=InProcessTimeStamper.from_der(credentials.tsa_certificate_der, credentials.tsa_key_der),
        certificates=credentials.validation_certificates,
        crls=credentials.crls,
    )
    # Key lookup, certificate/key match and parsing the DSS data: once per worker, not per document.
    _worker["prepared"] = token._prepare_signer(
        credentials.key_label, credentials.certificate_der, list(credentials.chain_der), long_term
    )


def _sign_chunk(chunk: list[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
    from hbs_signing.token import _nfc, _SignatureText

    token: Token = _worker["token"]
    credentials: BatchCredentials = _worker["credentials"]
    text = _SignatureText(_nfc(credentials.signer_name), _nfc(credentials.reason), _nfc(credentials.location))
    out = []
    for key, pdf in chunk:
        signed = token._sign_prepared(
            pdf,
            _worker["prepared"],
            credentials.field_name,
            text,
            SignatureOptions(stamp_box=credentials.stamp_box),
        )
        out.append((key, signed))
    return out


def _chunks(items: Iterable[tuple[str, bytes]], size: int) -> Iterator[list[tuple[str, bytes]]]:
    chunk: list[tuple[str, bytes]] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


class BatchSigner:
    """A pool of signing processes, each with its own token session, for one signer's batch."""

    def __init__(
        self, credentials: BatchCredentials, *, workers: int | None = None, chunk_size: int = 8
    ) -> None:
        self.credentials = credentials
        self.workers = workers or os.cpu_count() or 1
        self.chunk_size = chunk_size

    def sign_all(
        self,
        items: Iterable[tuple[str, bytes]],
        *,
        journal: BatchJournal,
        store: Callable[[str, bytes], None],
        progress: Callable[[int], None] | None = None,
    ) -> int:
        """Sign every (key, pdf) not yet in the journal; ``store`` each result, then journal it."""
        pending = ((key, pdf) for key, pdf in items if key not in journal.done)
        context = multiprocessing.get_context("spawn")
        signed = 0
        with ProcessPoolExecutor(
            self.workers, mp_context=context, initializer=_init_worker, initargs=(self.credentials,)
        ) as pool:
            chunks = _chunks(pending, self.chunk_size)
            running: set[Future[list[tuple[str, bytes]]]] = set()
            # Keep each worker busy with two chunks in flight; never load the whole batch in memory.
            for chunk in chunks:
                running.add(pool.submit(_sign_chunk, chunk))
                if len(running) >= 2 * self.workers:
                    break
            while running:
                finished, running = wait(running, return_when=FIRST_COMPLETED)
                for future in finished:
                    results = future.result()
                    entries = []
                    for key, pdf in results:
                        store(key, pdf)
                        entries.append((key, hashlib.sha256(pdf).hexdigest()))
                    journal.record(entries)
                    signed += len(results)
                    if progress is not None:
                        progress(signed)
                    following = next(chunks, None)
                    if following is not None:
                        running.add(pool.submit(_sign_chunk, following))
        return signed
