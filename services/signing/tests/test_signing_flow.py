"""Signing requests end to end at the service level: activation, checks, B-LT, the seal, refusals."""

from __future__ import annotations

import re
import subprocess
import uuid
from datetime import UTC, datetime, timedelta
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from pyhanko.pdf_utils.reader import PdfFileReader
from sqlalchemy import select

from hbs_shared.db import Database
from hbs_shared.events.contracts import (
    RecordSigningRequested,
    SheetSigningRequested,
    SheetSigningRequestedV2,
)
from hbs_shared.messaging.tables import outbox
from hbs_signing.activations.service import ActivationScope
from hbs_signing.devca import DevelopmentCA
from hbs_signing.models import Certificate, SignedDocument, SigningRequest
from hbs_signing.requests.service import SigningRequestService
from hbs_signing.samples import score_sheet_content, year_record_content
from hbs_signing.verification.expectation import expectation_for
from hbs_signing.verification.service import Verifier

pytestmark = [pytest.mark.db, pytest.mark.hsm]
PIN = "246810"
SCHOOL = "thpt-test"


def pdfsig(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / f"{uuid.uuid4().hex}.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdfsig", str(path)], capture_output=True, text=True, check=False).stdout


async def activation_for(
    service: SigningRequestService, db: Database, user: uuid.UUID, subjects: list[uuid.UUID]
) -> uuid.UUID:
    assert service.activations is not None
    async with db.transaction() as session:
        if (await service.activations.has_pin(session, SCHOOL, user))["set"] is False:
            await service.activations.set_pin(session, SCHOOL, user, PIN, None)
    async with db.transaction() as session:
        activation = await service.activations.activate(
            session, SCHOOL, user, PIN, ActivationScope(frozenset(subjects), None)
        )
        return activation.id


async def outcome(db: Database, request_id: uuid.UUID) -> SigningRequest:
    async with db.transaction() as session:
        found = await session.get(SigningRequest, request_id)
    assert found is not None
    return found


async def document_of(
    db: Database, service: SigningRequestService, request_id: uuid.UUID
) -> tuple[SignedDocument, bytes]:
    handled = await outcome(db, request_id)
    assert handled.outcome == "completed", handled.reason
    async with db.transaction() as session:
        document = await session.get(SignedDocument, handled.document_id)
    assert document is not None
    return document, service.store.get(document.sha256)


async def verify(
    db: Database, dev_ca: DevelopmentCA, service: SigningRequestService, pdf: bytes
) -> dict[str, Any]:
    import hashlib

    verifier = Verifier(service.store, [dev_ca.root_certificate], dev_ca)
    async with db.transaction() as session:
        document = await service.documents.by_sha256(session, hashlib.sha256(pdf).hexdigest())
        expectation = await expectation_for(session, document) if document is not None else None
    import asyncio

    return await asyncio.to_thread(verifier.verify, pdf, expectation)


def v1_request(user: uuid.UUID, sheet: uuid.UUID | None = None) -> SheetSigningRequested:
    return SheetSigningRequested(
        request_id=uuid.uuid4(),
        sheet_id=sheet or uuid.uuid4(),
        sheet_version=1,
        signer_user_id=user,
        signer_name="Nguyễn Thị Hoa",
        signer_role="subject_teacher",
        class_name="10A1",
        subject="Toán",
        term="Học kỳ I",
        school_year="2025-2026",
    )


def record_request(
    record: Any, user: uuid.UUID, name: str, role: Any, activation: uuid.UUID, base: uuid.UUID | None
) -> RecordSigningRequested:
    return RecordSigningRequested(
        request_id=uuid.uuid4(),
        activation_id=activation,
        signer_user_id=user,
        signer_name=name,
        signer_role=role,
        base_document_id=base,
        record=record,
    )


async def test_v1_sheet_is_signed_b_lt_and_validates_everywhere(
    signing_db: Database, signing_service: SigningRequestService, dev_ca: DevelopmentCA, tmp_path: Path
) -> None:
    request = v1_request(uuid.uuid4())
    async with signing_db.transaction() as session:
        await signing_service.sign_sheet(session, SCHOOL, request)
    # Delivered twice: signs once.
    async with signing_db.transaction() as session:
        await signing_service.sign_sheet(session, SCHOOL, request)

    _document, pdf = await document_of(signing_db, signing_service, request.request_id)
    reader = PdfFileReader(BytesIO(pdf))
    assert len(reader.embedded_signatures) == 1
    assert "/DSS" in reader.root, "B-LT: validation data embedded"
    dss = reader.root["/DSS"]
    assert len(dss["/CRLs"]) >= 1
    assert len(dss["/Certs"]) >= 3
    report = pdfsig(pdf, tmp_path)
    assert "Signature is Valid" in report
    assert "Total document signed" in report
    verified = await verify(signing_db, dev_ca, signing_service, pdf)
    assert verified["verdict"] == "valid", __import__("json").dumps(verified, indent=1, default=str)
    (signature,) = verified["signatures"]
    assert signature["signing_time_source"] == "timestamp"
    assert signature["revocation_at_signing_time"] == "good"
    assert signature["signer"] == "Nguyễn Thị Hoa"
    assert verified["document"]["status"] == "current"
    async with signing_db.transaction() as session:
        rows = (await session.execute(select(outbox.c.event_type))).scalars().all()
        bodies = (await session.execute(select(outbox.c.body))).scalars().all()
    assert rows == ["signing.completed"]
    # The reply says it is a sheet's, so grades routes it without looking the id up.
    assert [(b["version"], b["payload"]["subject_kind"]) for b in bodies] == [(2, "sheet")]


