"""Verifying a signed PDF for anyone (the public verification page, Đ2, Nghị định 23/2025).

Traps this guards against (DESIGN.md, found by mutating signed PDFs):
- the verdict is the WORST over every signature and document timestamp in the file, never the
  first or the last alone: after an unsigned incremental update the earlier signatures each
  still report "intact, allowed change";
- the last signature or document timestamp must cover the whole file, or something was
  appended without a signature;
- a signature value can be copied into another, empty field: for a document this service
  issued, each field must be the expected one, signed with the expected certificate;
- a file cut at an earlier ``%%EOF`` has only valid signatures left: the number of signatures
  must be what the stored version says it carries, and a file that is not byte-for-byte a
  version this service stored is never reported as authentic;
- bytes after the CMS object inside ``/Contents`` are outside the hash: they must be zero.
Signer certificates are validated at the time of the signature's timestamp, against the
configured roots, with revocation required and taken only from what the file embeds (B-LT):
no network fetch, so "revocation status at signing time" is what the file proves.
"""

from __future__ import annotations

import hashlib
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from io import BytesIO
from typing import Any

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from hbs_signing.devca import DevelopmentCA
from hbs_signing.documents.store import DocumentStore
from hbs_signing.models import SignedDocument
from hbs_signing.status.service import REVOKED, DocumentStatus

VALID = "valid"
INVALID = "invalid"
INDETERMINATE = "indeterminate"
_RANK = {VALID: 0, INDETERMINATE: 1, INVALID: 2}
FIELD_ROLES = {
    "Sig1_GVBM": "subject_teacher",
    "Sig1_GVCN": "homeroom_teacher",
    "Sig2_PHT": "vice_principal",
    "Sig3_HT": "principal",
    "Sig4_DauTruong": "seal",
    "BB_HT": "principal",
    "BB_PHT": "vice_principal",
}


EXACT = "exact"
"""The file is byte for byte a version this service stored."""
ARCHIVED = "archived"
"""A stored version followed only by archive data (DSS, document timestamps): PAdES B-LT/LTA."""
EARLIER_REVISION = "earlier_revision"
"""The file is the start of a stored version, cut after one of its signatures."""
ADDED_TO = "added_to"
"""A stored version followed by signatures this service did not make."""


def worst(*verdicts: str) -> str:
    return max(verdicts, key=lambda v: _RANK[v]) if verdicts else INVALID


@dataclass
class SignatureReport:
    field_name: str
    kind: str  # "signature" or "document_timestamp"
    verdict: str = INVALID
    role: str | None = None
    signer: str | None = None
    signer_title: str | None = None
    issuer: str | None = None
    certificate_sha256: str | None = None
    signing_time: str | None = None
    signing_time_source: str | None = None  # "timestamp" (trusted TSA) or "claimed"
    intact: bool = False
    valid: bool = False
    trusted: bool = False
    revocation_at_signing_time: str = "unknown"
    covers_whole_file: bool = False
    modifications_after: str = "unknown"
    revision_sha256: str | None = None  # the file up to the end of this signature's byte range
    problems: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {("field" if key == "field_name" else key): value for key, value in self.__dict__.items()}


@dataclass
class Examination:
    """What the file alone shows (no database): picklable, so a child process can make it."""

    sha256: str
    signatures: list[SignatureReport] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    readable: bool = True


@dataclass(frozen=True)
class Expectation:
    """What the stored version says the file must carry."""

    document: SignedDocument
    is_current: bool
    fields: tuple[str, ...]
    certificates: dict[str, set[str]]  # field -> allowed certificate SHA-256s
    status: DocumentStatus | None = None
    """Its public status: current, superseded (by which version) or revoked (issue 13)."""


