"""Versioned event contracts. Events carry ids and digests, never documents."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import ClassVar, Literal

from pydantic import AwareDatetime, Field

from hbs_shared.events.envelope import EventPayload
from hbs_shared.records import CorrectionMinutesContent, ScoreSheetContent, YearRecordContent
from hbs_shared.roles import Role

GRADES_SHEETS_TOPIC = "grades.sheets"
GRADES_RECORDS_TOPIC = "grades.records"
SIGNING_DOCUMENTS_TOPIC = "signing.documents"
# Its own topic: grades consumes signing.documents and would dead-letter an unknown type.
SIGNING_BATCHES_TOPIC = "signing.batches"
SIGNING_EXCHANGE_TOPIC = "signing.exchange"
"""Transfer and graduation packages (issue 13): exported, and received by another school."""

SignerRole = Literal[
    Role.subject_teacher, Role.homeroom_teacher, Role.vice_principal, Role.principal, Role.seal
]
SubjectKind = Literal["sheet", "record", "minutes"]
"""What a signing reply's subject is: a score sheet (step 1), a year record (steps 2–4) or the
minutes of a sheet's correction (its id is the correction's). "minutes" was added to v2 without a
new version: only a grades that asks for minutes' signatures ever receives a reply about them."""

_SHA256 = r"^[0-9a-f]{64}$"


class SheetSigningRequested(EventPayload):
    """A score sheet (sổ điểm of one class-subject-term) was submitted and asks for Step 1."""

    event_type: ClassVar[str] = "grades.sheet.signing_requested"
    event_version: ClassVar[int] = 1
    topic: ClassVar[str] = GRADES_SHEETS_TOPIC

    request_id: uuid.UUID
    sheet_id: uuid.UUID
    sheet_version: int = Field(ge=1)
    signer_user_id: uuid.UUID
    signer_name: str = Field(min_length=1, max_length=200)
    signer_role: SignerRole
    class_name: str = Field(min_length=1, max_length=40)
    subject: str = Field(min_length=1, max_length=120)
    term: str = Field(min_length=1, max_length=40)
    school_year: str = Field(pattern=r"^\d{4}-\d{4}$")

    def partition_key(self) -> str:
        return str(self.sheet_id)


class SheetSigningRequestedV2(EventPayload):
    """Step 1 with the sheet's content and the teacher's signature activation (Đ8, Đ7.2).

    The activation (obtained from the signing service with the signing PIN) binds this request
    to this signer; a login token alone never signs.
    """

    event_type: ClassVar[str] = "grades.sheet.signing_requested"
    event_version: ClassVar[int] = 2
    topic: ClassVar[str] = GRADES_SHEETS_TOPIC

    request_id: uuid.UUID
    activation_id: uuid.UUID
    signer_user_id: uuid.UUID
    signer_name: str = Field(min_length=1, max_length=200)
    signer_role: SignerRole
    sheet: ScoreSheetContent

    def partition_key(self) -> str:
        return str(self.sheet.sheet_id)


class RecordSigningRequested(EventPayload):
    """Steps 2–4 on a student's year record: homeroom teacher, vice-principal, principal + seal.

    `base_document_id` is the document the new signature is added to (None for the first);
    signatures are incremental, each earlier one stays valid.
    """

    event_type: ClassVar[str] = "grades.record.signing_requested"
    event_version: ClassVar[int] = 1
    topic: ClassVar[str] = GRADES_RECORDS_TOPIC

    request_id: uuid.UUID
    activation_id: uuid.UUID
    batch_id: uuid.UUID | None = None
    signer_user_id: uuid.UUID
    signer_name: str = Field(min_length=1, max_length=200)
    signer_role: SignerRole
    base_document_id: uuid.UUID | None = None
    record: YearRecordContent

    def partition_key(self) -> str:
        return str(self.record.record_id)


class RecordRevoked(EventPayload):
    """The board annulled a sealed year record under minutes (biên bản thu hồi, Đ9): every signed
    version of it now verifies as revoked. Grades owns the record's lifecycle; signing keeps the
    documents' public status, so it learns this from the record's own topic, in order with its
    signing requests.
    """

    event_type: ClassVar[str] = "grades.record.revoked"
    event_version: ClassVar[int] = 1
    topic: ClassVar[str] = GRADES_RECORDS_TOPIC

    record_id: uuid.UUID
    """The subject whose every signed version is revoked."""
    document_id: uuid.UUID | None = None
    """The sealed version grades held when it was revoked."""
    minutes_number: str = Field(min_length=1, max_length=60)
    minutes_date: date
    reason: str = Field(min_length=1, max_length=2000)
    """Kept by signing for the school; the public answer does not show it (it may name people)."""
    revoked_by: uuid.UUID
    revoked_by_role: SignerRole
    revoked_at: AwareDatetime

    def partition_key(self) -> str:
        return str(self.record_id)


