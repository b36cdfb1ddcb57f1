"""A production CA over HTTP: CRLs fetched from each certificate's distribution point (cached until
nextUpdate, checked against the issuer, hard-fail), RFC 3161 timestamps from HBS_SIGNING_TSA_URL,
and a chain through an intermediate CA. The CA runs as a separate uvicorn server on a free port."""

from __future__ import annotations

import asyncio
import hashlib
import socket
import subprocess
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from io import BytesIO
from pathlib import Path

import pytest
import uvicorn
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import async_validate_pdf_signature
from pyhanko_certvalidator import ValidationContext
from sqlalchemy import func, select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hbs_shared.db import Database
from hbs_shared.events.contracts import RecordSigningRequested
from hbs_signing.activations.service import ActivationScope, ActivationService
from hbs_signing.batches.service import BatchRunner
from hbs_signing.certificates.revocation import CrlFetcher
from hbs_signing.certificates.service import CertificateService, key_label_for
from hbs_signing.devca import DevelopmentCA
from hbs_signing.documents.store import DocumentStore
from hbs_signing.models import Certificate, SignedDocument, SigningRequest
from hbs_signing.requests.service import SigningRequestService
from hbs_signing.samples import year_record_content
from hbs_signing.token import Token, TokenConfig

pytestmark = [pytest.mark.db, pytest.mark.hsm]
SCHOOL = "thpt-pki"
PIN = "135790"


@dataclass
class Pki:
    """The CA's public side: /root/dev-ca/{crl,tsa} and /intermediate/dev-ca/crl over HTTP."""

    base_url: str
    folder: Path
    root: DevelopmentCA
    forger: DevelopmentCA
    cas: dict[str, DevelopmentCA] = field(default_factory=dict)
    """The CAs whose CRLs are served, by the first part of their path."""
    hits: Counter[str] = field(default_factory=Counter)
    crl_mode: str = "ok"  # "ok", "down" (HTTP 503) or "forged" (another CA's CRL)
    tsa_mode: str = "ok"

    @property
    def tsa_url(self) -> str:
        return self.root.tsa_url

    @property
    def intermediate(self) -> DevelopmentCA:
        return self.cas["intermediate"]

    def new_intermediate(self, name: str) -> DevelopmentCA:
        ca = self.root.issue_intermediate(
            self.folder / name, common_name=f"HBS CA cấp dưới {name}", public_url=f"{self.base_url}/{name}"
        )
        self.cas[name] = ca
        return ca