class Verifier:
    def __init__(
        self, store: DocumentStore | None, roots: list[x509.Certificate], ca: DevelopmentCA | None
    ) -> None:
        self.store = store
        self.roots_der = [r.public_bytes(Encoding.DER) for r in roots]
        self.roots = [asn1_x509.Certificate.load(der) for der in self.roots_der]
        self.ca = ca

    @classmethod
    def for_roots(cls, roots_der: list[bytes]) -> Verifier:
        """A verifier that only examines files (a child process has no store and no CA)."""
        return cls(None, [x509.load_der_x509_certificate(der) for der in roots_der], None)

    def verify(
        self, pdf: bytes, expectation: Expectation | None, *, now: datetime | None = None
    ) -> dict[str, Any]:
        """Blocking (pyHanko's sync API runs its own event loop): call it from a worker thread,
        or run `examine` in a bounded process (`verification.bounded`) for untrusted uploads.

        ``now`` verifies as if at another time (tests use it to show a B-LT file stays valid after
        its embedded CRLs are out of date and its certificates have expired).
        """
        return self.judge(self.examine(pdf, now=now), expectation)

    def examine(self, pdf: bytes, *, now: datetime | None = None) -> Examination:
        """The file alone: every signature and document timestamp, and what is wrong with it."""
        examination = Examination(sha256=hashlib.sha256(pdf).hexdigest())
        problems = examination.problems
        try:
            from pyhanko.pdf_utils.reader import PdfFileReader
            from pyhanko.sign.validation import DocumentSecurityStore

            reader = PdfFileReader(BytesIO(pdf), strict=False)
            embedded = list(reader.embedded_signatures)
            dss = DocumentSecurityStore.read_dss(reader) if "/DSS" in reader.root else None
        except Exception as error:
            problems.append(f"not a readable PDF: {type(error).__name__}")
            examination.readable = False
            return examination
        if not embedded:
            problems.append("the file carries no signature")
        try:
            dss_certs, dss_crls = _dss_contents(dss)
        except Exception as error:
            problems.append(f"the embedded validation data cannot be read: {type(error).__name__}")
            dss_certs, dss_crls = [], []
        for index, signature in enumerate(embedded):
            item = self._one(signature, dss_certs, dss_crls, now)
            item.revision_sha256 = _revision_sha256(pdf, signature)
            # PAdES allows validation data (DSS) to be added after the last signature (B-LT/LTA).
            if (
                index == len(embedded) - 1
                and not item.covers_whole_file
                and item.modifications_after != "lta_updates"
            ):
                item.problems.append("the file was changed after its last signature")
                item.verdict = INVALID
            examination.signatures.append(item)
        return examination

    def judge(
        self, examination: Examination, expectation: Expectation | None, relation: str = EXACT
    ) -> dict[str, Any]:
        """The examination against what the stored version says the file must carry.

        ``relation`` says how the file relates to that version (`verification.identify`): the
        version itself, the version with archive data added after it, an earlier revision cut
        from it, or the version with signatures added by someone else."""
        real = [s for s in examination.signatures if s.kind == "signature"]
        report: dict[str, Any] = {
            "sha256": examination.sha256,
            "signatures": [s.as_dict() for s in examination.signatures],
            "file": {
                "signatures": len(real),
                "document_timestamps": len(examination.signatures) - len(real),
            },
            "problems": list(examination.problems),
        }
        if not examination.readable:
            report["verdict"] = INVALID
            return report
        problems: list[str] = report["problems"]
        signatures = examination.signatures
        verdicts = [s.verdict for s in signatures] or [INVALID]
        if expectation is None:
            problems.append("this file is not a version issued by this service (unknown content)")
            verdicts.append(INVALID)
            report["document"] = None
        else:
            document = expectation.document
            if relation == EARLIER_REVISION:
                problems.append(
                    f"this file is an earlier revision cut from an issued version: it carries "
                    f"{len(real)} of its {document.signature_count} signatures; ask for the whole file"
                )
                verdicts.append(INDETERMINATE)
            elif relation == ADDED_TO:
                problems.append(
                    f"signatures were added after the issued version: it carries "
                    f"{document.signature_count}, the file {len(real)}"
                )
                verdicts.append(INVALID)
            else:
                verdicts.append(self._compare(signatures, expectation, problems))
            status = expectation.status
            if status is not None and status.status == REVOKED and status.revocation is not None:
                revoked = status.revocation
                problems.append(
                    f"the school's board revoked this record under minutes {revoked.minutes_number} "
                    f"of {revoked.minutes_date:%d/%m/%Y}: it is no longer valid"
                )
                # A revoked record must never read as valid to someone who reads only the verdict.
                verdicts.append(INVALID)
            report["document"] = {
                "kind": document.kind,
                "verification_code": document.printed_code or document.verification_code,
                "version_sha256": document.sha256,
                "signed_at": document.created_at.isoformat() if document.created_at else None,
                "sealed": document.sealed,
                "expected_signatures": document.signature_count,
                "status": "current" if expectation.is_current else "superseded",
                "superseded_by": None,
                "revocation": None,
                "relation": relation,
            }
            if expectation.status is not None:
                report["document"].update(expectation.status.as_dict())
        report["verdict"] = worst(*verdicts)
        return report

    def _compare(
        self, signatures: list[SignatureReport], expectation: Expectation, problems: list[str]
    ) -> str:
        verdict = VALID
        real = [s for s in signatures if s.kind == "signature"]
        if len(real) != expectation.document.signature_count:
            problems.append(
                f"the file carries {len(real)} signatures; this version must carry "
                f"{expectation.document.signature_count}"
            )
            verdict = INVALID
        for position, (found, wanted) in enumerate(zip(real, expectation.fields, strict=False), start=1):
            if found.field_name != wanted:
                problems.append(f"signature {position} is in field {found.field_name}, expected {wanted}")
                verdict = INVALID
            allowed = expectation.certificates.get(wanted)
            if allowed is not None and found.certificate_sha256 not in allowed:
                problems.append(
                    f"signature in field {found.field_name} is not made with the expected certificate"
                )
                verdict = INVALID
        if expectation.document.sealed and not any(s.kind == "document_timestamp" for s in signatures):
            problems.append("a sealed record must end with an archive timestamp (B-LTA)")
            verdict = INVALID
        return verdict

    def _context(
        self, certs: list[Any], crls: list[Any], moment: datetime | None, *, revocation: str = "require"
    ) -> Any:
        from pyhanko_certvalidator import ValidationContext

        return ValidationContext(
            trust_roots=self.roots,
            other_certs=certs,
            crls=crls,
            allow_fetching=False,
            revocation_mode=revocation,
            moment=moment,
        )

    def _one(
        self, signature: Any, certs: list[Any], crls: list[Any], now: datetime | None
    ) -> SignatureReport:
        from pyhanko.sign.validation import validate_pdf_signature, validate_pdf_timestamp

        kind = "document_timestamp" if signature.sig_object_type == "/DocTimeStamp" else "signature"
        item = SignatureReport(
            field_name=str(signature.field_name), kind=kind, role=FIELD_ROLES.get(str(signature.field_name))
        )
        _check_contents_padding(signature, item)
        try:
            # Pass 1 (no revocation data, soft-fail) only reads the trusted timestamp's time; pass 2
            # validates everything AT that time, revocation required, from the embedded CRLs:
            # a CRL that was current then proves the status at signing time, years later too.
            if kind == "document_timestamp":
                first: Any = validate_pdf_timestamp(
                    signature, validation_context=self._context(certs, [], now, revocation="soft-fail")
                )
                moment = first.timestamp if first.trusted else now
                status: Any = validate_pdf_timestamp(
                    signature, validation_context=self._context(certs, crls, moment)
                )
                item.signing_time = status.timestamp.isoformat()
                item.signing_time_source = "timestamp"
            else:
                first = validate_pdf_signature(
                    signature, self._context(certs, [], now, revocation="soft-fail")
                )
                tst = first.timestamp_validity
                moment = (
                    tst.timestamp if tst is not None and tst.intact and tst.valid and tst.trusted else None
                )
                if moment is not None:
                    item.signing_time = moment.isoformat()
                    item.signing_time_source = "timestamp"
                else:
                    item.problems.append("no trusted signature timestamp (B-T is required)")
                    claimed = signature.self_reported_timestamp
                    item.signing_time = claimed.isoformat() if claimed else None
                    item.signing_time_source = "claimed"
                status = validate_pdf_signature(signature, self._context(certs, crls, moment or now))
            cert = status.signing_cert
        except Exception as error:
            item.problems.append(f"cannot be validated: {type(error).__name__}: {error}"[:300])
            return item
        item.signer = cert.subject.native.get("common_name")
        item.signer_title = cert.subject.native.get("title")
        item.issuer = cert.issuer.native.get("common_name")
        item.certificate_sha256 = hashlib.sha256(cert.dump()).hexdigest()
        item.intact, item.valid, item.trusted = bool(status.intact), bool(status.valid), bool(status.trusted)
        item.revocation_at_signing_time = _revocation(status)
        coverage = getattr(status, "coverage", None)
        item.covers_whole_file = coverage is not None and coverage.name == "ENTIRE_FILE"
        level = getattr(status, "modification_level", None)
        docmdp_ok = getattr(status, "docmdp_ok", None)
        item.modifications_after = level.name.lower() if level is not None else "unknown"
        if not item.intact:
            item.problems.append("the signed content was changed (integrity broken)")
        if not item.valid:
            item.problems.append("the signature value does not verify")
        if not item.trusted:
            item.problems.append(
                "the certificate does not chain to a trusted root, or was not valid/unrevoked at signing time"
            )
        if kind == "signature" and docmdp_ok is False:
            item.problems.append("changes after this signature are not allowed")
        if level is not None and level.name not in ("NONE", "LTA_UPDATES", "FORM_FILLING"):
            item.problems.append(f"modified after signing: {level.name.lower()}")
        ok = item.intact and item.valid and item.trusted and not item.problems
        item.verdict = VALID if ok else (INVALID if not (item.intact and item.valid) else INDETERMINATE)
        if kind == "signature" and item.signing_time_source != "timestamp":
            item.verdict = worst(item.verdict, INDETERMINATE)
        if any("modified" in p or "not allowed" in p for p in item.problems):
            item.verdict = INVALID
        return item


