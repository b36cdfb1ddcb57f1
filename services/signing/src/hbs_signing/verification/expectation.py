"""What a stored version of a document must look like to verify: its signature fields, the
certificates that signed each version it builds on (and the school's seal), and whether it is
still the subject's current version."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from hbs_shared.roles import Role
from hbs_shared.signing_order import RECORD_SIGNERS
from hbs_signing.certificates.repository import CertificateRepository
from hbs_signing.documents.layout import MINUTES_FIELDS, RECORD_FIELDS, SHEET_FIELD
from hbs_signing.documents.repository import DocumentRepository
from hbs_signing.models import SignedDocument
from hbs_signing.status.service import DocumentStatuses
from hbs_signing.verification.service import Expectation

_documents = DocumentRepository()
_statuses = DocumentStatuses()
_certificates = CertificateRepository()
_RECORD_ORDER = (*RECORD_SIGNERS, Role.seal)


async def expectation_for(session: AsyncSession, document: SignedDocument) -> Expectation:
    """What a stored version must show: its fields, the certificates that signed them, current or not."""
    current = await _documents.current_for(session, document.school_id, document.subject_id)
    if document.kind == "year_record":
        fields = tuple(RECORD_FIELDS[role] for role in _RECORD_ORDER)[: document.signature_count]
    elif document.kind == "correction_minutes":
        fields = (MINUTES_FIELDS.get(document.signer_role, ""),)
    else:
        fields = (SHEET_FIELD,)
    certificates: dict[str, set[str]] = {}
    version: SignedDocument | None = document
    seen = 0
    while version is not None and seen < 10:
        role_field = RECORD_FIELDS.get(version.signer_role) if document.kind == "year_record" else fields[0]
        if role_field is not None:
            certificates.setdefault(role_field, set()).add(version.certificate_sha256)
        version = (
            await _documents.get(session, version.school_id, version.base_document_id)
            if version.base_document_id
            else None
        )
        seen += 1
    if document.sealed:
        certificates[RECORD_FIELDS["seal"]] = await _certificates.digests_for_role(
            session, document.school_id, "seal"
        )
    return Expectation(
        document=document,
        is_current=current is not None and current.id == document.id,
        fields=fields,
        certificates=certificates,
        status=await _statuses.of(session, document, current),
    )
