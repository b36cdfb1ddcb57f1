"""Endpoints for outside systems (OAuth 2 client credentials, versioned under /v1): the status of
an issued document by the SHA-256 of its file. The verification itself is `/v1/verify`
(verification/endpoints.py), public like `/verify`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request

from hbs_shared.auth import Principal, require_scope
from hbs_shared.problems import Problem
from hbs_shared.service import runtime_of
from hbs_signing.documents.repository import DocumentRepository
from hbs_signing.machine.schemas import DocumentStatus, VersionRef

router = APIRouter(prefix="/v1", tags=["outside systems"])
_documents = DocumentRepository()


@router.get("/status/{sha256}", response_model=DocumentStatus, name="document_status_v1")
async def document_status(
    request: Request,
    principal: Annotated[Principal, require_scope("verify")],
    sha256: str = Path(pattern=r"^[0-9a-f]{64}$", description="SHA-256 of the file, lower-case hex"),
) -> DocumentStatus:
    """Whether this exact file is an issued version, and whether it is still the one in force.
    A file with validation data added after issue has another digest: verify it with `/v1/verify`."""
    async with runtime_of(request).db.transaction() as session:
        document = await _documents.by_sha256(session, sha256)
        if document is None or document.school_id != principal.school_id:
            raise Problem(404, "Không tìm thấy văn bản", "no issued version has this SHA-256", field="sha256")
        current = await _documents.current_for(session, document.school_id, document.subject_id)
    newer = current if current is not None and current.id != document.id else None
    return DocumentStatus(
        sha256=document.sha256,
        kind=document.kind,
        verification_code=document.printed_code or document.verification_code,
        status="superseded" if newer is not None else "current",
        sealed=document.sealed,
        signatures=document.signature_count,
        signed_at=document.created_at,
        superseded_by=VersionRef(
            sha256=newer.sha256,
            verification_code=newer.printed_code or newer.verification_code,
            signed_at=newer.created_at,
        )
        if newer is not None
        else None,
    )
