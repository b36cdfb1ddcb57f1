"""Checking a package from another school, from the file alone, against THIS installation's
trusted roots: the seal, the manifest, every file's SHA-256, every year record's signatures.

Pure and blocking (pyHanko's validation): run it in a worker thread. Every problem names the file
it is about (``package`` for the package itself), with a code, a Vietnamese message and the detail.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from hbs_shared.records import YearRecordContent
from hbs_signing.exchange.package import (
    MANIFEST_NAME,
    PACKAGE_FIELD,
    RECEIPT_FIELD,
    RECEIPT_NAME,
    RECORD_SIGNATURE_FIELDS,
    Manifest,
    Receipt,
    UnreadablePackage,
    attachments,
)
from hbs_signing.verification.service import VALID, Examination, SignatureReport, Verifier

PACKAGE = "package"
"""The name problems of the package as a whole (its seal) are filed under."""
RECEIPT = "receipt"
"""The same for a receipt."""
RECORD_JSON_IN_PDF = "hoc-ba.json"
"""The machine-readable record a sealed year record carries (documents.layout)."""


@dataclass(frozen=True)
class FileProblem:
    file: str
    code: str
    message: str
    """For the office, in Vietnamese."""
    detail: str = ""

    def as_dict(self) -> dict[str, str]:
        return {"file": self.file, "code": self.code, "message": self.message, "detail": self.detail}


@dataclass
class Inspection:
    sha256: str
    manifest: Manifest | None = None
    files: dict[str, bytes] = field(default_factory=dict)
    problems: list[FileProblem] = field(default_factory=list)
    seal_signer: str | None = None
    seal_issuer: str | None = None
    records: list[YearRecordContent] = field(default_factory=list)
    identity: dict[str, Any] = field(default_factory=dict)

    @property
    def accepted(self) -> bool:
        return not self.problems and self.manifest is not None


def inspect_package(pdf: bytes, verifier: Verifier) -> Inspection:
    inspection = Inspection(sha256=hashlib.sha256(pdf).hexdigest())
    problems = inspection.problems
    examination = verifier.examine(pdf)
    seal = _check_seal(examination, problems, PACKAGE_FIELD)
    if seal is not None:
        inspection.seal_signer, inspection.seal_issuer = seal.signer, seal.issuer
    try:
        found, twice = attachments(pdf)
    except UnreadablePackage as error:
        problems.append(
            FileProblem(PACKAGE, "unreadable", "Không đọc được tệp hồ sơ (không phải PDF hợp lệ)", str(error))
        )
        return inspection
    for name in twice:
        problems.append(FileProblem(name, "duplicate", f"Tệp {name} được đính kèm hai lần"))
    raw_manifest = found.pop(MANIFEST_NAME, None)
    if raw_manifest is None:
        problems.append(FileProblem(MANIFEST_NAME, "manifest_missing", "Hồ sơ không có bản kê manifest.json"))
        return inspection
    try:
        manifest = Manifest.model_validate_json(raw_manifest)
    except ValidationError as error:
        problems.append(
            FileProblem(
                MANIFEST_NAME,
                "manifest_invalid",
                "Bản kê manifest.json không đúng định dạng",
                str(error)[:500],
            )
        )
        return inspection
    inspection.manifest = manifest
    listed = {entry.name: entry for entry in manifest.files}
    if len(listed) != len(manifest.files):
        problems.append(FileProblem(MANIFEST_NAME, "manifest_invalid", "Bản kê liệt kê một tệp hai lần"))
    for name in sorted(set(found) - set(listed)):
        problems.append(
            FileProblem(
                name, "extra", f"Tệp {name} có trong hồ sơ nhưng không có trong bản kê", "not in the manifest"
            )
        )
    for name, entry in listed.items():
        data = found.get(name)
        if data is None:
            problems.append(
                FileProblem(
                    name,
                    "missing",
                    f"Thiếu tệp {name} (có trong bản kê)",
                    "listed in the manifest, not attached",
                )
            )
            continue
        digest = hashlib.sha256(data).hexdigest()
        if digest != entry.sha256 or len(data) != entry.size:
            problems.append(
                FileProblem(
                    name,
                    "digest_mismatch",
                    f"Tệp {name} đã bị thay đổi: SHA-256 khác với bản kê",
                    f"manifest {entry.sha256} ({entry.size} bytes), file {digest} ({len(data)} bytes)",
                )
            )
            continue
        inspection.files[name] = data
    for name, entry in listed.items():
        data = inspection.files.get(name)
        if data is None:
            continue
        if entry.kind == "record_pdf":
            _check_record(name, data, verifier, manifest, inspection)
        elif entry.kind == "identity":
            _check_identity(name, data, manifest, inspection)
        elif entry.kind == "record_json":
            _check_record_json(name, data, inspection)
    return inspection


@dataclass
class ReceiptInspection:
    sha256: str
    receipt: Receipt | None = None
    problems: list[FileProblem] = field(default_factory=list)


def inspect_receipt(pdf: bytes, verifier: Verifier) -> ReceiptInspection:
    """A receipt (biên nhận) another school sent back: its seal, against THIS installation's roots,
    and the structured receipt it carries."""
    inspection = ReceiptInspection(sha256=hashlib.sha256(pdf).hexdigest())
    _check_seal(verifier.examine(pdf), inspection.problems, RECEIPT_FIELD, RECEIPT)
    try:
        found, _ = attachments(pdf)
        inspection.receipt = Receipt.model_validate_json(found[RECEIPT_NAME])
    except (UnreadablePackage, KeyError, ValidationError) as error:
        inspection.problems.append(
            FileProblem(
                RECEIPT_NAME,
                "receipt_invalid",
                "Biên nhận không mang dữ liệu biên nhận hợp lệ",
                str(error)[:300],
            )
        )
    return inspection


def _check_seal(
    examination: Examination, problems: list[FileProblem], field_name: str, subject: str = PACKAGE
) -> SignatureReport | None:
    """The one seal a package or receipt carries, and what is wrong with it (into ``problems``)."""
    if not examination.readable:
        problems.append(
            FileProblem(
                subject,
                "unreadable",
                "Không đọc được tệp hồ sơ (không phải PDF hợp lệ)",
                "; ".join(examination.problems),
            )
        )
        return None
    signatures = [s for s in examination.signatures if s.kind == "signature"]
    if not signatures:
        problems.append(FileProblem(subject, "seal_missing", "Hồ sơ không có dấu số của trường gửi"))
        return None
    seal = signatures[0]
    if len(signatures) > 1 or seal.field_name != field_name:
        problems.append(
            FileProblem(
                subject,
                "seal_missing",
                "Hồ sơ không mang đúng một dấu số của trường gửi",
                f"signature fields {[s.field_name for s in signatures]}, expected [{field_name}]",
            )
        )
    broken = [s for s in examination.signatures if _changed(s)]
    if broken:
        problems.append(
            FileProblem(
                subject,
                "seal_broken",
                "Hồ sơ đã bị thay đổi sau khi đóng dấu (dấu số không còn toàn vẹn)",
                "; ".join(p for s in broken for p in s.problems)[:500],
            )
        )
    elif not all(s.trusted for s in examination.signatures):
        problems.append(
            FileProblem(
                subject,
                "seal_untrusted",
                "Dấu số của hồ sơ không do tổ chức cấp chứng thư số được nhà trường tin cậy cấp",
                f"seal by {seal.signer!r}, issued by {seal.issuer!r}: not trusted here",
            )
        )
    elif any(s.verdict != VALID for s in examination.signatures):
        problems.append(
            FileProblem(
                subject,
                "seal_invalid",
                "Dấu số của hồ sơ không hợp lệ",
                "; ".join(p for s in examination.signatures for p in s.problems)[:500],
            )
        )
    return seal


_BROKEN = ("changed", "modified", "not allowed", "does not verify", "integrity", "bytes after")


def _changed(signature: SignatureReport) -> bool:
    """The signed bytes or what follows them were altered (as opposed to: not trusted here)."""
    return any(word in problem for problem in signature.problems for word in _BROKEN)


def _check_record(
    name: str, pdf: bytes, verifier: Verifier, manifest: Manifest, inspection: Inspection
) -> None:
    examination = verifier.examine(pdf)
    real = [s for s in examination.signatures if s.kind == "signature"]
    stamps = [s for s in examination.signatures if s.kind == "document_timestamp"]
    problems: list[str] = list(examination.problems)
    if tuple(s.field_name for s in real) != RECORD_SIGNATURE_FIELDS:
        problems.append(
            f"signature fields {[s.field_name for s in real]}, expected {list(RECORD_SIGNATURE_FIELDS)}"
        )
    if not stamps or examination.signatures[-1].kind != "document_timestamp":
        problems.append("a sealed record ends with a document timestamp (B-LTA)")
    for signature in examination.signatures:
        if signature.verdict != VALID:
            problems.extend(f"{signature.field_name}: {p}" for p in signature.problems or ["not valid"])
    untrusted = any(not s.trusted for s in examination.signatures)
    if problems:
        message = (
            f"Chữ ký số trên học bạ {name} không do tổ chức cấp chứng thư được nhà trường tin cậy cấp"
            if untrusted and all(s.intact and s.valid for s in examination.signatures)
            else f"Chữ ký số trên học bạ {name} không hợp lệ"
        )
        inspection.problems.append(
            FileProblem(name, "record_signature_invalid", message, "; ".join(problems)[:500])
        )
        return
    try:
        inner, _ = attachments(pdf)
        content = YearRecordContent.model_validate_json(inner[RECORD_JSON_IN_PDF])
    except (UnreadablePackage, KeyError, ValidationError) as error:
        inspection.problems.append(
            FileProblem(name, "record_content", f"Không đọc được dữ liệu của học bạ {name}", str(error)[:300])
        )
        return
    if content.student.national_id != manifest.student.national_id:
        inspection.problems.append(
            FileProblem(
                name, "other_student", f"Học bạ {name} là của học sinh khác (mã định danh khác bản kê)"
            )
        )
        return
    inspection.records.append(content)


def _check_record_json(name: str, data: bytes, inspection: Inspection) -> None:
    try:
        YearRecordContent.model_validate_json(data)
    except ValidationError as error:
        inspection.problems.append(
            FileProblem(
                name, "record_content", f"Dữ liệu học bạ {name} không đúng định dạng", str(error)[:300]
            )
        )


def _check_identity(name: str, data: bytes, manifest: Manifest, inspection: Inspection) -> None:
    try:
        identity = json.loads(data)
        national_id = identity["national_id"]
    except (ValueError, KeyError, TypeError) as error:
        inspection.problems.append(
            FileProblem(
                name, "identity_invalid", "Thông tin cá nhân của học sinh không đọc được", str(error)[:300]
            )
        )
        return
    if national_id != manifest.student.national_id:
        inspection.problems.append(
            FileProblem(
                name, "other_student", "Thông tin cá nhân là của học sinh khác (mã định danh khác bản kê)"
            )
        )
        return
    inspection.identity = identity
