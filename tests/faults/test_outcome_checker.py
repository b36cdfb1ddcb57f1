"""The fault tests' checker must be able to fail: broken outcomes built by hand (a record sealed
twice, a count that differs, a stuck request, a PDF whose one signer signs two roles, a PDF whose
signed bytes changed) are each found, and a sound one passes. No stack: milliseconds."""

from __future__ import annotations

import datetime
import functools
import hashlib
import io
import tempfile
import uuid
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from fpdf import FPDF
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import signers

from hbs_devtools.faults import KINDS, FaultPlan
from hbs_devtools.outcome import Document, Record, Sheet, Snapshot, judge, pdf_problems, read_pdf


@functools.cache
def _signer(name: str) -> signers.SimpleSigner:
    """A made-up signer (self-signed RSA certificate), made once per name."""
    folder = Path(tempfile.mkdtemp(prefix="hbs-faults-"))
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    (folder / f"{name}.key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    (folder / f"{name}.crt").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    signer = signers.SimpleSigner.load(str(folder / f"{name}.key"), str(folder / f"{name}.crt"))
    assert signer is not None
    return signer


def _signed(by: list[tuple[str, signers.SimpleSigner]]) -> bytes:
    pdf = FPDF()
    pdf.add_page()
    content = bytes(pdf.output())
    for field, signer in by:
        out = io.BytesIO()
        signers.sign_pdf(
            IncrementalPdfFileWriter(io.BytesIO(content)),
            signers.PdfSignatureMetadata(field_name=field),
            signer=signer,
            output=out,
        )
        content = out.getvalue()
    return content


def test_a_pdf_whose_one_signer_signs_two_roles_is_found() -> None:
    teacher, vice = _signer("teacher"), _signer("vice")
    sound = read_pdf(_signed([("Sig1_GVCN", teacher), ("Sig2_PHT", vice)]))
    assert sound.fields == ("Sig1_GVCN", "Sig2_PHT")
    assert pdf_problems(sound, ("Sig1_GVCN", "Sig2_PHT"), sealed=False) == []

    twice = read_pdf(_signed([("Sig1_GVCN", teacher), ("Sig2_PHT", teacher)]))
    problems = pdf_problems(twice, ("Sig1_GVCN", "Sig2_PHT"), sealed=False)
    assert problems == ["role signed twice: one certificate signed Sig1_GVCN, Sig2_PHT"]
    extra = pdf_problems(sound, ("Sig1_GVCN",), sealed=False)
    assert extra == ["signature fields ['Sig1_GVCN', 'Sig2_PHT'], expected ['Sig1_GVCN']"]
    assert pdf_problems(sound, ("Sig1_GVCN", "Sig2_PHT"), sealed=True) == [
        "0 document timestamps, expected 1"
    ]


def test_a_pdf_changed_under_its_signature_is_found() -> None:
    content = _signed([("Sig1_GVCN", _signer("teacher"))])
    # A byte inside the signed range (the PDF header's comment line), not in /Contents.
    at = content.index(b"%PDF-") + 6
    forged = content[:at] + bytes([content[at] ^ 1]) + content[at + 1 :]
    assert read_pdf(forged).broken == ("Sig1_GVCN",)
    assert read_pdf(content).broken == ()


def _id() -> str:
    return uuid.uuid4().hex


@functools.cache
def _stand_ins() -> tuple[bytes, list[bytes]]:
    """A signed sheet and a record after steps 2, 3 and 4, signed with made-up certificates (made
    once: signing is the slow part); what the checker reads from them is the same as from ours."""
    people = [_signer(n) for n in ("teacher", "homeroom", "vice", "principal", "seal")]
    fields = ("Sig1_GVCN", "Sig2_PHT", "Sig3_HT", "Sig4_DauTruong")
    records = [_signed(list(zip(fields[:n], people[1 : n + 1], strict=True))) for n in (1, 2, 4)]
    return _signed([("Sig1_GVBM", people[0])]), records


@pytest.fixture
def sound() -> tuple[Snapshot, dict[str, bytes]]:
    """One class's outcome as it should be: a signed sheet, a sealed record, three record
    documents (homeroom, vice-principal, principal), every outbox empty."""
    sheet_pdf, record_pdfs = _stand_ins()
    pdfs = {hashlib.sha256(p).hexdigest(): p for p in (sheet_pdf, *record_pdfs)}
    sheet_id, record_id = _id(), _id()
    documents = [
        Document(
            _id(), hashlib.sha256(sheet_pdf).hexdigest(), "score_sheet", sheet_id, "subject_teacher", 1, False
        )
    ]
    for role, pdf, count in zip(
        ("homeroom_teacher", "vice_principal", "principal"), record_pdfs, (1, 2, 4), strict=True
    ):
        documents.append(
            Document(
                _id(),
                hashlib.sha256(pdf).hexdigest(),
                "year_record",
                record_id,
                role,
                count,
                role == "principal",
            )
        )
    snapshot = Snapshot(
        sheets=[Sheet(sheet_id, "10A", "signed", documents[0].id, documents[0].sha256)],
        records=[Record(record_id, "10A", "approved", documents[-1].id, documents[-1].sha256, True)],
        documents=documents,
        open_batch_items=0,
        retaken_batch_items=0,
        unsent={"grades": 0, "signing": 0},
    )
    return snapshot, pdfs


def _judge(snapshot: Snapshot, pdfs: dict[str, bytes]) -> list[str]:
    outcome = judge(snapshot, lambda sha: pdfs[sha])
    # The stand-in PDFs carry no document timestamp: that one expected finding is not under test.
    return [p for p in outcome.problems(100) if "document timestamps" not in p]


def test_a_sound_outcome_passes(sound: tuple[Snapshot, dict[str, bytes]]) -> None:
    snapshot, pdfs = sound
    assert _judge(snapshot, pdfs) == []
    assert judge(snapshot, lambda sha: pdfs[sha]).counts["records_sealed"] == 1


def test_a_record_sealed_twice_is_a_duplicate(sound: tuple[Snapshot, dict[str, bytes]]) -> None:
    snapshot, pdfs = sound
    again = replace(snapshot.documents[-1], id=_id())
    snapshot.documents.append(again)
    found = _judge(snapshot, pdfs)
    record = snapshot.records[0].id
    assert f"duplicated: principal signed {record} 2 times (stored documents)" in found
    assert f"duplicated: record {record} sealed 2 times" in found
    assert "mismatched: grades has 1 records approved, signing 2 sealed" in found


def test_a_record_grades_lost_and_a_stuck_queue_are_found(sound: tuple[Snapshot, dict[str, bytes]]) -> None:
    snapshot, pdfs = sound
    snapshot.records[0] = replace(snapshot.records[0], state="signing_principal")
    snapshot.open_batch_items, snapshot.unsent["grades"] = 3, 2
    found = _judge(snapshot, pdfs)
    record = snapshot.records[0].id
    assert f"lost: record {record} (10A) is signing_principal" in found
    assert f"stuck: record {record} (10A) still signing_principal" in found
    assert "stuck: 3 batch requests still pending in signing" in found
    assert "stuck: 2 events unsent in grades's outbox" in found
    assert "mismatched: grades has 0 records approved, signing 1 sealed" in found


def test_a_sheet_signing_never_stored_is_lost(sound: tuple[Snapshot, dict[str, bytes]]) -> None:
    snapshot, pdfs = sound
    del snapshot.documents[0]
    found = _judge(snapshot, pdfs)
    sheet = snapshot.sheets[0]
    assert f"lost: sheet {sheet.id}: document {sheet.document_id} is not in signing" in found
    assert "mismatched: grades has 1 sheets signed, signing 0 sheet documents" in found


def test_the_plan_is_drawn_from_its_seed() -> None:
    plan = FaultPlan.make(12, 24)
    assert plan == FaultPlan.make(12, 24)
    assert plan != FaultPlan.make(13, 24)
    assert len(plan.faults) == 24
    assert {f.kind for f in plan.faults} == set(KINDS)
    assert all(f.step in (2, 3, 4) for f in plan.faults if f.kind == "kill_worker")
    assert [f.step for f in plan.faults] == sorted(f.step for f in plan.faults)
    # Shared by how long each step lasts, so that few land in a step that ends first.
    assert Counter(f.step for f in plan.faults) == {1: 8, 2: 8, 3: 3, 4: 5}
    assert {f.kind for f in FaultPlan.make(12, 5, kinds=("kill_grades",)).faults} == {"kill_grades"}
    assert {f.step for f in FaultPlan.make(12, 5, kinds=("kill_worker",)).faults} <= {2, 3, 4}
