"""Public verification: no login, rate-limited, minimal personal data (no student data at all)."""

from __future__ import annotations

import asyncio
import re
from typing import Any

from fastapi import APIRouter, Path, Request

from hbs_shared.problems import Problem
from hbs_shared.service import runtime_of
from hbs_signing.documents.repository import DocumentRepository
from hbs_signing.documents.store import DocumentStore
from hbs_signing.models import SignedDocument
from hbs_signing.verification.bounded import BoundedExaminer, VerificationBusy, VerificationTooCostly
from hbs_signing.verification.expectation import expectation_for
from hbs_signing.verification.identify import identify
from hbs_signing.verification.schemas import VerificationReport
from hbs_signing.verification.service import Expectation, RateLimiter, Verifier

router = APIRouter(tags=["public verification"])
_PDF_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
    }
}
_CODE = re.compile(r"^[0-9A-Z]{6,16}$")
_documents = DocumentRepository()


def _limit(request: Request) -> None:
    limiter: RateLimiter = request.app.state.rate_limiter
    client = request.client.host if request.client is not None else "unknown"
    if not limiter.allow(client):
        raise Problem(429, "Quá nhiều yêu cầu, vui lòng thử lại sau", "rate limit exceeded")


async def _expectation(request: Request, document: SignedDocument | None) -> Expectation | None:
    if document is None:
        return None
    async with runtime_of(request).db.transaction() as session:
        return await expectation_for(session, document)


@router.post("/verify", response_model=VerificationReport, openapi_extra=_PDF_BODY, name="verify_upload")
@router.post(
    "/v1/verify", response_model=VerificationReport, openapi_extra=_PDF_BODY, name="verify_upload_v1"
)
async def verify_upload(request: Request) -> dict[str, Any]:
    """Upload a PDF (body ``application/pdf``): a report on every signature and on the version."""
    _limit(request)
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/pdf":
        raise Problem(415, "Cần tải lên tệp PDF", "send the file as application/pdf", field="file")
    limit: int = request.app.state.verify_max_upload
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > limit:
            raise Problem(
                413, f"Tệp quá lớn (tối đa {limit // (1024 * 1024)} MB)", "file too large", field="file"
            )
    pdf = bytes(body)
    examiner: BoundedExaminer = request.app.state.upload_examiner
    try:
        examination = await examiner.examine(pdf)
    except VerificationBusy as busy:
        raise Problem(503, "Hệ thống đang bận kiểm tra tệp khác, vui lòng thử lại sau", "busy") from busy
    except VerificationTooCostly as costly:
        raise Problem(
            422,
            "Không kiểm tra được tệp trong giới hạn cho phép: tệp không phải một văn bản do hệ thống cấp",
            "the file needs more work to examine than any issued document",
            field="file",
        ) from costly
    store: DocumentStore = request.app.state.document_store
    async with runtime_of(request).db.transaction() as session:
        found = await identify(session, store, pdf, examination)
    verifier: Verifier = request.app.state.verifier_service
    return verifier.judge(examination, await _expectation(request, found.document), found.relation)


@router.get("/verify/{code}", response_model=VerificationReport, name="verify_code")
@router.get("/v1/verify/{code}", response_model=VerificationReport, name="verify_code_v1")
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
    verifier: Verifier = request.app.state.verifier_service
    # Our own stored bytes, not an upload: examined in a thread.
    return await asyncio.to_thread(verifier.verify, pdf, await _expectation(request, document))
