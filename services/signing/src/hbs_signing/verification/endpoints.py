"""Public verification: no login, rate-limited, minimal personal data (no student data at all)."""

from __future__ import annotations

import asyncio
import base64
import binascii
import re
from collections import OrderedDict
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from hbs_shared.problems import Problem
from hbs_shared.service import runtime_of
from hbs_signing.documents.repository import DocumentRepository
from hbs_signing.documents.store import DocumentStore
from hbs_signing.models import SignedDocument
from hbs_signing.verification.bounded import BoundedExaminer, VerificationBusy, VerificationTooCostly
from hbs_signing.verification.expectation import expectation_for
from hbs_signing.verification.identify import identify
from hbs_signing.verification.schemas import BatchAnswers, VerificationReport
from hbs_signing.verification.service import INVALID, Examination, Expectation, RateLimiter, Verifier

router = APIRouter(tags=["public verification"])
_PDF_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
    }
}
_CODE = re.compile(r"^[0-9A-Z]{6,16}$")
_documents = DocumentRepository()
_STORED_CACHE = 2048
"""Examinations of stored versions kept (their bytes never change): a batch of codes re-examines none."""


def limit_rate(request: Request, cost: int = 1) -> None:
    """Public endpoints share one sliding window per client address; a batch costs more than one."""
    limiter: RateLimiter = request.app.state.rate_limiter
    client = request.client.host if request.client is not None else "unknown"
    if not limiter.allow(client, cost):
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
    limit_rate(request)
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
    return await _verify_file(request, bytes(body), "file")


