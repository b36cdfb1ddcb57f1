"""The bare batch signer on step 4 of the year end: the engine rate the service is measured against.

``sign_year_end(records)`` runs the principal's step (principal signature, school seal, document
timestamp) on each record through ``BatchSigner`` alone — no services, broker or database — on a
fresh SoftHSM2 token and development CA in a temporary folder. The records are rendered and
signed by the homeroom teacher and the vice-principal first (not timed), so step 4 starts from
the same kind of file as in the service. ``make bench-yearend`` reports it as ``engine_sig_per_s``;
``python -m hbs_signing.batches.engine --count N`` prints it alone.
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing
import os
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from hbs_shared.records import YearRecordContent
from hbs_signing.batches.workers import (
    BatchCredentials,
    BatchDocument,
    BatchResult,
    BatchSigner,
    RenderYearRecord,
    SealCredentials,
)
from hbs_signing.devca import DevelopmentCA
from hbs_signing.documents.layout import RECORD_BOXES, RECORD_FIELDS, Verification
from hbs_signing.samples import year_record_content
from hbs_signing.token import Token, TokenConfig, ensure_softhsm_token

SOFTHSM_MODULE = "/usr/lib/softhsm/libsofthsm2.so"
SCHOOL = "Trường THPT Chuyên Thái Bình"
LOCATION = "Hưng Yên"
SIGNATURES_PER_RECORD = 3
"""Step 4's signature operations per record: the principal's, the seal's, the document timestamp."""

_SIGNERS = {
    "homeroom_teacher": ("Phạm Quốc Dũng", "Giáo viên chủ nhiệm"),
    "vice_principal": ("Lê Thị Thu Hà", "Phó Hiệu trưởng"),
    "principal": ("Trần Văn Minh", "Hiệu trưởng"),
    "seal": (SCHOOL, "Dấu của nhà trường"),
}


@dataclass(frozen=True)
class YearEndStats:
    """What one engine run of step 4 measured (wall time, worker start-up included)."""

    records: int
    signatures: int
    """Signature operations: ``SIGNATURES_PER_RECORD`` per signed record (timestamps included)."""
    seconds: float
    workers: int
    failed: int

    @property
    def signatures_per_s(self) -> float:
        return self.signatures / self.seconds if self.seconds > 0 else 0.0

    @property
    def records_per_s(self) -> float:
        return (self.records - self.failed) / self.seconds if self.seconds > 0 else 0.0


def sign_year_end(
    records: Sequence[YearRecordContent] | int,
    *,
    workers: int | None = None,
    folder: Path | None = None,
    keep: dict[str, bytes] | None = None,
) -> YearEndStats:
    """Step 4 (principal + seal + document timestamp) on each record through the bare batch
    signer; ``records`` are year records' contents, or a count of sample ones.

    Only step 4 is timed. ``workers``: signing processes (default one per core); ``folder``: where
    the token, CA and files go (a temporary folder by default); ``keep``: filled with the signed
    PDFs by record id, for checks. Blocking; call it from a thread in async code.
    """
    contents = (
        [year_record_content(name=f"Học sinh số {n + 1}") for n in range(records)]
        if isinstance(records, int)
        else list(records)
    )
    count = workers or os.cpu_count() or 1
    if folder is not None:
        return _run(contents, count, folder, keep)
    with tempfile.TemporaryDirectory(prefix="hbs-engine-") as tmp:
        return _run(contents, count, Path(tmp), keep)


