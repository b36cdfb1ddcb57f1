"""`python -m hbs_signing.bench` (make bench-signing): the batch path against pyHanko's library
and pyHanko's CLI, all at the same signature level (PAdES B-LT with an RFC 3161 timestamp).

Everything runs here, on a fresh SoftHSM2 token and development CA in a temporary folder: the
year records are generated and rendered first (rendering is not timed against signing), then
signed three ways. The CLI needs its timestamp authority and CRL over HTTP, so the development
CA is served on a local port for the run. The last line is exactly:
batch_docs_per_s=<a> library_docs_per_s=<b> cli_docs_per_s=<c> raw_rsa_per_s=<d>
batch_vs_library=<a/b> batch_vs_cli=<a/c>
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import BytesIO
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization

from hbs_signing.batches.workers import (
    BatchCredentials,
    BatchDocument,
    BatchJournal,
    BatchResult,
    BatchSigner,
)
from hbs_signing.devca import DevelopmentCA
from hbs_signing.documents.layout import RECORD_BOXES, RECORD_FIELDS, Verification, render_year_record
from hbs_signing.samples import year_record_content
from hbs_signing.token import Token, TokenConfig, ensure_softhsm_token
from hbs_signing.token import bench as baselines

SOFTHSM_MODULE = "/usr/lib/softhsm/libsofthsm2.so"
KEY_LABEL = "u-bench-homeroom"
SIGNER = "Phạm Quốc Dũng"
FIELD = RECORD_FIELDS["homeroom_teacher"]
REASON = "Giáo viên chủ nhiệm ký học bạ"


def _render(index: int) -> bytes:
    code = f"B{index:09d}"
    record = year_record_content(name=f"Học sinh số {index + 1}")
    return render_year_record(record, Verification(code, f"https://hocba.example.vn/verify/{code}"))


def _serve_ca(ca_box: list[DevelopmentCA]) -> tuple[ThreadingHTTPServer, str]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            return

        def do_GET(self) -> None:
            if self.path != "/dev-ca/crl":
                self.send_error(404)
                return
            body = ca_box[0].crl_der()
            self.send_response(200)
            self.send_header("Content-Type", "application/pkix-crl")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            if self.path != "/dev-ca/tsa":
                self.send_error(404)
                return
            request = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            body = ca_box[0].timestamp_reply(request)
            self.send_response(200)
            self.send_header("Content-Type", "application/timestamp-reply")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


async def _check(pdf: bytes, root_der: bytes, folder: Path, name: str) -> None:
    """Every path's output must be a valid B-LT signature (pyHanko and poppler agree)."""
    from asn1crypto import x509 as asn1_x509
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import async_validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    reader = PdfFileReader(BytesIO(pdf))
    signature = reader.embedded_signatures[0]
    status: Any = await async_validate_pdf_signature(
        signature, ValidationContext(trust_roots=[asn1_x509.Certificate.load(root_der)])
    )
    if not (status.bottom_line and status.timestamp_validity is not None and "/DSS" in reader.root):
        raise SystemExit(
            f"{name}: the output is not a valid B-LT signature:\n{status.pretty_print_details()}"
        )
    path = folder / f"check-{name}.pdf"
    path.write_bytes(pdf)
    command = ["pdfsig", str(path)]
    done = await asyncio.to_thread(subprocess.run, command, capture_output=True, text=True, check=False)
    report = done.stdout
    if "Signature is Valid" not in report:
        raise SystemExit(f"{name}: pdfsig does not accept the output:\n{report}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--count", type=int, default=1000, help="year records to sign (default 1000)")
    parser.add_argument("--cli-count", type=int, default=20, help="documents through the CLI (default 20)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    options = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="hbs-bench-") as tmp:
        asyncio.run(_run(Path(tmp), options.count, options.cli_count, options.workers))


async def _run(folder: Path, count: int, cli_count: int, workers: int) -> None:
    import logging

    # pyHanko warns on every document that fetching is off: the CRLs are preloaded on purpose.
    logging.getLogger("pyhanko").setLevel(logging.ERROR)

    def say(text: str) -> None:
        print(text, flush=True)

    config = TokenConfig(SOFTHSM_MODULE, "hbs-bench", "bench-pin-2468", "bench-so-1357", folder / "softhsm")
    ensure_softhsm_token(config)
    ca_box: list[DevelopmentCA] = []
    server, base_url = _serve_ca(ca_box)
    ca = DevelopmentCA.load_or_create(folder / "devca", base_url)
    ca_box.append(ca)
    token = Token(config)
    await token.open()
    try:
        certificate = ca.issue(
            await token.ensure_rsa_key(KEY_LABEL),
            common_name=SIGNER,
            organisation="Trường THPT Chuyên Thái Bình",
            role="Giáo viên chủ nhiệm",
        )
        crl = ca.crl_der()

        started = time.perf_counter()
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            documents = list(pool.map(_render, range(count), chunksize=16))
        say(f"rendered {count} year records in {time.perf_counter() - started:.1f} s (not part of the rates)")

        # 1. The service's batch path: worker processes, each with its own token session.
        credentials = BatchCredentials(
            token=config,
            key_label=KEY_LABEL,
            certificate_der=certificate,
            chain_der=(ca.root_der,),
            tsa_key_der=ca.tsa_key_der,
            tsa_certificate_der=ca.tsa_certificate_der,
            validation_certificates=(certificate, ca.root_der, ca.tsa_certificate_der),
            crls=(crl,),
            field_name=FIELD,
            signer_name=SIGNER,
            reason=REASON,
            location="Hưng Yên",
            stamp_box=RECORD_BOXES[FIELD],
        )
        batch_out: dict[str, bytes] = {}
        journal = BatchJournal(folder / "batch.journal")
        signer = BatchSigner(credentials, workers=workers)
        # Worker start-up (spawn, library load, login) is part of the batch's time.
        started = time.perf_counter()
        signer.sign_all(
            (BatchDocument(str(i), pdf) for i, pdf in enumerate(documents)),
            journal=journal,
            store=lambda results: batch_out.update((r.key, _signed(r)) for r in results),
            progress=lambda n: say(f"  batch: {n}/{count}") if n % 250 < signer.chunk_size else None,
        )
        batch_rate = count / (time.perf_counter() - started)
        journal.close()
        await _check(batch_out["0"], ca.root_der, folder, "batch")
        say(f"batch path ({workers} workers): {batch_rate:.1f} documents/s")

        # 2. A plain loop over pyHanko's library with default settings.
        from asn1crypto import crl as asn1_crl
        from asn1crypto import x509 as asn1_x509
        from pyhanko_certvalidator import ValidationContext

        timestamper = ca.timestamper()
        started = time.perf_counter()
        first = b""
        for pdf in documents:
            context = ValidationContext(
                trust_roots=[asn1_x509.Certificate.load(ca.root_der)],
                other_certs=[asn1_x509.Certificate.load(ca.tsa_certificate_der)],
                crls=[asn1_crl.CertificateList.load(crl)],
                allow_fetching=False,
                revocation_mode="hard-fail",
            )
            signed = await baselines.sign_pdf_library_defaults(
                token,
                pdf,
                key_label=KEY_LABEL,
                signing_cert_der=certificate,
                chain_der=[ca.root_der],
                field_name=FIELD,
                timestamper=timestamper,
                validation_context=context,
            )
            first = first or signed
        library_rate = count / (time.perf_counter() - started)
        await _check(first, ca.root_der, folder, "library")
        say(f"pyHanko library loop: {library_rate:.1f} documents/s")

        # 3. One pyHanko CLI process per document.
        (folder / "signer.pem").write_bytes(_pem(certificate))
        (folder / "root.pem").write_bytes(ca.root_pem)
        (folder / "pyhanko.yml").write_text(
            "pkcs11-setups:\n"
            "  bench:\n"
            f"    module-path: {SOFTHSM_MODULE}\n"
            f"    token-criteria:\n      label: {config.token_label}\n"
            f"    key-label: {KEY_LABEL}\n"
            f"    signing-certificate: {folder / 'signer.pem'}\n"
            f'    user-pin: "{config.pin}"\n'
        )
        cli = [sys.executable, "-m", "pyhanko", "--config", str(folder / "pyhanko.yml"), "sign", "addsig"]
        cli += ["--field", FIELD, "--use-pades", "--with-validation-info", "--timestamp-url", ca.tsa_url]
        cli += ["--trust", str(folder / "root.pem"), "--trust-replace", "pkcs11", "--p11-setup", "bench"]
        started = time.perf_counter()
        for index in range(min(cli_count, count)):
            source, target = folder / f"in-{index}.pdf", folder / f"out-{index}.pdf"
            source.write_bytes(documents[index])
            done = await asyncio.to_thread(
                subprocess.run, [*cli, str(source), str(target)], capture_output=True, text=True, check=False
            )
            if done.returncode != 0:
                raise SystemExit(f"pyhanko CLI failed: {done.stderr.strip()[-2000:]}")
        cli_rate = min(cli_count, count) / (time.perf_counter() - started)
        await _check((folder / "out-0.pdf").read_bytes(), ca.root_der, folder, "cli")
        say(f"pyHanko CLI, one process per document: {cli_rate:.2f} documents/s")

        raw_rate = await baselines.raw_sign_rate(token, KEY_LABEL, 2.0)
        say(f"token raw RSA-2048 signatures: {raw_rate:.0f}/s (one process)")
    finally:
        await token.close()
        server.shutdown()
    print(
        f"batch_docs_per_s={batch_rate:.2f} library_docs_per_s={library_rate:.2f} "
        f"cli_docs_per_s={cli_rate:.2f} raw_rsa_per_s={raw_rate:.0f} "
        f"batch_vs_library={batch_rate / library_rate:.2f} batch_vs_cli={batch_rate / cli_rate:.2f}",
        flush=True,
    )


def _signed(result: BatchResult) -> bytes:
    if result.pdf is None:
        raise SystemExit(f"the batch path could not sign document {result.key}: {result.error}")
    return result.pdf


def _pem(der: bytes) -> bytes:
    from cryptography import x509

    return x509.load_der_x509_certificate(der).public_bytes(serialization.Encoding.PEM)


if __name__ == "__main__":
    main()
