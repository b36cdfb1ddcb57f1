"""Public verification: no login, rate-limited, minimal personal data (no student data at all)."""

from __future__ import annotations

import asyncio
import hashlib
import re
from typing import Any

from fastapi import APIRouter, Path, Request
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hbs_shared.problems import Problem
from hbs_shared.roles import Role
from hbs_shared.service import runtime_of
from hbs_shared.signing_order import RECORD_SIGNERS
from hbs_signing.documents.layout import RECORD_FIELDS, SHEET_FIELD
from hbs_signing.documents.repository import DocumentRepository
from hbs_signing.documents.store import DocumentStore
from hbs_signing.models import Certificate, SignedDocument
from hbs_signing.verification.service import Expectation, RateLimiter, Verifier

router = APIRouter(prefix="/verify", tags=["public verification"])
MAX_UPLOAD = 20 * 1024 * 1024
_CODE = re.compile(r"^[0-9A-Z]{6,16}$")
_documents = DocumentRepository()
_RECORD_ORDER = (*RECORD_SIGNERS, Role.seal)


def _limit(request: Request) -> None:
    limiter: RateLimiter = request.app.state.rate_limiter
    client = request.client.host if request.client is not None else "unknown"
    if not limiter.allow(client):
        raise Problem(429, "Quá nhiều yêu cầu, vui lòng thử lại sau", "rate limit exceeded")


async def expectation_for(session: AsyncSession, document: SignedDocument) -> Expectation:
    current = await _documents.current_for(session, document.school_id, document.subject_id)
    if document.kind == "year_record":
        fields = tuple(RECORD_FIELDS[role] for role in _RECORD_ORDER)[: document.signature_count]
    else:
        fields = (SHEET_FIELD,)
    certificates: dict[str, set[str]] = {}
    version: SignedDocument | None = document
    seen = 0
    while version is not None and seen < 10:
        role_field = RECORD_FIELDS.get(version.signer_role) if document.kind == "year_record" else SHEET_FIELD
        if role_field is not None:
            certificates.setdefault(role_field, set()).add(version.certificate_sha256)
        version = (
            await _documents.get(session, version.base_document_id) if version.base_document_id else None
        )
        seen += 1
    if document.sealed:
        seals = await session.execute(
            select(Certificate.sha256).where(
                Certificate.school_id == document.school_id, Certificate.role == "seal"
            )
        )
        certificates[RECORD_FIELDS["seal"]] = set(seals.scalars())
    return Expectation(
        document=document,
        is_current=current is not None and current.id == document.id,
        fields=fields,
        certificates=certificates,
    )


async def _report(request: Request, pdf: bytes, document: SignedDocument | None) -> dict[str, Any]:
    verifier: Verifier = request.app.state.verifier_service
    expectation = None
    if document is not None:
        async with runtime_of(request).db.transaction() as session:
            expectation = await expectation_for(session, document)
    return await asyncio.to_thread(verifier.verify, pdf, expectation)


@router.post("")
async def verify_upload(request: Request) -> dict[str, Any]:
    """Upload a PDF (body ``application/pdf``): a report on every signature and on the version."""
    _limit(request)
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/pdf":
        raise Problem(415, "Cần tải lên tệp PDF", "send the file as application/pdf", field="file")
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > MAX_UPLOAD:
            raise Problem(413, "Tệp quá lớn", f"at most {MAX_UPLOAD // (1024 * 1024)} MB", field="file")
    pdf = bytes(body)
    async with runtime_of(request).db.transaction() as session:
        document = await _documents.by_sha256(session, hashlib.sha256(pdf).hexdigest())
    return await _report(request, pdf, document)


@router.get("/{code}")
async def verify_code(request: Request, code: str = Path(max_length=40)) -> dict[str, Any]:
    """The newest signed version printed with this code, verified as a file would be."""
    _limit(request)
    code = code.strip().upper()
    document = None
    if _CODE.match(code):
        async with runtime_of(request).db.transaction() as session:
            document = await _documents.by_code(session, code)
    if document is None:
        raise Problem(404, "Không tìm thấy mã tra cứu", "no document has this code", field="code")
    store: DocumentStore = request.app.state.document_store
    pdf = await asyncio.to_thread(store.get, document.sha256)
    return await _report(request, pdf, document)