def _run(
    contents: list[YearRecordContent], workers: int, folder: Path, keep: dict[str, bytes] | None
) -> YearEndStats:
    import asyncio

    # pyHanko warns on every document that fetching is off: the CRLs are preloaded on purpose.
    logging.getLogger("pyhanko").setLevel(logging.ERROR)
    config = TokenConfig(
        SOFTHSM_MODULE, "hbs-engine", "engine-pin-2468", "engine-so-1357", folder / "softhsm"
    )
    ensure_softhsm_token(config)
    ca = DevelopmentCA.load_or_create(folder / "devca", "http://127.0.0.1:9")
    certificates = asyncio.run(_certificates(config, ca))
    crl = ca.crl_der()

    def credentials(role: str, seal: bool = False) -> BatchCredentials:
        name, title = _SIGNERS[role]
        der = certificates[role]
        field = RECORD_FIELDS[role]
        return BatchCredentials(
            token=config,
            key_label=f"engine-{role}",
            certificate_der=der,
            chain_der=(ca.root_der,),
            validation_certificates=(der, ca.root_der, ca.tsa_certificate_der),
            crls=(crl,),
            field_name=field,
            signer_name=name,
            reason=f"{title} ký học bạ",
            location=LOCATION,
            stamp_box=RECORD_BOXES[field],
            seal=_seal(certificates["seal"], ca, crl) if seal else None,
            tsa_key_der=ca.tsa_key_der,
            tsa_certificate_der=ca.tsa_certificate_der,
        )

    # Untimed: render, then the homeroom teacher's and the vice-principal's signatures.
    verifications = [_verification(n) for n in range(len(contents))]
    first = _sign(
        credentials("homeroom_teacher"),
        workers,
        [
            BatchDocument(str(c.record_id), RenderYearRecord(c, v))
            for c, v in zip(contents, verifications, strict=True)
        ],
    )
    second = _sign(
        credentials("vice_principal"), workers, [BatchDocument(k, pdf) for k, pdf in first.items()]
    )

    # Timed: step 4, worker start-up (spawn, library load, login) included.
    documents = [BatchDocument(key, pdf) for key, pdf in second.items()]
    started = time.perf_counter()
    out: dict[str, bytes] = {}
    failed = _sign_into(credentials("principal", seal=True), workers, documents, out)
    seconds = time.perf_counter() - started
    if keep is not None:
        keep.update(out)
    return YearEndStats(
        records=len(documents),
        signatures=SIGNATURES_PER_RECORD * len(out),
        seconds=seconds,
        workers=workers,
        failed=failed,
    )


async def _certificates(config: TokenConfig, ca: DevelopmentCA) -> dict[str, bytes]:
    token = Token(config)
    await token.open()
    try:
        issued = {}
        for role, (name, title) in _SIGNERS.items():
            key = await token.ensure_rsa_key(f"engine-{role}")
            issued[role] = ca.issue(key, common_name=name, organisation=SCHOOL, role=title)
        return issued
    finally:
        await token.close()


def _seal(der: bytes, ca: DevelopmentCA, crl: bytes) -> SealCredentials:
    field = RECORD_FIELDS["seal"]
    return SealCredentials(
        key_label="engine-seal",
        certificate_der=der,
        chain_der=(ca.root_der,),
        validation_certificates=(der, ca.root_der, ca.tsa_certificate_der),
        crls=(crl,),
        signer_name=SCHOOL,
        reason=f"Đóng dấu {SCHOOL}",
        field_name=field,
        stamp_box=RECORD_BOXES[field],
    )


def _verification(n: int) -> Verification:
    code = f"E{n:09d}"
    return Verification(code, f"https://hocba.example.vn/verify/{code}")


def _sign(credentials: BatchCredentials, workers: int, documents: list[BatchDocument]) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    failed = _sign_into(credentials, workers, documents, out)
    if failed:
        raise RuntimeError(f"{failed} records could not be prepared for step 4")
    return out


def _sign_into(
    credentials: BatchCredentials, workers: int, documents: list[BatchDocument], out: dict[str, bytes]
) -> int:
    failures: list[BatchResult] = []

    def store(results: list[BatchResult]) -> None:
        for result in results:
            if result.pdf is None:
                failures.append(result)
            else:
                out[result.key] = result.pdf

    BatchSigner(credentials, workers=workers).sign_all(documents, store=store)
    return len(failures)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--count", type=int, default=200, help="records (default 200)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    options = parser.parse_args(argv)
    stats = sign_year_end(options.count, workers=options.workers)
    print(
        f"engine_records={stats.records} engine_failed={stats.failed} engine_seconds={stats.seconds:.2f} "
        f"engine_records_per_s={stats.records_per_s:.2f} engine_sig_per_s={stats.signatures_per_s:.2f}",
        flush=True,
    )


if __name__ == "__main__":
    multiprocessing.freeze_support()
    main()