def _revision_sha256(pdf: bytes, signature: Any) -> str | None:
    try:
        byte_range = [int(value) for value in signature.sig_object["/ByteRange"]]
    except Exception:
        return None
    end = byte_range[2] + byte_range[3] if len(byte_range) == 4 else 0
    return hashlib.sha256(pdf[:end]).hexdigest() if 0 < end <= len(pdf) else None


def _dss_contents(dss: Any) -> tuple[list[Any], list[Any]]:
    from asn1crypto import crl as asn1_crl
    from pyhanko.pdf_utils.decode_limits import DecodePurpose

    if dss is None:
        return [], []
    certs = list(dss.load_certs())
    crls = [asn1_crl.CertificateList.load(ref.get_object().read_data(DecodePurpose.CRL)) for ref in dss.crls]
    return certs, crls


def _revocation(status: Any) -> str:
    if status.trusted:
        return "good"
    summary = getattr(status, "trust_problem_indic", None)
    name = getattr(summary, "name", "") or ""
    if "REVOKED" in name:
        return "revoked"
    if "EXPIRED" in name:
        return "expired"
    return "unknown"


def der_length(data: bytes) -> int:
    """Length of the DER object at the start of ``data`` (header included)."""
    if len(data) < 2:
        return len(data)
    first = data[1]
    if first < 0x80:
        return 2 + first
    count = first & 0x7F
    return 2 + count + int.from_bytes(data[2 : 2 + count], "big")


def _check_contents_padding(signature: Any, item: SignatureReport) -> None:
    contents = bytes(signature.sig_object["/Contents"])
    if contents[der_length(contents) :].strip(b"\x00"):
        item.problems.append("bytes after the signature container in /Contents are not zero")


class RateLimiter:
    """A sliding window per client address: public endpoints must not become a free oracle."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._hits: dict[str, deque[float]] = {}

    def allow(self, client: str, cost: int = 1) -> bool:
        now = time.monotonic()
        hits = self._hits.setdefault(client, deque())
        while hits and now - hits[0] > 60:
            hits.popleft()
        if len(hits) + cost > self.per_minute:
            return False
        hits.extend([now] * cost)
        if len(self._hits) > 10_000:  # forget idle clients
            for key in [k for k, v in self._hits.items() if not v or now - v[-1] > 60]:
                del self._hits[key]
        return True
