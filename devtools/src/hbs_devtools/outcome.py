"""What a year end left behind, read without the services' code: grades' and signing's databases
and the stored PDFs (pyHanko), judged record by record.

The fault tests (`tests/faults/`) call `read_outcome` after recovery. Everything here is read-only
and independent of how the services keep their own counts, so a bug in their bookkeeping cannot
hide itself: a record is *lost* when grades does not have it approved with a sealed PDF that
signing stored, *duplicated* when signing stored a second document for the same record and role
or a PDF carries one role's field twice, *stuck* when a request, batch item or outbox row is still
waiting after the run settled.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import create_async_engine

RECORD_FIELDS = ("Sig1_GVCN", "Sig2_PHT", "Sig3_HT", "Sig4_DauTruong")
"""The signature fields of a sealed year record, in the order Đ8 Steps 2–4 add them."""
RECORD_FIELDS_BY_ROLE: Mapping[str, tuple[str, ...]] = {
    "homeroom_teacher": RECORD_FIELDS[:1],
    "vice_principal": RECORD_FIELDS[:2],
    "principal": RECORD_FIELDS,
}
SHEET_FIELDS = ("Sig1_GVBM",)
SIGNING_RECORD_STATES = ("signing_homeroom", "signing_vice_principal", "signing_principal")


def _id(value: object) -> str:
    """A UUID as SQLite (32 hex digits) or PostgreSQL (uuid) returns it, in one spelling."""
    return uuid.UUID(str(value)).hex


@dataclass(frozen=True)
class PdfSignatures:
    """The signatures pyHanko finds in one PDF."""

    fields: tuple[str, ...]
    """Field names of the regular signatures, in file order."""
    timestamps: int
    """Document timestamps (B-LTA)."""
    broken: tuple[str, ...]
    """Fields whose signed bytes no longer match their digest."""
    signers: tuple[str, ...] = ()
    """SHA-256 of each regular signature's signer certificate, in file order."""


def read_pdf(content: bytes) -> PdfSignatures:
    reader = PdfFileReader(io.BytesIO(content))
    fields: list[str] = []
    signers: list[str] = []
    timestamps = 0
    broken: list[str] = []
    for signature in reader.embedded_signatures:
        if signature.sig_object_type == "/DocTimeStamp":
            timestamps += 1
        else:
            fields.append(signature.field_name)
            signers.append(hashlib.sha256(signature.signer_cert.dump()).hexdigest())
        # The digest of the bytes the signature covers, against the one it signed.
        if signature.compute_digest() != _signed_digest(signature):
            broken.append(signature.field_name)
    return PdfSignatures(tuple(fields), timestamps, tuple(broken), tuple(signers))


def _signed_digest(signature: EmbeddedPdfSignature) -> bytes | None:
    """The byte-range digest the CMS signed: its messageDigest, or a timestamp's message imprint."""
    content: Any = signature.signed_data["encap_content_info"]
    if content["content_type"].native == "tst_info":
        imprint: bytes = content["content"].parsed["message_imprint"]["hashed_message"].native
        return imprint
    attributes: Any = signature.signer_info["signed_attrs"]
    for attribute in attributes:
        if attribute["type"].native == "message_digest":
            digest: bytes = attribute["values"][0].native
            return digest
    return None


def pdf_problems(signatures: PdfSignatures, expected: tuple[str, ...], *, sealed: bool) -> list[str]:
    """What is wrong with a PDF that should carry exactly the fields `expected` (in that order)."""
    problems: list[str] = []
    twice = sorted(name for name, n in Counter(signatures.fields).items() if n > 1)
    if twice:
        problems.append(f"role signed twice: {', '.join(twice)}")
    # Each role signs with its own certificate: one certificate in two fields is one role twice.
    again = [
        f
        for f, c in zip(signatures.fields, signatures.signers, strict=False)
        if signatures.signers.count(c) > 1
    ]
    if again:
        problems.append(f"role signed twice: one certificate signed {', '.join(again)}")
    if signatures.fields != expected:
        problems.append(f"signature fields {list(signatures.fields)}, expected {list(expected)}")
    if signatures.timestamps != (1 if sealed else 0):
        problems.append(f"{signatures.timestamps} document timestamps, expected {1 if sealed else 0}")
    if signatures.broken:
        problems.append(f"signed bytes changed under {', '.join(signatures.broken)}")
    return problems


