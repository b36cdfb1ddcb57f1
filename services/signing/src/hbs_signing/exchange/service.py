"""Transfer and graduation packages (Đ7.3): the export, sealed with the school's seal, and the
import of another school's package, refused file by file unless everything verifies here.

No transaction is open while the token seals (issue 12): the endpoint reads in one short
transaction (`gather`, `gather_seal`), seals with none open (`build_package`, `build_receipt`),
then settles in a second short one (`settle_export`, `settle_import`). Nothing here commits.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from hbs_shared.audit.actions import SigningAction
from hbs_shared.audit.store import append
from hbs_shared.auth import Principal
from hbs_shared.events.contracts import PackageExported, PackageReceived
from hbs_shared.messaging.outbox import OutboxRepository
from hbs_shared.records import YearRecordContent
from hbs_shared.school_facts import SchoolFacts
from hbs_signing.audit import LAYOUT
from hbs_signing.exchange.identity import PERSONAL_FIELDS
from hbs_signing.exchange.inspection import RECORD_JSON_IN_PDF, Inspection
from hbs_signing.exchange.package import (
    MEDIA_TYPES,
    PACKAGE_FIELD,
    RECEIPT_FIELD,
    SEAL_BOX,
    FileKind,
    Manifest,
    ManifestFile,
    ManifestStudent,
    PackageFile,
    Reason,
    Receipt,
    ReceiptFile,
    SchoolRef,
    attachments,
    render_package,
    render_receipt,
)
from hbs_signing.exchange.repository import ExchangeRepository
from hbs_signing.models import Certificate, ExchangeFile, ExchangePackage, SignedDocument
from hbs_signing.requests.service import SEAL_ROLE, SigningRequestService, Validation, seal_user_id
from hbs_signing.token import SignatureOptions

AUDIT = LAYOUT
"""Signing's own trail (migration 0011): the packages that left and entered the school."""
RECORD_XML_IN_PDF = "hoc-ba.xml"


class ExchangeError(Exception):
    """A package cannot be made; the message says why (in Vietnamese)."""


@dataclass(frozen=True)
class Seal:
    """The school seal's certificate and what its check found: once per request."""

    certificate: Certificate
    validation: Validation
    school: SchoolFacts


@dataclass
class ExportDraft:
    """One student's package before its seal."""

    student_id: uuid.UUID
    manifest: Manifest
    files: list[PackageFile]
    pdf: bytes = b""
    sha256: str = ""

    @property
    def records(self) -> int:
        return sum(1 for f in self.files if f.entry.kind == "record_pdf")


@dataclass
class ImportDraft:
    inspection: Inspection
    student_id: uuid.UUID
    created: bool
    receipt: Receipt
    receipt_pdf: bytes = b""
    import_id: uuid.UUID = field(default_factory=uuid.uuid4)


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", text)[:40]


def _entry(name: str, kind: FileKind, data: bytes, **more: Any) -> PackageFile:
    return PackageFile(
        ManifestFile(
            name=name,
            kind=kind,
            media_type=MEDIA_TYPES[kind],
            sha256=hashlib.sha256(data).hexdigest(),
            size=len(data),
            **more,
        ),
        data,
    )


