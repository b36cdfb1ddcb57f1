"""Verification catches tampering: flipped bytes, unsigned updates, swapped pages, truncation."""

from __future__ import annotations

import asyncio
import hashlib
import random
import uuid
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader

from hbs_shared.db import Database
from hbs_shared.events.contracts import RecordSigningRequested, SheetSigningRequestedV2
from hbs_signing.activations.service import ActivationScope
from hbs_signing.devca import DevelopmentCA
from hbs_signing.models import SignedDocument, SigningRequest
from hbs_signing.requests.service import SigningRequestService
from hbs_signing.samples import score_sheet_content, year_record_content
from hbs_signing.verification.expectation import expectation_for
from hbs_signing.verification.identify import identify
from hbs_signing.verification.service import Verifier, der_length

pytestmark = [pytest.mark.db, pytest.mark.hsm]
SCHOOL = "thpt-test"
PIN = "135790"


class Signed:
    def __init__(self, db: Database, service: SigningRequestService, ca: DevelopmentCA) -> None:
        self.db, self.service, self.ca = db, service, ca

    async def activation(self, user: uuid.UUID, subject: uuid.UUID) -> uuid.UUID:
        activations = self.service.activations
        assert activations is not None
        async with self.db.transaction() as session:
            if not (await activations.has_pin(session, SCHOOL, user))["set"]:
                await activations.set_pin(session, SCHOOL, user, PIN, None)
        async with self.db.transaction() as session:
            return (
                await activations.activate(
                    session, SCHOOL, user, PIN, ActivationScope(frozenset([subject]), None)
                )
            ).id

    async def document(self, request_id: uuid.UUID) -> tuple[SignedDocument, bytes]:
        async with self.db.transaction() as session:
            handled = await session.get(SigningRequest, request_id)
            assert handled is not None
            assert handled.outcome == "completed", handled.reason
            document = await session.get(SignedDocument, handled.document_id)
        assert document is not None
        return document, self.service.store.get(document.sha256)

    async def verify(self, pdf: bytes) -> dict[str, Any]:
        """As the upload endpoint does (the examination in a thread here, not a child)."""
        verifier = Verifier(self.service.store, [self.ca.root_certificate], self.ca)
        examination = await asyncio.to_thread(verifier.examine, pdf)
        async with self.db.transaction() as session:
            found = await identify(session, self.service.store, pdf, examination)
            document = found.document
            expectation = await expectation_for(session, document) if document is not None else None
        return verifier.judge(examination, expectation, found.relation)


@pytest.fixture
def signed(signing_db: Database, signing_service: SigningRequestService, dev_ca: DevelopmentCA) -> Signed:
    return Signed(signing_db, signing_service, dev_ca)


async def sheet_pdf(signed: Signed, rows: int = 45) -> bytes:
    teacher = uuid.uuid4()
    sheet = score_sheet_content(rows)
    request = SheetSigningRequestedV2(
        request_id=uuid.uuid4(),
        activation_id=await signed.activation(teacher, sheet.sheet_id),
        signer_user_id=teacher,
        signer_name="Nguyễn Thị Hoa",
        signer_role="subject_teacher",
        sheet=sheet,
    )
    async with signed.db.transaction() as session:
        await signed.service.sign_sheet_v2(session, SCHOOL, request, datetime.now(UTC))
    return (await signed.document(request.request_id))[1]


async def sealed_record(signed: Signed) -> list[bytes]:
    record = year_record_content()
    base = None
    versions = []
    for name, role in (
        ("Phạm Quốc Dũng", "homeroom_teacher"),
        ("Lê Thị Thu Hà", "vice_principal"),
        ("Trần Văn Minh", "principal"),
    ):
        user = uuid.uuid4()
        request = RecordSigningRequested(
            request_id=uuid.uuid4(),
            activation_id=await signed.activation(user, record.record_id),
            signer_user_id=user,
            signer_name=name,
            signer_role=role,  # type: ignore[arg-type]
            base_document_id=base,
            record=record,
        )
        async with signed.db.transaction() as session:
            await signed.service.sign_record(session, SCHOOL, request, datetime.now(UTC))
        document, pdf = await signed.document(request.request_id)
        base = document.id
        versions.append(pdf)
    return versions


async def test_flipping_any_byte_is_detected(signed: Signed) -> None:
    pdf = await sheet_pdf(signed, rows=5)
    assert (await signed.verify(pdf))["verdict"] == "valid"
    reader = PdfFileReader(BytesIO(pdf))
    signature = reader.embedded_signatures[0]
    byte_range = [int(v) for v in signature.sig_object["/ByteRange"]]
    start = byte_range[0] + byte_range[1] + 1  # after "<"
    contents = bytes(signature.sig_object["/Contents"])
    in_padding = start + 2 * der_length(contents) + 10  # a hex digit of the zero padding
    rng = random.Random(5)
    positions = sorted({*(rng.randrange(len(pdf)) for _ in range(24)), in_padding, start + 40, len(pdf) - 3})
    for position in positions:
        tampered = bytearray(pdf)
        tampered[position] ^= 0x01
        report = await signed.verify(bytes(tampered))
        assert report["verdict"] != "valid", f"byte {position} flipped went unnoticed"


async def test_an_unsigned_update_after_the_signature_is_detected(signed: Signed) -> None:
    pdf = await sheet_pdf(signed, rows=5)
    writer = IncrementalPdfFileWriter(BytesIO(pdf))
    info = writer.root  # change the document catalog: any unsigned change
    info["/Lang"] = generic.TextStringObject("en")
    writer.update_root()
    out = BytesIO()
    writer.write(out)
    report = await signed.verify(out.getvalue())
    assert report["verdict"] == "invalid"
    assert any("changed after its last signature" in p for s in report["signatures"] for p in s["problems"])