def _app(pki_box: list[Pki]) -> Starlette:
    async def crl(request: Request) -> Response:
        pki = pki_box[0]
        name = request.path_params["name"]
        pki.hits[f"crl:{name}"] += 1
        if pki.crl_mode == "down":
            return Response(status_code=503)
        ca = pki.forger if pki.crl_mode == "forged" else pki.cas[name]
        return Response(await asyncio.to_thread(ca.crl_der), media_type="application/pkix-crl")

    async def tsa(request: Request) -> Response:
        pki = pki_box[0]
        pki.hits["tsa"] += 1
        if pki.tsa_mode == "down":
            return Response(status_code=503)
        reply = await asyncio.to_thread(pki.root.timestamp_reply, await request.body())
        return Response(reply, media_type="application/timestamp-reply")

    return Starlette(
        routes=[
            Route("/{name}/dev-ca/crl", crl),
            Route("/root/dev-ca/tsa", tsa, methods=["POST"]),
        ]
    )


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pki]:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    base_url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    folder = tmp_path_factory.mktemp("pki")
    root = DevelopmentCA.load_or_create(folder / "root", f"{base_url}/root")
    box = [Pki(base_url, folder, root, DevelopmentCA.load_or_create(folder / "forger"), {"root": root})]
    box[0].new_intermediate("intermediate")
    server = uvicorn.Server(uvicorn.Config(_app(box), log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "the CA server did not start"
        time.sleep(0.05)
    yield box[0]
    server.should_exit = True
    thread.join(timeout=10)
    listener.close()


async def _production_service(token: Token, pki: Pki, tmp_path: Path) -> SigningRequestService:
    # The development CA is off: CRLs and timestamps can only come over HTTP.
    return SigningRequestService(
        token,
        CertificateService(token, None),
        DocumentStore(tmp_path / "documents"),
        None,
        activations=ActivationService(lifetime=timedelta(minutes=5)),
        trust_roots=[pki.root.root_certificate],
        revocation=CrlFetcher(timeout_seconds=5),
        tsa_url=pki.tsa_url,
    )


async def _teacher(
    db: Database, token: Token, service: SigningRequestService, issuer: DevelopmentCA
) -> tuple[uuid.UUID, int]:
    """A homeroom teacher whose certificate an intermediate CA issued (imported with its chain)."""
    user = uuid.uuid4()
    label = key_label_for(user)
    der = issuer.issue(
        await token.ensure_rsa_key(label), common_name="Phạm Quốc Dũng", organisation="Trường", role="GVCN"
    )
    parsed = x509.load_der_x509_certificate(der)
    assert service.activations is not None
    async with db.transaction() as session:
        session.add(
            Certificate(
                school_id=SCHOOL,
                user_id=user,
                key_label=label,
                subject_name="Phạm Quốc Dũng",
                role="homeroom_teacher",
                sha256=hashlib.sha256(der).hexdigest(),
                der=der,
                chain_pem=issuer.root_certificate.public_bytes(Encoding.PEM).decode(),
                not_before=parsed.not_valid_before_utc,
                not_after=parsed.not_valid_after_utc,
            )
        )
        await service.activations.set_pin(session, SCHOOL, user, PIN, None)
    return user, parsed.serial_number


async def _sign(db: Database, service: SigningRequestService, user: uuid.UUID) -> SigningRequest:
    from datetime import UTC, datetime

    record = year_record_content()
    assert service.activations is not None
    async with db.transaction() as session:
        activation = await service.activations.activate(
            session, SCHOOL, user, PIN, ActivationScope(frozenset({record.record_id}), None)
        )
    request = RecordSigningRequested(
        request_id=uuid.uuid4(),
        activation_id=activation.id,
        signer_user_id=user,
        signer_name="Phạm Quốc Dũng",
        signer_role="homeroom_teacher",
        record=record,
    )
    async with db.transaction() as session:
        await service.sign_record(session, SCHOOL, request, datetime.now(UTC))
    async with db.transaction() as session:
        handled = await session.get(SigningRequest, request.request_id)
    assert handled is not None
    return handled


def _pdfsig(pdf: bytes, path: Path) -> str:
    path.write_bytes(pdf)
    return subprocess.run(["pdfsig", str(path)], capture_output=True, text=True, check=False).stdout


async def test_crls_and_timestamps_come_over_http_through_an_intermediate(
    signing_db: Database, token: Token, pki: Pki, tmp_path: Path
) -> None:
    service = await _production_service(token, pki, tmp_path)
    user, _ = await _teacher(signing_db, token, service, pki.intermediate)
    before = pki.hits.copy()

    first = await _sign(signing_db, service, user)
    assert first.outcome == "completed", first.reason
    # Each link's CRL was fetched once (the leaf's from the intermediate, the intermediate's from
    # the root) and one timestamp was asked for.
    assert pki.hits - before == Counter({"crl:intermediate": 1, "crl:root": 1, "tsa": 1})

    async with signing_db.transaction() as session:
        document = await session.get(SignedDocument, first.document_id)
    assert document is not None
    pdf = service.store.get(document.sha256)
    reader = PdfFileReader(BytesIO(pdf))
    dss = reader.root["/DSS"]
    assert len(dss["/CRLs"]) == 2
    assert len(dss["/Certs"]) == 3  # the signer, the intermediate, the root
    status = await async_validate_pdf_signature(
        reader.embedded_signatures[0],
        ValidationContext(trust_roots=[asn1_x509.Certificate.load(pki.root.root_der)]),
    )
    assert status.bottom_line, status.pretty_print_details()
    assert status.timestamp_validity is not None
    assert status.timestamp_validity.trusted
    report = await asyncio.to_thread(_pdfsig, pdf, tmp_path / "signed.pdf")
    assert "Signature is Valid" in report
    assert "Total document signed" in report

    # The CRLs are kept until their nextUpdate: the second signature fetches only a timestamp.
    second = await _sign(signing_db, service, user)
    assert second.outcome == "completed", second.reason
    assert pki.hits - before == Counter({"crl:intermediate": 1, "crl:root": 1, "tsa": 2})


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("crl_down", "cannot be obtained"),
        ("crl_forged", "not signed by the issuer"),
        ("tsa_down", "timestamp authority"),
        ("leaf_revoked", "was revoked on"),
        ("intermediate_revoked", "was revoked on"),
        ("chain_missing", "does not chain to the configured trusted root"),
    ],
)
async def test_without_revocation_status_or_timestamp_nothing_is_signed(
    signing_db: Database, token: Token, pki: Pki, tmp_path: Path, case: str, reason: str
) -> None:
    service = await _production_service(token, pki, tmp_path)
    # A revoked intermediate stays revoked: that case gets its own.
    issuer = pki.new_intermediate("revoked-ca") if case == "intermediate_revoked" else pki.intermediate
    user, serial = await _teacher(signing_db, token, service, issuer)
    pki.crl_mode = {"crl_down": "down", "crl_forged": "forged"}.get(case, "ok")
    pki.tsa_mode = "down" if case == "tsa_down" else "ok"
    if case == "leaf_revoked":
        pki.intermediate.revoke(serial, "key_compromise")
    if case == "intermediate_revoked":
        pki.root.revoke(issuer.root_certificate.serial_number, "ca_compromise")
    if case == "chain_missing":
        async with signing_db.transaction() as session:
            stored = (
                await session.execute(select(Certificate).where(Certificate.user_id == user))
            ).scalar_one()
            stored.chain_pem = None
    try:
        handled = await _sign(signing_db, service, user)
    finally:
        pki.crl_mode = pki.tsa_mode = "ok"
    assert handled.outcome == "failed"
    assert handled.reason is not None
    assert reason in handled.reason
    async with signing_db.transaction() as session:
        stored_documents = (await session.execute(select(func.count()).select_from(SignedDocument))).scalar()
    assert stored_documents == 0