async def test_v2_sheet_needs_the_signers_activation(
    signing_db: Database, signing_service: SigningRequestService, dev_ca: DevelopmentCA, tmp_path: Path
) -> None:
    teacher, other = uuid.uuid4(), uuid.uuid4()
    sheet = score_sheet_content()
    now = datetime.now(UTC)
    others = await activation_for(signing_service, signing_db, other, [sheet.sheet_id])
    own_elsewhere = await activation_for(signing_service, signing_db, teacher, [uuid.uuid4()])
    own = await activation_for(signing_service, signing_db, teacher, [sheet.sheet_id])
    cases = [
        (uuid.uuid4(), now, "not found"),
        (others, now, "another user"),
        (own_elsewhere, now, "does not cover"),
        (own, now + timedelta(minutes=6), "expired"),
        (own, now, None),
    ]
    for activation, requested_at, refusal in cases:
        request = SheetSigningRequestedV2(
            request_id=uuid.uuid4(),
            activation_id=activation,
            signer_user_id=teacher,
            signer_name="Nguyễn Thị Hoa",
            signer_role="subject_teacher",
            sheet=sheet,
        )
        async with signing_db.transaction() as session:
            await signing_service.sign_sheet_v2(session, SCHOOL, request, requested_at)
        handled = await outcome(signing_db, request.request_id)
        if refusal is None:
            assert handled.outcome == "completed", handled.reason
        else:
            assert handled.outcome == "failed"
            assert handled.reason is not None
            assert refusal in handled.reason
    _document, pdf = await document_of(signing_db, signing_service, request.request_id)
    report = pdfsig(pdf, tmp_path)
    assert "Signature is Valid" in report
    assert "Total document signed" in report
    assert len(PdfFileReader(BytesIO(pdf)).embedded_signatures) == 1
    assert (await verify(signing_db, dev_ca, signing_service, pdf))["verdict"] == "valid"
    async with signing_db.transaction() as session:
        failed = (
            await session.execute(select(outbox.c.event_type).where(outbox.c.event_type == "signing.failed"))
        ).all()
    assert len(failed) == 4


async def test_year_record_three_signatures_then_seal_b_lta_and_closed(
    signing_db: Database, signing_service: SigningRequestService, dev_ca: DevelopmentCA, tmp_path: Path
) -> None:
    record = year_record_content()
    people = [
        (uuid.uuid4(), "Phạm Quốc Dũng", "homeroom_teacher"),
        (uuid.uuid4(), "Lê Thị Thu Hà", "vice_principal"),
        (uuid.uuid4(), "Trần Văn Minh", "principal"),
    ]
    base: uuid.UUID | None = None
    versions: list[bytes] = []
    for user, name, role in people:
        activation = await activation_for(signing_service, signing_db, user, [record.record_id])
        request = record_request(record, user, name, role, activation, base)
        async with signing_db.transaction() as session:
            await signing_service.sign_record(session, SCHOOL, request, datetime.now(UTC))
        document, pdf = await document_of(signing_db, signing_service, request.request_id)
        if versions:
            assert pdf.startswith(versions[-1]), "incremental: the earlier version is untouched"
        versions.append(pdf)
        base = document.id
    assert document.sealed
    assert document.signature_count == 4
    reader = PdfFileReader(BytesIO(versions[-1]))
    kinds = [(s.field_name, s.sig_object_type) for s in reader.embedded_signatures]
    assert kinds == [
        ("Sig1_GVCN", "/Sig"),
        ("Sig2_PHT", "/Sig"),
        ("Sig3_HT", "/Sig"),
        ("Sig4_DauTruong", "/Sig"),
        (kinds[4][0], "/DocTimeStamp"),
    ]
    verified = await verify(signing_db, dev_ca, signing_service, versions[-1])
    assert verified["verdict"] == "valid", __import__("json").dumps(verified, indent=1, default=str)
    assert [s["role"] for s in verified["signatures"][:4]] == [
        "homeroom_teacher",
        "vice_principal",
        "principal",
        "seal",
    ]
    assert verified["document"]["status"] == "current"
    report = pdfsig(versions[-1], tmp_path)
    assert len(re.findall(r"Signature is Valid", report)) >= 4, report
    # Every earlier version still verifies on its own, and is reported superseded.
    earlier = await verify(signing_db, dev_ca, signing_service, versions[0])
    assert earlier["verdict"] == "valid"
    assert earlier["document"]["status"] == "superseded"
    # Sealed at the PDF level too: a signature forced in behind the service's back is flagged.
    forced_key = await signing_service.token.ensure_rsa_key("u-forced")
    forced_cert = dev_ca.issue(forced_key, common_name="Kẻ giả mạo", organisation="X", role="principal")
    forced = await signing_service.token.sign_pdf(
        versions[-1],
        key_label="u-forced",
        signing_cert_der=forced_cert,
        chain_der=[dev_ca.root_der],
        field_name="Sig5_Extra",
        signer_name="Kẻ giả mạo",
        reason="thêm chữ ký",
        location="Hà Nội",
    )
    from asn1crypto import x509 as asn1_x509
    from pyhanko.sign.validation import async_validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    seal_field = PdfFileReader(BytesIO(forced)).embedded_signatures[3]
    assert seal_field.field_name == "Sig4_DauTruong"
    seal_status = await async_validate_pdf_signature(
        seal_field, ValidationContext(trust_roots=[asn1_x509.Certificate.load(dev_ca.root_der)])
    )
    assert seal_status.docmdp_ok is False
    assert not seal_status.bottom_line
    forced_report = await verify(signing_db, dev_ca, signing_service, forced)
    assert forced_report["verdict"] == "invalid"
    # Sealed: a further signature is refused.
    late = uuid.uuid4()
    activation = await activation_for(signing_service, signing_db, late, [record.record_id])
    request = record_request(record, late, "Người khác", "principal", activation, base)
    async with signing_db.transaction() as session:
        await signing_service.sign_record(session, SCHOOL, request, datetime.now(UTC))
    handled = await outcome(signing_db, request.request_id)
    assert handled.outcome == "failed"
    assert handled.reason is not None
    assert "sealed" in handled.reason


