"""Downloading signed documents, authorised per document (documents/access.py)."""

from __future__ import annotations

import asyncio
import uuid

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel

from hbs_shared.auth import CurrentPrincipal, Principal
from hbs_shared.problems import Problem
from hbs_shared.service import runtime_of
from hbs_signing.documents.access import OVERSIGHT_ROLES, may_read, may_read_student
from hbs_signing.documents.repository import DocumentRepository
from hbs_signing.documents.store import DocumentStore
from hbs_signing.models import SignedDocument

router = APIRouter(prefix="/documents", tags=["documents"])
_documents = DocumentRepository()
NOT_FOUND = Problem(404, "Không tìm thấy tài liệu", "no such document", field="document_id")


async def _visible(request: Request, principal: Principal, document_id: uuid.UUID) -> SignedDocument:
    async with runtime_of(request).db.transaction() as session:
        document = await _documents.get(session, document_id)
    if document is None or not await may_read(request, principal, document):
        raise NOT_FOUND
    return document


class RecordDocumentOut(BaseModel):
    """The newest signed version of one year record (học bạ) of a student."""

    document_id: uuid.UUID
    record_id: uuid.UUID
    signature_count: int
    sealed: bool
    verification_code: str
    created_at: str


@router.get("/students/{student_id}/records", response_model=list[RecordDocumentOut])
async def student_records(
    student_id: uuid.UUID, principal: CurrentPrincipal, request: Request
) -> list[RecordDocumentOut]:
    """A student's year records, newest version of each: overseers see every one; the student
    and their parents only the sealed ones. Any other student is 404."""
    if not await may_read_student(request, principal, student_id):
        raise Problem(404, "Không tìm thấy học sinh", "no such student, or not yours", field="student_id")
    async with runtime_of(request).db.transaction() as session:
        versions = await _documents.records_of_student(session, principal.school_id, student_id)
    newest: dict[uuid.UUID, SignedDocument] = {}
    for document in versions:
        newest.setdefault(document.subject_id, document)
    family = not principal.has_role(*OVERSIGHT_ROLES)
    return [
        RecordDocumentOut(
            document_id=d.id,
            record_id=d.subject_id,
            signature_count=d.signature_count,
            sealed=d.sealed,
            verification_code=d.printed_code or d.verification_code,
            created_at=d.created_at.isoformat(),
        )
        for d in newest.values()
        if d.sealed or not family
    ]


@router.get("/{document_id}")
async def document_info(
    document_id: uuid.UUID, principal: CurrentPrincipal, request: Request
) -> dict[str, object]:
    document = await _visible(request, principal, document_id)
    return {
        "id": str(document.id),
        "sha256": document.sha256,
        "size": document.size,
        "kind": document.kind,
        "subject_id": str(document.subject_id),
        "signer_role": document.signer_role,
        "certificate_sha256": document.certificate_sha256,
        "verification_code": document.printed_code or document.verification_code,
        "signature_count": document.signature_count,
        "sealed": document.sealed,
        "base_document_id": str(document.base_document_id) if document.base_document_id else None,
        "created_at": document.created_at.isoformat(),
    }


@router.get("/{document_id}/pdf")
async def document_pdf(document_id: uuid.UUID, principal: CurrentPrincipal, request: Request) -> Response:
    document = await _visible(request, principal, document_id)
    store: DocumentStore = request.app.state.document_store
    content = await asyncio.to_thread(store.get, document.sha256)
    return Response(
        content,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="hbs-{document.verification_code}.pdf"',
            "ETag": f'"{document.sha256}"',
            "Cache-Control": "private, no-store",
        },
    )