async def test_a_batch_under_a_production_ca_timestamps_over_http_from_the_workers(
    signing_db: Database, token: Token, token_config: TokenConfig, pki: Pki, tmp_path: Path
) -> None:
    from datetime import UTC, datetime

    service = await _production_service(token, pki, tmp_path)
    user, _ = await _teacher(signing_db, token, service, pki.intermediate)
    batch_id = uuid.uuid4()
    assert service.activations is not None
    async with signing_db.transaction() as session:
        activation = await service.activations.activate(
            session, SCHOOL, user, PIN, ActivationScope(frozenset(), batch_id)
        )
    runner = BatchRunner(signing_db, service, token_config, workers=2, chunk_size=1)
    requests = [
        RecordSigningRequested(
            request_id=uuid.uuid4(),
            activation_id=activation.id,
            batch_id=batch_id,
            signer_user_id=user,
            signer_name="Phạm Quốc Dũng",
            signer_role="homeroom_teacher",
            record=year_record_content(name=f"Học sinh {n}"),
        )
        for n in range(3)
    ]
    async with signing_db.transaction() as session:
        for request in requests:
            await runner.enqueue(session, SCHOOL, request, datetime.now(UTC))
    before = pki.hits.copy()

    assert await runner.run_once() == 3

    # Every document got its own timestamp over HTTP; the CRLs were fetched once for all three.
    assert pki.hits - before == Counter({"crl:intermediate": 1, "crl:root": 1, "tsa": 3})
    trust = ValidationContext(trust_roots=[asn1_x509.Certificate.load(pki.root.root_der)])
    for request in requests:
        async with signing_db.transaction() as session:
            handled = await session.get(SigningRequest, request.request_id)
            assert handled is not None
            assert handled.outcome == "completed", handled.reason
            document = await session.get(SignedDocument, handled.document_id)
        assert document is not None
        reader = PdfFileReader(BytesIO(service.store.get(document.sha256)))
        assert len(reader.root["/DSS"]["/CRLs"]) == 2
        status = await async_validate_pdf_signature(reader.embedded_signatures[0], trust)
        assert status.bottom_line, status.pretty_print_details()
        assert status.timestamp_validity is not None
        assert status.timestamp_validity.trusted
