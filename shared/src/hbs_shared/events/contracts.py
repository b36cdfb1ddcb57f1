"""Versioned event contracts. Events carry ids and digests, never documents."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import ClassVar, Literal

from pydantic import AwareDatetime, Field

from hbs_shared.events.envelope import EventPayload

GRADES_SHEETS_TOPIC = "grades.sheets"
SIGNING_DOCUMENTS_TOPIC = "signing.documents"

SignerRole = Literal["subject_teacher", "homeroom_teacher", "vice_principal", "principal", "seal"]

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
