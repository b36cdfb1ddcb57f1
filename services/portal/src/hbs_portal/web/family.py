"""Kết quả học tập: a parent's children (or a student themself), their signed results and the
signed học bạ PDF (Đ9). Every call carries the family member's own token, so grades and signing
ask identity whether this user may see this student; another family's child is a 404."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from hbs_portal.models import WebSession
from hbs_portal.web.backends import BackendError, Backends, SessionExpired
from hbs_portal.web.common import backends_of, pdf_response, signed_in, templates, to_login
from hbs_shared.labels import RATING_LABELS

router = APIRouter(include_in_schema=False)

RATINGS = RATING_LABELS
PENDING = "Chưa có"


def rating(code: str | None) -> str:
    return RATINGS.get(code, code) if code else PENDING


def subject_value(value: str | None, status: str) -> str:
    """A subject's result as the paper học bạ prints it: a score, Đạt/Chưa đạt, or Miễn."""
    if status == "exempt":
        return "Miễn"
    if value is None:
        return PENDING
    return RATINGS.get(value, value)


def promotion(result: dict[str, Any]) -> str:
    if result["promoted"] is None:
        return "Chưa xét"
    return "Được lên lớp" if result["promoted"] else "Không được lên lớp"


templates.env.globals.update(rating=rating, subject_value=subject_value, promotion=promotion)


async def _children(backends: Backends, token: str) -> list[dict[str, Any]]:
    response = await backends.call("GET", f"{backends.grades_url}/family/students", token)
    children: list[dict[str, Any]] = response.json()
    return children


def _problem(request: Request, web: WebSession, message: str, status: int) -> Response:
    return templates.TemplateResponse(
        request, "family/error.html", {"web": web, "error": message}, status_code=status
    )


@router.get("/results", response_model=None)
async def children_page(request: Request) -> Response:
    web = await signed_in(request)
    if isinstance(web, Response):
        return web
    try:
        children = await _children(backends_of(request), web.access_token)
    except SessionExpired:
        return to_login("expired")
    except BackendError as error:
        return _problem(request, web, error.title, error.status)
    notice = request.query_params.get("notice")
    if len(children) == 1:
        # A student (or a parent of one child) sees the results at once, on their home page.
        return await _results(request, web, uuid.UUID(children[0]["student_id"]), children, notice)
    return templates.TemplateResponse(
        request, "family/children.html", {"web": web, "children": children, "notice": notice}
    )


@router.get("/results/{student_id}", response_model=None)
async def results_page(request: Request, student_id: uuid.UUID) -> Response:
    web = await signed_in(request)
    if isinstance(web, Response):
        return web
    try:
        children = await _children(backends_of(request), web.access_token)
    except SessionExpired:
        return to_login("expired")
    except BackendError as error:
        return _problem(request, web, error.title, error.status)
    return await _results(request, web, student_id, children, None)


async def _results(
    request: Request,
    web: WebSession,
    student_id: uuid.UUID,
    children: list[dict[str, Any]],
    notice: str | None,
) -> Response:
    backends = backends_of(request)
    try:
        results = (
            await backends.call(
                "GET", f"{backends.grades_url}/family/students/{student_id}/results", web.access_token
            )
        ).json()
    except SessionExpired:
        return to_login("expired")
    except BackendError as error:
        return _problem(request, web, error.title, error.status)
    records: list[dict[str, Any]] = []
    records_error = None
    try:
        records = (
            await backends.call(
                "GET", f"{backends.signing_url}/documents/students/{student_id}/records", web.access_token
            )
        ).json()
    except SessionExpired:
        return to_login("expired")
    except BackendError as error:
        # The results are still worth showing when only the signed records cannot be listed.
        records_error = error.title
    return templates.TemplateResponse(
        request,
        "family/results.html",
        {
            "web": web,
            "results": results,
            "r": results["result"],
            "siblings": len(children) > 1,
            "records": [d for d in records if d.get("sealed")],
            "records_error": records_error,
            "names": {s["code"]: s["name"] for s in results["subjects"]},
            "notice": notice,
        },
    )


@router.get("/results/{student_id}/records/{document_id}", response_model=None)
async def record_pdf(request: Request, student_id: uuid.UUID, document_id: uuid.UUID) -> Response:
    """The signed học bạ, streamed with the family member's own token (signing decides)."""
    web = await signed_in(request)
    if isinstance(web, Response):
        return web
    backends = backends_of(request)
    try:
        records = (
            await backends.call(
                "GET", f"{backends.signing_url}/documents/students/{student_id}/records", web.access_token
            )
        ).json()
        if not any(d["document_id"] == str(document_id) and d["sealed"] for d in records):
            raise BackendError(404, "Không tìm thấy học bạ đã ký")
        pdf = await backends.document_pdf(web.access_token, str(document_id))
    except SessionExpired:
        return to_login("expired")
    except BackendError as error:
        return _problem(request, web, error.title, error.status)
    return pdf_response(pdf, "hoc-ba-da-ky.pdf")
