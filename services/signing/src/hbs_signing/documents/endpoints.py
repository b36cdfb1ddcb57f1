"""Downloading signed documents (staff, authorised per document)."""

from __future__ import annotations

import asyncio
import uuid

from fastapi import APIRouter, Request
from fastapi.responses import Response

from hbs_shared.auth import CurrentPrincipal, Principal
from hbs_shared.problems import Problem
from hbs_shared.service import runtime_of
from hbs_signing.documents.repository import DocumentRepository
from hbs_signing.documents.store import DocumentStore
from hbs_signing.models import SignedDocument

router = APIRouter(prefix="/documents", tags=["documents"])
_documents = DocumentRepository()
OVERSIGHT_ROLES = ("principal", "vice_principal", "system_admin", "office_admin")


async def _visible(request: Request, principal: Principal, document_id: uuid.UUID) -> SignedDocument:
    async with runtime_of(request).db.transaction() as session:
        document = await _documents.get(session, document_id)
    allowed = (
        document is not None
        and document.school_id == principal.school_id
        and (document.signer_user_id == principal.user_id or principal.has_role(*OVERSIGHT_ROLES))
    )
    if document is None or not allowed:
        raise Problem(404, "Không tìm thấy tài liệu", "no such document", field="document_id")
    return document


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