async def test_swapping_pages_is_detected(signed: Signed) -> None:
    pdf = await sheet_pdf(signed, rows=45)
    reader = PdfFileReader(BytesIO(pdf))
    assert int(reader.root["/Pages"]["/Count"]) >= 2
    writer = IncrementalPdfFileWriter(BytesIO(pdf))
    pages = writer.root["/Pages"]
    kids = pages["/Kids"]
    kids[0], kids[1] = kids[1], kids[0]
    writer.update_container(pages)
    out = BytesIO()
    writer.write(out)
    report = await signed.verify(out.getvalue())
    assert report["verdict"] == "invalid"


async def test_cutting_the_sealed_record_short_is_detected(signed: Signed) -> None:
    versions = await sealed_record(signed)
    final = versions[-1]
    assert (await signed.verify(final))["verdict"] == "valid"
    # Cut before the archive timestamp, and before the seal: only valid signatures remain.
    ends = [i + len(b"%%EOF") for i in range(len(final)) if final.startswith(b"%%EOF", i)]
    superseded = earlier = 0
    for end in ends[:-1]:
        cut = final[: end + 1] if final[end : end + 1] == b"\n" else final[:end]
        report = await signed.verify(cut)
        if cut in versions:
            # An earlier version is exactly what was stored: genuine, but not current.
            assert report["document"]["status"] == "superseded"
            assert report["document"]["relation"] == "exact"
            superseded += 1
        elif report["verdict"] == "invalid":
            # Cut before any signature, or between a signature and its own revision's end.
            problems = [*report["problems"], *(p for s in report["signatures"] for p in s["problems"])]
            assert "the file carries no signature" in problems or (
                "the file was changed after its last signature" in problems
            ), (end, problems)
        else:
            # The start of the sealed version, cut after one of its signatures (a viewer's
            # "signed version"): named as such, never valid.
            assert report["verdict"] == "indeterminate", (end, report["problems"])
            assert report["document"]["relation"] == "earlier_revision"
            assert report["document"]["version_sha256"] == hashlib.sha256(final).hexdigest()
            carried = report["file"]["signatures"]
            assert f"it carries {carried} of its 4 signatures" in " ".join(report["problems"])
            earlier += 1
    assert superseded == 2
    assert earlier >= 1


async def test_validation_data_added_after_the_seal_is_accepted_as_pades_allows(signed: Signed) -> None:
    """An archive adds a DSS update after signing (B-LT/LTA): it was called "changed after its
    last signature" and "not issued by this service" (issue 13)."""
    from asn1crypto import x509 as asn1_x509
    from cryptography.hazmat.primitives.serialization import Encoding
    from pyhanko.sign.validation import DocumentSecurityStore

    final = (await sealed_record(signed))[-1]
    root = asn1_x509.Certificate.load(signed.ca.root_certificate.public_bytes(Encoding.DER))
    out = BytesIO(final)
    await asyncio.to_thread(DocumentSecurityStore.add_dss, out, None, certs=[root], force_write=True)
    archived = out.getvalue()
    assert len(archived) > len(final)
    assert archived.startswith(final)

    report = await signed.verify(archived)
    assert report["verdict"] == "valid", (report["problems"], [s["problems"] for s in report["signatures"]])
    assert report["document"]["relation"] == "archived"
    assert report["document"]["version_sha256"] == hashlib.sha256(final).hexdigest()
    assert report["file"] == {"signatures": 4, "document_timestamps": 1}

    # Anything else appended after the seal is still a change.
    writer = IncrementalPdfFileWriter(BytesIO(archived))
    writer.root["/Lang"] = generic.TextStringObject("en")
    writer.update_root()
    changed = BytesIO()
    writer.write(changed)
    assert (await signed.verify(changed.getvalue()))["verdict"] == "invalid"


async def test_a_signature_added_to_an_issued_version_is_named_and_refused(
    signed: Signed, tmp_path: Path
) -> None:
    from pyhanko.sign import signers

    pdf = await sheet_pdf(signed, rows=5)
    DevelopmentCA.load_or_create(tmp_path)
    signer = signers.SimpleSigner.load(str(tmp_path / "root-key.pem"), str(tmp_path / "root-cert.pem"))
    assert signer is not None
    out = await asyncio.to_thread(  # pyHanko's sync API runs its own event loop
        signers.sign_pdf,
        IncrementalPdfFileWriter(BytesIO(pdf)),
        signers.PdfSignatureMetadata(field_name="Sig9_Them"),
        signer=signer,
    )
    report = await signed.verify(out.getvalue())
    assert report["verdict"] == "invalid"
    assert report["document"]["relation"] == "added_to"
    assert report["file"]["signatures"] == 2
    assert any("signatures were added after the issued version" in p for p in report["problems"])


async def test_a_b_lt_record_still_verifies_after_its_crls_and_certificates_expire(signed: Signed) -> None:
    from datetime import timedelta

    final = (await sealed_record(signed))[-1]
    verifier = Verifier(signed.service.store, [signed.ca.root_certificate], signed.ca)
    async with signed.db.transaction() as session:
        document = await signed.service.documents.by_sha256(session, hashlib.sha256(final).hexdigest())
        assert document is not None
        expectation = await expectation_for(session, document)
    later = datetime.now(UTC) + timedelta(days=400)  # past the 365-day certificates and 1-day CRLs
    report = await asyncio.to_thread(verifier.verify, final, expectation, now=later)
    assert report["verdict"] == "valid", [
        (s["field"], s["problems"], s["signing_time_source"]) for s in report["signatures"]
    ]
    assert {s["revocation_at_signing_time"] for s in report["signatures"]} == {"good"}
