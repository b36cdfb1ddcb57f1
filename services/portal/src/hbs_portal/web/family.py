"""Kết quả học tập: a parent's children (or a student themself), their signed results and the
signed học bạ PDF (Đ9). Every call carries the family member's own token, so grades and signing
ask identity whether this user may see this student; another family's child is a 404."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from hbs_portal.clients import BackendError
from hbs_portal.i18n import N_, _
from hbs_portal.models import WebSession
from hbs_portal.web.common import pdf_response, templates
from hbs_portal.web.deps import Api, Services, SignedIn
from hbs_portal.web.filenames import file_name
from hbs_shared.display import average_text
from hbs_shared.labels import RATING_LABELS

router = APIRouter(include_in_schema=False)

RATINGS = RATING_LABELS
PENDING = N_("Chưa có")


def rating(code: str | None) -> str:
    return _(RATINGS.get(code, code)) if code else _(PENDING)


def subject_value(value: str | None, status: str) -> str:
    """A subject's result as the paper học bạ prints it: a score, Đạt/Chưa đạt, or Miễn."""
    if status == "exempt":
        return _("Miễn")
    if value is None:
        return _(PENDING)
    return _(RATINGS[value]) if value in RATINGS else average_text(value)


def promotion(result: dict[str, Any]) -> str:
    if result["promoted"] is None:
        return _("Chưa xét")
    return _("Được lên lớp") if result["promoted"] else _("Không được lên lớp")


templates.env.globals.update(rating=rating, subject_value=subject_value, promotion=promotion)


@router.get("/results", response_model=None)
async def children_page(request: Request, web: SignedIn, api: Api) -> Response:
    children = await api.grades.family_students()
    notice = request.query_params.get("notice")
    if len(children) == 1:
        # A student (or a parent of one child) sees the results at once, on their home page.
        return await _results(request, web, api, uuid.UUID(children[0]["student_id"]), children, notice)
    return templates.TemplateResponse(
        request, "family/children.html", {"web": web, "children": children, "notice": notice}
    )


@router.get("/results/{student_id}", response_model=None)
async def results_page(request: Request, web: SignedIn, api: Api, student_id: uuid.UUID) -> Response:
    children = await api.grades.family_students()
    return await _results(request, web, api, student_id, children, None)


async def _results(
    request: Request,
    web: WebSession,
    api: Services,
    student_id: uuid.UUID,
    children: list[dict[str, Any]],
    notice: str | None,
) -> Response:
    results = await api.grades.family_results(student_id)
    records: list[dict[str, Any]] = []
    records_error = None
    try:
        records = await api.signing.student_records(student_id)
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
async def record_pdf(
    request: Request, web: SignedIn, api: Api, student_id: uuid.UUID, document_id: uuid.UUID
) -> Response:
    """The signed học bạ, streamed with the family member's own token (signing decides)."""
    records = await api.signing.student_records(student_id)
    if not any(d["document_id"] == str(document_id) and d["sealed"] for d in records):
        raise BackendError(404, _("Không tìm thấy học bạ đã ký"))
    pdf = await api.signing.document_pdf(document_id)
    children = await api.grades.family_students()
    child = next((c for c in children if c.get("student_id") == str(student_id)), {})
    return pdf_response(pdf, file_name("Học bạ", child.get("full_name"), child.get("class_name"), ext="pdf"))