class MinutesSigningRequested(EventPayload):
    """The board member who opened a sheet's correction signs its minutes (biên bản, Đ9.2).

    On the sheet's topic, keyed by the sheet, so it stays in order with the sheet's own requests;
    signing accepts it only from a board role (principal or vice-principal).
    """

    event_type: ClassVar[str] = "grades.sheet.minutes_signing_requested"
    event_version: ClassVar[int] = 1
    topic: ClassVar[str] = GRADES_SHEETS_TOPIC

    request_id: uuid.UUID
    activation_id: uuid.UUID
    signer_user_id: uuid.UUID
    signer_name: str = Field(min_length=1, max_length=200)
    signer_role: SignerRole
    minutes: CorrectionMinutesContent

    def partition_key(self) -> str:
        return str(self.minutes.sheet_id)


class SigningCompleted(EventPayload):
    """A document was signed; grades advances the workflow on this."""

    event_type: ClassVar[str] = "signing.completed"
    event_version: ClassVar[int] = 1
    topic: ClassVar[str] = SIGNING_DOCUMENTS_TOPIC

    request_id: uuid.UUID
    subject_id: uuid.UUID
    """The aggregate the signature is for (a sheet or a year record)."""
    document_id: uuid.UUID
    sha256: str = Field(pattern=_SHA256)
    signer_user_id: uuid.UUID
    signer_role: SignerRole
    certificate_sha256: str = Field(pattern=_SHA256)
    signed_at: AwareDatetime

    def partition_key(self) -> str:
        return str(self.subject_id)


class SigningFailed(EventPayload):
    """A signing request could not be carried out; the reason says why."""

    event_type: ClassVar[str] = "signing.failed"
    event_version: ClassVar[int] = 1
    topic: ClassVar[str] = SIGNING_DOCUMENTS_TOPIC

    request_id: uuid.UUID
    subject_id: uuid.UUID
    signer_user_id: uuid.UUID
    reason: str = Field(min_length=1, max_length=1000)
    failed_at: datetime

    def partition_key(self) -> str:
        return str(self.subject_id)


class SigningCompletedV2(SigningCompleted):
    """v2 names the subject's kind, so grades routes the reply without looking the id up.

    A new version rather than a defaulted field: no default kind is right for both, and v1
    stays readable by grades while a signing deployed before it still sends v1.
    """

    event_version: ClassVar[int] = 2

    subject_kind: SubjectKind


class SigningFailedV2(SigningFailed):
    """v2 names the subject's kind (see `SigningCompletedV2`)."""

    event_version: ClassVar[int] = 2

    subject_kind: SubjectKind


class SigningBatchProgress(EventPayload):
    """How far one signer's batch of signing requests has got (sent as each chunk is stored)."""

    event_type: ClassVar[str] = "signing.batch.progress"
    event_version: ClassVar[int] = 1
    topic: ClassVar[str] = SIGNING_BATCHES_TOPIC

    batch_id: uuid.UUID
    signer_user_id: uuid.UUID
    total: int = Field(ge=0)
    """Requests of this batch received so far (more may still arrive)."""
    done: int = Field(ge=0)
    failed: int = Field(ge=0)

    def partition_key(self) -> str:
        return str(self.batch_id)


ExchangeReason = Literal["transferred", "graduated"]
"""Why a package leaves the school: a transfer (chuyển trường) or graduation (tốt nghiệp)."""


class PackageExported(EventPayload):
    """A transfer or graduation package (hồ sơ chuyển trường / tốt nghiệp) was sealed for a student."""

    event_type: ClassVar[str] = "signing.package.exported"
    event_version: ClassVar[int] = 1
    topic: ClassVar[str] = SIGNING_EXCHANGE_TOPIC

    package_id: uuid.UUID
    student_id: uuid.UUID
    reason: ExchangeReason
    sha256: str = Field(pattern=_SHA256)
    """The sealed package file."""
    records: int = Field(ge=0, le=100)
    """Sealed year records it carries."""
    exported_by: uuid.UUID
    exported_at: AwareDatetime

    def partition_key(self) -> str:
        return str(self.package_id)


class PackageReceived(EventPayload):
    """A package from another school passed every check here and was imported; the receipt
    (biên nhận) sealed by this school goes back to the sender."""

    event_type: ClassVar[str] = "signing.package.received"
    event_version: ClassVar[int] = 1
    topic: ClassVar[str] = SIGNING_EXCHANGE_TOPIC

    import_id: uuid.UUID
    package_sha256: str = Field(pattern=_SHA256)
    sender_package_id: uuid.UUID
    """The package's id as the sending school named it (its manifest)."""
    sender_school_id: str = Field(min_length=1, max_length=64)
    receipt_sha256: str = Field(pattern=_SHA256)
    students: int = Field(ge=1, le=10_000)
    records: int = Field(ge=0, le=100_000)
    received_at: AwareDatetime

    def partition_key(self) -> str:
        return str(self.import_id)