class ExchangeService:
    def __init__(self, requests: SigningRequestService) -> None:
        self.requests = requests
        self.store = requests.store
        self.repository = ExchangeRepository()
        self.outbox = OutboxRepository()

    # --- the seal -------------------------------------------------------------------------

    async def gather_seal(self, session: AsyncSession, school_id: str) -> tuple[Certificate, SchoolFacts]:
        """The school seal's certificate (the development CA issues one on first use)."""
        school = await self.requests.school.get(session, school_id)
        if school is None:
            raise ExchangeError("chưa nhận được thông tin của trường từ hệ thống định danh")
        certificate = await self.requests.certificates.for_signer(
            session, school_id, seal_user_id(school_id), school.name, SEAL_ROLE, school.name
        )
        return certificate, school

    async def check_seal(self, certificate: Certificate, school: SchoolFacts) -> Seal:
        """The same check as before every signature: chain to a trusted root, CRLs, validity."""
        return Seal(certificate, await self.requests.check(certificate), school)

    async def _seal(self, pdf: bytes, seal: Seal, field_name: str, reason: str) -> bytes:
        certificate = seal.certificate
        return await self.requests.token.sign_pdf(
            pdf,
            key_label=certificate.key_label,
            signing_cert_der=certificate.der,
            chain_der=list(seal.validation.chain),
            field_name=field_name,
            signer_name=seal.school.name,
            reason=reason,
            location=seal.school.province,
            long_term=self.requests.long_term(certificate, seal.validation, archive=True),
            options=SignatureOptions(stamp_box=SEAL_BOX, lock_document=True),
        )

    # --- export -----------------------------------------------------------------------------

    async def sealed_records(
        self, session: AsyncSession, school_id: str, student_id: uuid.UUID
    ) -> list[SignedDocument]:
        """The newest version of each of the student's year records, when it is sealed."""
        return await self.repository.sealed_records(session, school_id, student_id)

    async def draft_export(
        self,
        school: SchoolFacts,
        student_id: uuid.UUID,
        identity: dict[str, Any],
        reason: Reason,
        documents: list[SignedDocument],
    ) -> ExportDraft:
        """Every sealed year record of the student as stored, its JSON and XML, the identity data
        (files read with no transaction open)."""
        national_id = str(identity["national_id"])
        stem = _safe(national_id)
        personal = {name: identity.get(name) for name in PERSONAL_FIELDS}
        personal["class_name"] = identity.get("current_class_name")
        files = [
            _entry(
                f"{stem}-ly-lich.json",
                "identity",
                json.dumps(personal, ensure_ascii=False, indent=1, sort_keys=True).encode(),
            )
        ]
        contents: list[tuple[YearRecordContent, bytes, bytes, bytes]] = []
        for document in documents:
            pdf = await asyncio.to_thread(self.store.get, document.sha256)
            inner, _ = await asyncio.to_thread(attachments, pdf)
            raw_json, raw_xml = inner.get(RECORD_JSON_IN_PDF), inner.get(RECORD_XML_IN_PDF)
            if raw_json is None or raw_xml is None:
                raise ExchangeError("một học bạ đã đóng dấu không mang dữ liệu JSON/XML")
            contents.append((YearRecordContent.model_validate_json(raw_json), pdf, raw_json, raw_xml))
        for content, pdf, raw_json, raw_xml in sorted(contents, key=lambda c: c[0].school_year):
            year = {"school_year": content.school_year, "class_name": content.class_name}
            base = f"{stem}-{content.school_year}-hoc-ba"
            files.append(_entry(f"{base}.pdf", "record_pdf", pdf, **year))
            files.append(_entry(f"{base}.json", "record_json", raw_json, **year))
            files.append(_entry(f"{base}.xml", "record_xml", raw_xml, **year))
        manifest = Manifest(
            package_id=uuid.uuid4(),
            school=SchoolRef(id=school.school_id, name=school.name, province=school.province),
            reason=reason,
            created_at=datetime.now(UTC),
            student=ManifestStudent(
                national_id=national_id,
                full_name=str(identity["full_name"]),
                date_of_birth=str(identity["date_of_birth"]),
            ),
            files=[f.entry for f in files],
        )
        return ExportDraft(student_id, manifest, files)

    async def build_package(self, draft: ExportDraft, seal: Seal) -> None:
        """Render and seal (B-LTA, the document locked), then store the file: no transaction open."""
        pdf = await asyncio.to_thread(render_package, draft.manifest, draft.files)
        what = "chuyển trường" if draft.manifest.reason == "transferred" else "tốt nghiệp"
        draft.pdf = await self._seal(pdf, seal, PACKAGE_FIELD, f"Đóng dấu hồ sơ học bạ số ({what})")
        draft.sha256 = await asyncio.to_thread(self.store.put, draft.pdf)

    async def settle_export(
        self, session: AsyncSession, principal: Principal, draft: ExportDraft
    ) -> ExchangePackage:
        """The package row, its files, the audit entry and `signing.package.exported`, in one transaction."""
        manifest = draft.manifest
        package = ExchangePackage(
            id=manifest.package_id,
            school_id=principal.school_id,
            direction="exported",
            reason=manifest.reason,
            student_id=draft.student_id,
            sha256=draft.sha256,
            size=len(draft.pdf),
            records=draft.records,
            sender_school_id=manifest.school.id,
            sender_school_name=manifest.school.name,
            sender_package_id=manifest.package_id,
            actor_id=principal.user_id,
            created_at=manifest.created_at,
        )
        self.repository.add(session, package, _file_rows(package.id, manifest.files))
        append(
            session,
            AUDIT,
            school_id=principal.school_id,
            actor_id=principal.user_id,
            actor_name=principal.name,
            action=SigningAction.package_exported,
            subject_kind="student",
            subject_id=draft.student_id,
            details={
                "package_id": str(package.id),
                "reason": manifest.reason,
                "records": draft.records,
                "sha256": draft.sha256,
                "files": len(manifest.files),
            },
        )
        await self.outbox.add(
            session,
            PackageExported(
                package_id=package.id,
                student_id=draft.student_id,
                reason=manifest.reason,
                sha256=draft.sha256,
                records=draft.records,
                exported_by=principal.user_id,
                exported_at=manifest.created_at,
            ),
            principal.school_id,
        )
        return package

    # --- import -----------------------------------------------------------------------------

    def refuse(self, session: AsyncSession, principal: Principal, inspection: Inspection) -> None:
        """Keep the refusal in the trail (each file's reason), in its own transaction."""
        manifest = inspection.manifest
        append(
            session,
            AUDIT,
            school_id=principal.school_id,
            actor_id=principal.user_id,
            actor_name=principal.name,
            action=SigningAction.package_refused,
            subject_kind="package",
            subject_id=inspection.sha256,
            details={
                "sha256": inspection.sha256,
                "sender": manifest.school.name if manifest else None,
                "problems": [p.as_dict() for p in inspection.problems][:50],
            },
        )

    def draft_import(
        self, inspection: Inspection, school: SchoolFacts, student_id: uuid.UUID, created: bool
    ) -> ImportDraft:
        manifest = inspection.manifest
        assert manifest is not None
        import_id = uuid.uuid4()
        receipt = Receipt(
            import_id=import_id,
            package_id=manifest.package_id,
            package_sha256=inspection.sha256,
            sender=manifest.school,
            receiver=SchoolRef(id=school.school_id, name=school.name, province=school.province),
            student_national_id=manifest.student.national_id,
            student_full_name=manifest.student.full_name,
            records=sum(1 for f in manifest.files if f.kind == "record_pdf"),
            files=[ReceiptFile(name=f.name, sha256=f.sha256) for f in manifest.files],
            received_at=datetime.now(UTC),
        )
        return ImportDraft(inspection, student_id, created, receipt, import_id=import_id)

    async def build_receipt(self, draft: ImportDraft, seal: Seal, package_pdf: bytes) -> str:
        """Store the package and its files as received (read-only), render and seal the receipt."""
        await asyncio.to_thread(self.store.put, package_pdf)
        for data in draft.inspection.files.values():
            await asyncio.to_thread(self.store.put, data)
        pdf = await asyncio.to_thread(render_receipt, draft.receipt)
        draft.receipt_pdf = await self._seal(pdf, seal, RECEIPT_FIELD, "Đóng dấu biên nhận hồ sơ học bạ số")
        return await asyncio.to_thread(self.store.put, draft.receipt_pdf)

    async def settle_import(
        self,
        session: AsyncSession,
        principal: Principal,
        draft: ImportDraft,
        package_size: int,
        receipt_sha256: str,
    ) -> ExchangePackage:
        manifest = draft.inspection.manifest
        assert manifest is not None
        receipt = draft.receipt
        package = ExchangePackage(
            id=draft.import_id,
            school_id=principal.school_id,
            direction="imported",
            reason=manifest.reason,
            student_id=draft.student_id,
            sha256=draft.inspection.sha256,
            size=package_size,
            records=receipt.records,
            sender_school_id=manifest.school.id,
            sender_school_name=manifest.school.name,
            sender_package_id=manifest.package_id,
            receipt_sha256=receipt_sha256,
            actor_id=principal.user_id,
            created_at=receipt.received_at,
        )
        self.repository.add(session, package, _file_rows(package.id, manifest.files))
        append(
            session,
            AUDIT,
            school_id=principal.school_id,
            actor_id=principal.user_id,
            actor_name=principal.name,
            action=SigningAction.package_imported,
            subject_kind="student",
            subject_id=draft.student_id,
            details={
                "import_id": str(package.id),
                "sender": manifest.school.name,
                "sender_package_id": str(manifest.package_id),
                "sha256": package.sha256,
                "records": receipt.records,
                "student_created": draft.created,
                "receipt_sha256": receipt_sha256,
            },
        )
        await self.outbox.add(
            session,
            PackageReceived(
                import_id=package.id,
                package_sha256=package.sha256,
                sender_package_id=manifest.package_id,
                sender_school_id=manifest.school.id,
                receipt_sha256=receipt_sha256,
                students=1,
                records=receipt.records,
                received_at=receipt.received_at,
            ),
            principal.school_id,
        )
        return package


def _file_rows(package_id: uuid.UUID, entries: list[ManifestFile]) -> list[ExchangeFile]:
    return [
        ExchangeFile(
            package_id=package_id,
            name=entry.name,
            kind=entry.kind,
            media_type=entry.media_type,
            sha256=entry.sha256,
            size=entry.size,
            school_year=entry.school_year,
            class_name=entry.class_name,
        )
        for entry in entries
    ]


def register_receipt(
    session: AsyncSession,
    principal: Principal,
    package: ExchangePackage,
    receipt: Receipt,
    receipt_sha256: str,
) -> None:
    """The receipt of a package that left, checked (`inspection.inspect_receipt`): kept on the
    package, in the trail. The caller stored the file."""
    package.receipt_sha256 = receipt_sha256
    append(
        session,
        AUDIT,
        school_id=principal.school_id,
        actor_id=principal.user_id,
        actor_name=principal.name,
        action=SigningAction.receipt_registered,
        subject_kind="student",
        subject_id=package.student_id,
        details={
            "package_id": str(package.id),
            "receiver": receipt.receiver.name,
            "receipt_sha256": receipt_sha256,
            "received_at": receipt.received_at.isoformat(),
        },
    )