async def _verify_file(request: Request, pdf: bytes, field: str) -> dict[str, Any]:
    """An uploaded file examined in a bounded child process, then judged against what was issued."""
    examiner: BoundedExaminer = request.app.state.upload_examiner
    try:
        examination = await examiner.examine(pdf)
    except VerificationBusy as busy:
        raise Problem(
            503, "Hệ thống đang bận kiểm tra tệp khác, vui lòng thử lại sau", "busy", field=field
        ) from busy
    except VerificationTooCostly as costly:
        raise Problem(
            422,
            "Không kiểm tra được tệp trong giới hạn cho phép: tệp không phải một văn bản do hệ thống cấp",
            "the file needs more work to examine than any issued document",
            field=field,
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
    limit_rate(request)
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


class BatchFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(default="", max_length=200)
    """The receiver's own name for the file, echoed in its answer."""
    content_base64: str = Field(min_length=1)
    """The PDF, base64 (standard alphabet)."""


class BatchIn(BaseModel):
    """Many codes and/or files in one request; each gets one answer, in the order sent."""

    model_config = ConfigDict(extra="forbid")

    codes: list[Annotated[str, Field(min_length=1, max_length=40)]] = Field(default_factory=list)
    files: list[BatchFile] = Field(default_factory=list)


def _summary(report: dict[str, Any]) -> dict[str, Any]:
    """One item's answer: the verdict and the issued version's status, not every signature."""
    document = report.get("document")
    keep = ("kind", "verification_code", "version_sha256", "signed_at", "sealed", "status")
    return {
        "verdict": report["verdict"],
        "sha256": report["sha256"],
        "file": report.get("file"),
        "document": None
        if document is None
        else {
            **{key: document.get(key) for key in keep},
            "relation": document.get("relation"),
            "superseded_by": document.get("superseded_by"),
            "revocation": document.get("revocation"),
        },
        "problems": report["problems"],
    }


async def _read_bounded(request: Request, limit: int, field: str) -> bytes:
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > limit:
            raise Problem(413, "Yêu cầu quá lớn", f"the request is larger than {limit} bytes", field=field)
    return bytes(body)


async def _verify_stored(request: Request, document: SignedDocument) -> dict[str, Any]:
    """Our own stored bytes (a code's newest version): examined in a thread, once per version."""
    cache: OrderedDict[str, Examination] = request.app.state.stored_examinations
    verifier: Verifier = request.app.state.verifier_service
    examination = cache.get(document.sha256)
    if examination is None:
        store: DocumentStore = request.app.state.document_store
        pdf = await asyncio.to_thread(store.get, document.sha256)
        examination = await asyncio.to_thread(verifier.examine, pdf)
        cache[document.sha256] = examination
        while len(cache) > _STORED_CACHE:
            cache.popitem(last=False)
    return verifier.judge(examination, await _expectation(request, document))


@router.post("/verify/batch", response_model=BatchAnswers, name="verify_batch")
@router.post("/v1/verify/batch", response_model=BatchAnswers, name="verify_batch_v1")
async def verify_batch(request: Request) -> dict[str, Any]:
    """Many verification codes and/or PDFs (JSON `{codes: [...], files: [{name, content_base64}]}`),
    one answer each, in the order sent: a university checking an intake. Bounded: at most
    `HBS_SIGNING_VERIFY_BATCH_MAX_CODES` codes and `..._MAX_FILES` files, each file within the
    single upload's size and CPU limits; a refusal names the field (`codes`, `files.2.content_base64`)."""
    limit_rate(request)
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        raise Problem(415, "Cần gửi JSON", "send application/json", field="body")
    max_codes: int = request.app.state.verify_batch_max_codes
    max_files: int = request.app.state.verify_batch_max_files
    max_upload: int = request.app.state.verify_max_upload
    raw = await _read_bounded(
        request, max_files * (max_upload * 4 // 3 + 1024) + max_codes * 64 + 4096, "body"
    )
    try:
        batch = BatchIn.model_validate_json(raw)
    except ValidationError as error:
        raise RequestValidationError(
            [{**item, "loc": ("body", *item["loc"])} for item in error.errors()]
        ) from None
    if not batch.codes and not batch.files:
        raise Problem(422, "Cần ít nhất một mã tra cứu hoặc một tệp", "nothing to verify", field="codes")
    if len(batch.codes) > max_codes:
        raise Problem(
            422, f"Tối đa {max_codes} mã tra cứu mỗi lần", f"at most {max_codes} codes", field="codes"
        )
    if len(batch.files) > max_files:
        raise Problem(422, f"Tối đa {max_files} tệp mỗi lần", f"at most {max_files} files", field="files")
    pdfs = []
    for index, item in enumerate(batch.files):
        field = f"files.{index}.content_base64"
        if len(item.content_base64) > (max_upload * 4 // 3) + 4:
            raise Problem(
                413, f"Tệp quá lớn (tối đa {max_upload // (1024 * 1024)} MB)", "file too large", field=field
            )
        try:
            pdfs.append(base64.b64decode(item.content_base64, validate=True))
        except (binascii.Error, ValueError):
            raise Problem(422, "Tệp không đúng mã hóa base64", "not base64", field=field) from None
    extra = len(batch.codes) // 10 + len(batch.files)  # a batch counts as many requests as it costs
    if extra:
        limit_rate(request, min(request.app.state.rate_limiter.per_minute, extra))

    results: list[dict[str, Any]] = []
    for index, raw_code in enumerate(batch.codes):
        code = raw_code.strip().upper()
        answer: dict[str, Any] = {"item": f"codes.{index}", "code": code}
        document = None
        if _CODE.match(code):
            async with runtime_of(request).db.transaction() as session:
                document = await _documents.by_code(session, code)
        if document is None:
            results.append(
                {**answer, "found": False, "verdict": INVALID, "problems": ["no document has this code"]}
            )
            continue
        results.append({**answer, "found": True, **_summary(await _verify_stored(request, document))})
    for index, (item, pdf) in enumerate(zip(batch.files, pdfs, strict=True)):
        answer = {"item": f"files.{index}", "name": item.name}
        try:
            report = await _verify_file(request, pdf, f"files.{index}")
        except Problem as problem:
            results.append({**answer, "found": False, "verdict": INVALID, "problems": [problem.detail]})
            continue
        results.append({**answer, "found": report.get("document") is not None, **_summary(report)})
    return {"results": results}
