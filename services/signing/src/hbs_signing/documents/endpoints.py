"""Downloading signed documents, authorised per document (documents/access.py)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict

from hbs_shared.auth import CurrentPrincipal, Principal, person_or_scope
from hbs_shared.problems import Problem
from hbs_shared.service import runtime_of
from hbs_signing.documents.access import OVERSIGHT_ROLES, may_read, may_read_student
from hbs_signing.documents.repository import DocumentRepository
from hbs_signing.documents.store import DocumentStore
from hbs_signing.models import SignedDocument

router = APIRouter(prefix="/documents", tags=["documents"])
_documents = DocumentRepository()
NOT_FOUND = Problem(404, "Không tìm thấy tài liệu", "no such document", field="document_id")
RecordReader = Annotated[Principal, person_or_scope("records.read")]
"""A person (decided per document below), or an outside system with `records.read`, which is
refused for now: a student's consent to share is not modelled yet (hbs_shared.auth)."""
_PDF_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The signed PDF (PAdES), as stored",
        "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
    }
}


async def _visible(request: Request, principal: Principal, document_id: uuid.UUID) -> SignedDocument:
    async with runtime_of(request).db.transaction() as session:
        document = await _documents.get(session, principal.school_id, document_id)
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


class DocumentOut(BaseModel):
    """One signed version of a document (its metadata; the file is `/documents/{id}/pdf`)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "0b6f3c1e-8a2d-4e5f-9a7b-1c2d3e4f5a6b",
                    "sha256": "9f2c5d0e…",
                    "size": 48211,
                    "kind": "score_sheet",
                    "subject_id": "5d7e8f90-1a2b-4c3d-8e9f-0a1b2c3d4e5f",
                    "signer_role": "subject_teacher",
                    "certificate_sha256": "c1d2e3…",
                    "verification_code": "7KQ2M9XA",
                    "signature_count": 1,
                    "sealed": False,
                    "base_document_id": None,
                    "created_at": "2026-12-18T09:12:00+00:00",
                }
            ]
        }
    )

    id: uuid.UUID
    sha256: str
    size: int
    kind: str
    subject_id: uuid.UUID
    signer_role: str
    certificate_sha256: str
    verification_code: str
    signature_count: int
    sealed: bool
    base_document_id: uuid.UUID | None
    created_at: datetime


@router.get("/students/{student_id}/records", response_model=list[RecordDocumentOut])
async def student_records(
    student_id: uuid.UUID, principal: RecordReader, request: Request
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


@router.get("/{document_id}", response_model=DocumentOut)
async def document_info(document_id: uuid.UUID, principal: CurrentPrincipal, request: Request) -> DocumentOut:
    document = await _visible(request, principal, document_id)
    return DocumentOut(
        id=document.id,
        sha256=document.sha256,
        size=document.size,
        kind=document.kind,
        subject_id=document.subject_id,
        signer_role=document.signer_role,
        certificate_sha256=document.certificate_sha256,
        verification_code=document.printed_code or document.verification_code,
        signature_count=document.signature_count,
        sealed=document.sealed,
        base_document_id=document.base_document_id,
        created_at=document.created_at,
    )


@router.get("/{document_id}/pdf", response_class=Response, responses=_PDF_RESPONSE)
async def document_pdf(document_id: uuid.UUID, principal: RecordReader, request: Request) -> Response:
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