@dataclass(frozen=True)
class Sheet:
    id: str
    class_name: str
    state: str
    document_id: str | None
    document_sha256: str | None


@dataclass(frozen=True)
class Record:
    id: str
    class_name: str
    state: str
    document_id: str | None
    document_sha256: str | None
    edition_signed: bool


@dataclass(frozen=True)
class Document:
    id: str
    sha256: str
    kind: str
    subject_id: str
    signer_role: str
    signature_count: int
    sealed: bool


@dataclass
class Snapshot:
    """The rows the judgement needs, as read from the two databases."""

    sheets: list[Sheet]
    records: list[Record]
    documents: list[Document]
    open_batch_items: int
    """Signing's queued batch requests not yet settled (whole database)."""
    retaken_batch_items: int
    """Batch requests taken by more than one run (a run interrupted by a fault takes them again)."""
    unsent: dict[str, int]
    """Outbox rows not yet sent, per service."""
    queued_requests: int = 0
    """Single signing requests (sheets) signing has queued and not yet settled."""


@dataclass
class Outcome:
    """The judgement: counts on both sides and every problem found, each naming its object."""

    counts: dict[str, int] = field(default_factory=dict)
    lost: list[str] = field(default_factory=list)
    duplicated: list[str] = field(default_factory=list)
    stuck: list[str] = field(default_factory=list)
    mismatched: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.lost or self.duplicated or self.stuck or self.mismatched)

    def summary(self) -> str:
        counts = " ".join(f"{k}={v}" for k, v in sorted(self.counts.items()))
        return (
            f"{counts} lost={len(self.lost)} duplicated={len(self.duplicated)} "
            f"stuck={len(self.stuck)} mismatched={len(self.mismatched)}"
        )

    def problems(self, limit: int = 20) -> list[str]:
        found = [
            *(f"lost: {p}" for p in self.lost),
            *(f"duplicated: {p}" for p in self.duplicated),
            *(f"stuck: {p}" for p in self.stuck),
            *(f"mismatched: {p}" for p in self.mismatched),
        ]
        return found[:limit] + ([f"… and {len(found) - limit} more"] if len(found) > limit else [])