async def test_out_of_order_and_seal_only_requests_are_refused(
    signing_db: Database, signing_service: SigningRequestService
) -> None:
    record = year_record_content()
    user = uuid.uuid4()
    activation = await activation_for(signing_service, signing_db, user, [record.record_id])
    for role, reason in (("principal", "earlier signed document"), ("seal", "does not sign a year record")):
        request = record_request(record, user, "Trần Văn Minh", role, activation, None)
        async with signing_db.transaction() as session:
            await signing_service.sign_record(session, SCHOOL, request, datetime.now(UTC))
        handled = await outcome(signing_db, request.request_id)
        assert handled.outcome == "failed"
        assert handled.reason is not None
        assert reason in handled.reason


async def _issue_for(
    signing_db: Database,
    dev_ca: DevelopmentCA,
    signing_service: SigningRequestService,
    user: uuid.UUID,
    **kw: Any,
) -> Certificate:
    from hbs_signing.certificates.service import key_label_for

    label = key_label_for(user)
    der = dev_ca.issue(
        await signing_service.token.ensure_rsa_key(label),
        common_name="Nguyễn Thị Hoa",
        organisation="Trường",
        role="subject_teacher",
        **kw,
    )
    parsed = x509.load_der_x509_certificate(der)
    import hashlib

    certificate = Certificate(
        school_id=SCHOOL,
        user_id=user,
        key_label=label,
        subject_name="Nguyễn Thị Hoa",
        role="subject_teacher",
        sha256=hashlib.sha256(der).hexdigest(),
        der=der,
        # Stored as usable now, so that only the check before signing can stop it.
        not_before=datetime.now(UTC) - timedelta(days=1),
        not_after=datetime.now(UTC) + timedelta(days=1),
    )
    assert parsed.serial_number
    async with signing_db.transaction() as session:
        session.add(certificate)
    return certificate


async def test_revoked_and_expired_certificates_are_refused_with_the_reason(
    signing_db: Database, signing_service: SigningRequestService, dev_ca: DevelopmentCA
) -> None:
    revoked_user, expired_user = uuid.uuid4(), uuid.uuid4()
    revoked = await _issue_for(signing_db, dev_ca, signing_service, revoked_user)
    dev_ca.revoke(x509.load_der_x509_certificate(revoked.der).serial_number, "keyCompromise")
    await _issue_for(
        signing_db,
        dev_ca,
        signing_service,
        expired_user,
        valid_from=datetime.now(UTC) - timedelta(days=40),
        days=30,
    )
    for user, reason in ((revoked_user, "was revoked on"), (expired_user, "expired on")):
        request = v1_request(user)
        async with signing_db.transaction() as session:
            await signing_service.sign_sheet(session, SCHOOL, request)
        handled = await outcome(signing_db, request.request_id)
        assert handled.outcome == "failed"
        assert handled.reason is not None
        assert reason in handled.reason, handled.reason
    crl = x509.load_der_x509_crl(dev_ca.crl_der())
    assert crl.get_revoked_certificate_by_serial_number(
        x509.load_der_x509_certificate(revoked.der).serial_number
    )


async def test_a_request_without_activation_is_refused_and_signs_nothing(
    signing_db: Database, signing_service: SigningRequestService
) -> None:
    request = v1_request(uuid.uuid4())
    async with signing_db.transaction() as session:
        await signing_service.refuse_without_activation(session, SCHOOL, request)
    handled = await outcome(signing_db, request.request_id)
    assert handled.outcome == "failed"
    assert handled.reason is not None
    assert "activation" in handled.reason
    assert handled.document_id is None