def judge(snapshot: Snapshot, pdf: Callable[[str], bytes]) -> Outcome:
    """Every sheet signed once, every record approved and sealed once, both sides agreeing.

    `pdf(sha256)` returns a stored PDF (signing's content-addressed store)."""
    outcome = Outcome()
    by_id = {d.id: d for d in snapshot.documents}
    per_subject_role: dict[tuple[str, str], list[Document]] = {}
    for document in snapshot.documents:
        per_subject_role.setdefault((document.subject_id, document.signer_role), []).append(document)
    for (subject, role), documents in sorted(per_subject_role.items()):
        if len(documents) > 1:
            outcome.duplicated.append(f"{role} signed {subject} {len(documents)} times (stored documents)")

    signed_sheets = [s for s in snapshot.sheets if s.state == "signed"]
    approved = [r for r in snapshot.records if r.state == "approved"]
    sheet_documents = [d for d in snapshot.documents if d.kind == "score_sheet"]
    sealed = [d for d in snapshot.documents if d.kind == "year_record" and d.sealed]
    outcome.counts = {
        "sheets": len(snapshot.sheets),
        "sheets_signed": len(signed_sheets),
        "sheet_documents": len(sheet_documents),
        "records": len(snapshot.records),
        "records_approved": len(approved),
        "records_sealed": len(sealed),
        "record_documents": sum(1 for d in snapshot.documents if d.kind == "year_record"),
        "retaken_batch_items": snapshot.retaken_batch_items,
    }

    for sheet in snapshot.sheets:
        if sheet.state != "signed":
            outcome.lost.append(f"sheet {sheet.id} ({sheet.class_name}) is {sheet.state}")
            continue
        _check_document(outcome, "sheet", sheet.id, sheet.document_id, sheet.document_sha256, by_id)
    for record in snapshot.records:
        if record.state in SIGNING_RECORD_STATES:
            outcome.stuck.append(f"record {record.id} ({record.class_name}) still {record.state}")
        if record.state != "approved":
            outcome.lost.append(f"record {record.id} ({record.class_name}) is {record.state}")
            continue
        if not record.edition_signed:
            outcome.mismatched.append(f"record {record.id} approved without its edition signed")
        final = _check_document(
            outcome, "record", record.id, record.document_id, record.document_sha256, by_id
        )
        if final is not None and not (final.sealed and final.signature_count == 4):
            outcome.mismatched.append(
                f"record {record.id}: its document has {final.signature_count} signatures, "
                f"sealed={final.sealed}"
            )
    seals = Counter(d.subject_id for d in sealed)
    for subject, n in sorted(seals.items()):
        if n > 1:
            outcome.duplicated.append(f"record {subject} sealed {n} times")
    if len(approved) != len(sealed):
        outcome.mismatched.append(
            f"grades has {len(approved)} records approved, signing {len(sealed)} sealed"
        )
    if len(signed_sheets) != len(sheet_documents):
        outcome.mismatched.append(
            f"grades has {len(signed_sheets)} sheets signed, signing {len(sheet_documents)} sheet documents"
        )

    for document in snapshot.documents:
        expected = (
            SHEET_FIELDS
            if document.kind == "score_sheet"
            else RECORD_FIELDS_BY_ROLE.get(document.signer_role)
        )
        if expected is None:
            outcome.mismatched.append(f"document {document.id}: unexpected role {document.signer_role}")
            continue
        try:
            content = pdf(document.sha256)
        except OSError as error:
            outcome.lost.append(f"document {document.id}: PDF unreadable ({error})")
            continue
        if hashlib.sha256(content).hexdigest() != document.sha256:
            outcome.mismatched.append(f"document {document.id}: stored PDF does not match its SHA-256")
            continue
        for problem in pdf_problems(read_pdf(content), expected, sealed=document.sealed):
            bucket = outcome.duplicated if problem.startswith("role signed twice") else outcome.mismatched
            bucket.append(f"document {document.id} ({document.kind}, {document.signer_role}): {problem}")
        if document.signature_count != len(expected):
            outcome.mismatched.append(
                f"document {document.id}: signature_count {document.signature_count}, PDF has {len(expected)}"
            )

    if snapshot.queued_requests:
        outcome.stuck.append(f"{snapshot.queued_requests} signing requests still queued in signing")
    if snapshot.open_batch_items:
        outcome.stuck.append(f"{snapshot.open_batch_items} batch requests still pending in signing")
    for service, n in sorted(snapshot.unsent.items()):
        if n:
            outcome.stuck.append(f"{n} events unsent in {service}'s outbox")
    return outcome


def _check_document(
    outcome: Outcome,
    what: str,
    subject: str,
    document_id: str | None,
    sha256: str | None,
    documents: Mapping[str, Document],
) -> Document | None:
    if document_id is None:
        outcome.lost.append(f"{what} {subject} is signed in grades without a document")
        return None
    document = documents.get(document_id)
    if document is None:
        outcome.lost.append(f"{what} {subject}: document {document_id} is not in signing")
        return None
    if document.subject_id != subject:
        outcome.mismatched.append(
            f"{what} {subject}: document {document_id} belongs to {document.subject_id}"
        )
    if document.sha256 != sha256:
        outcome.mismatched.append(f"{what} {subject}: grades and signing disagree on its PDF's SHA-256")
    return document


# --- reading the databases ----------------------------------------------------------------------


async def _rows(url: str, sql: str, **params: Any) -> list[Mapping[str, Any]]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            result = await connection.execute(text(sql), params)
            return [dict(row._mapping) for row in result]
    finally:
        await engine.dispose()


async def read_snapshot(grades_url: str, signing_url: str, class_names: Iterable[str]) -> Snapshot:
    """The sheets and records of `class_names` in grades, and what signing holds for them."""
    names = set(class_names)
    sheets = [
        Sheet(
            _id(r["id"]),
            r["class_name"],
            r["state"],
            _id(r["document_id"]) if r["document_id"] else None,
            r["document_sha256"],
        )
        for r in await _rows(
            grades_url,
            "SELECT id, class_name, state, document_id, document_sha256 FROM score_sheets",
        )
        if r["class_name"] in names
    ]
    records = [
        Record(
            _id(r["id"]),
            r["class_name"],
            r["state"],
            _id(r["document_id"]) if r["document_id"] else None,
            r["document_sha256"],
            bool(r["edition_signed"]),
        )
        for r in await _rows(
            grades_url,
            "SELECT id, class_name, state, document_id, document_sha256, edition_signed FROM year_records",
        )
        if r["class_name"] in names
    ]
    subjects = {s.id for s in sheets} | {r.id for r in records}
    documents = [
        Document(
            _id(r["id"]),
            r["sha256"],
            r["kind"],
            _id(r["subject_id"]),
            r["signer_role"],
            int(r["signature_count"]),
            bool(r["sealed"]),
        )
        for r in await _rows(
            signing_url,
            "SELECT id, sha256, kind, subject_id, signer_role, signature_count, sealed FROM documents",
        )
        if _id(r["subject_id"]) in subjects
    ]
    items = await _rows(signing_url, "SELECT state, attempts FROM signing_batch_items")
    try:  # signing's queue of single requests (migration 0009): a settled request leaves it
        queued = await _rows(signing_url, "SELECT attempts FROM signing_queue")
    except DBAPIError:
        queued = []
    unsent = {}
    for service, url in (("grades", grades_url), ("signing", signing_url)):
        rows = await _rows(url, "SELECT count(*) AS n FROM outbox WHERE sent_at IS NULL")
        unsent[service] = int(rows[0]["n"])
    return Snapshot(
        sheets=sheets,
        records=records,
        documents=documents,
        open_batch_items=sum(1 for i in items if i["state"] == "pending"),
        retaken_batch_items=sum(1 for i in items if int(i["attempts"]) > 1),
        unsent=unsent,
        queued_requests=len(queued),
    )


def store_reader(documents_dir: Path) -> Callable[[str], bytes]:
    """Signing's content-addressed store: `<dir>/<first two hex digits>/<sha256>.pdf`."""

    def read(sha256: str) -> bytes:
        return (documents_dir / sha256[:2] / f"{sha256}.pdf").read_bytes()

    return read


def read_outcome(
    grades_url: str, signing_url: str, documents_dir: Path, class_names: Iterable[str]
) -> Outcome:
    snapshot = asyncio.run(read_snapshot(grades_url, signing_url, class_names))
    return judge(snapshot, store_reader(documents_dir))


async def work_in_flight(grades_url: str) -> int:
    """Sheets and records grades has sent to signing and not yet heard back about."""
    rows = await _rows(
        grades_url,
        "SELECT (SELECT count(*) FROM score_sheets WHERE state = 'signing') "
        "+ (SELECT count(*) FROM year_records WHERE state LIKE 'signing%') AS n",
    )
    return int(rows[0]["n"])
