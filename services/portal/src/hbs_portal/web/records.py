"""Year records (Đ8 Steps 2–4): the homeroom teacher's class, the vice-principal's review, the
principal's approval, batch signing with the signing PIN, its progress, and the signed PDF."""

from __future__ import annotations

import uuid
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import RedirectResponse, Response

from hbs_portal.clients import BackendError
from hbs_portal.i18n import N_, _, translated
from hbs_portal.models import WebSession
from hbs_portal.web.common import error_page, pdf_response, templates
from hbs_portal.web.deadlines import my_deadlines
from hbs_portal.web.deps import Api, CheckedForm, Services, SignedIn
from hbs_portal.web.filenames import file_name
from hbs_shared.labels import RATING_LABELS, RECORD_STATE_LABELS
from hbs_shared.roles import BOARD
from hbs_shared.signing_order import RECORD_STEP_NAMES, SIGNING_STEPS

router = APIRouter(include_in_schema=False)
ClassName = Path(min_length=1, max_length=40)
STEP_FOR_ROLE = {name: SIGNING_STEPS[number] for name, number in RECORD_STEP_NAMES.items()}
RATING = translated(RATING_LABELS)
LABELS = translated(RECORD_STATE_LABELS)


def _page(request: Request, web: WebSession, name: str, status: int = 200, **context: Any) -> Response:
    return templates.TemplateResponse(
        request, name, {"web": web, "rating": RATING, "labels": LABELS, **context}, status_code=status
    )


@router.get("/records/homeroom", response_model=None)
async def homeroom_page(request: Request, web: SignedIn, api: Api) -> Response:
    """Học bạ lớp: the homeroom teacher's class(es)."""
    views, empty = [], []
    classes: list[str] = await api.grades.homeroom_classes()
    for name in classes:
        try:
            views.append(await api.grades.class_records(name))
        except BackendError as error:
            if error.status != 404:
                raise
            empty.append(name)  # a class with no student yet: the others still show
    return _page(
        request,
        web,
        "records/homeroom.html",
        views=views,
        empty=empty,
        deadlines=await my_deadlines(api, frozenset({2})),  # step 2, with their class's extension
        notice=request.query_params.get("notice"),
    )


@router.get("/records/classes/{class_name}", response_model=None)
async def class_page(request: Request, web: SignedIn, api: Api, class_name: str = ClassName) -> Response:
    """One class's records: the board reviews, returns or signs them here."""
    view = await api.grades.class_records(class_name)
    samples, subjects = await _samples(web, api, class_name)
    return _page(
        request,
        web,
        "records/class.html",
        view=view,
        samples=samples,
        subjects=subjects,
        notice=request.query_params.get("notice"),
    )


async def _samples(
    web: WebSession, api: Services, class_name: str
) -> tuple[list[dict[str, Any]] | None, list[tuple[str, str]]]:
    """The board's review samples of the class (Đ4.2) and its subjects, to name whom a return is for."""
    if not set(web.roles) & BOARD:
        return None, []
    samples = await api.grades.review_samples(class_name)
    current = next((s for s in samples if not s["superseded"] and s["items"]), None)
    subjects: list[tuple[str, str]] = []
    if current is not None:
        record = await api.grades.record(current["items"][0]["record_id"])
        subjects = [(line["subject_code"], line["subject_name"]) for line in record["content"]["subjects"]]
    return samples, subjects


async def _school(request: Request, web: WebSession, api: Services, template: str) -> Response:
    school = await api.grades.school_records()
    # The board sees at a glance which classes step 3 can sign: sample and homeroom check per class.
    reviews = (
        {c["class_name"]: c for c in await api.grades.review_overview()} if set(web.roles) & BOARD else {}
    )
    return _page(
        request, web, template, school=school, reviews=reviews, notice=request.query_params.get("notice")
    )


@router.get("/records/review", response_model=None)
async def review_page(request: Request, web: SignedIn, api: Api) -> Response:
    """Duyệt học bạ (vice-principal): per class, how far its records are."""
    return await _school(request, web, api, "records/review.html")


@router.get("/records/approve", response_model=None)
async def approve_page(request: Request, web: SignedIn, api: Api) -> Response:
    """Phê duyệt học bạ (principal): counts per class, sign every class that is ready."""
    return await _school(request, web, api, "records/approve.html")


def _versions(text: str) -> dict[str, int] | None:
    """ "id:version,id:version" as the page showed them; None when the form did not send them."""
    if not text:
        return None
    out: dict[str, int] = {}
    for pair in text.split(",")[:5000]:
        record_id, _sep, version = pair.partition(":")
        try:
            out[str(uuid.UUID(record_id))] = int(version)
        except ValueError:
            raise BackendError(422, _("Danh sách học bạ gửi lên không hợp lệ, xin tải lại trang")) from None
    return out


@router.post("/records/sign", response_model=None)
async def sign(
    request: Request,
    _form: CheckedForm,
    web: SignedIn,
    api: Api,
    step: Annotated[str, Form(max_length=20)] = "",
    class_names: Annotated[list[str] | None, Form(max_length=200)] = None,
    versions: Annotated[str, Form(max_length=300_000)] = "",
    pin: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    """Activate one batch with the signing PIN, then start the step for the chosen classes."""
    if step not in STEP_FOR_ROLE:
        return error_page(request, web, _("Bước ký: không hợp lệ."), 422)
    names = [n for n in (class_names or []) if n.strip()]
    if not names:
        return error_page(request, web, _("Lớp: chưa chọn lớp nào để ký."), 422)
    if any(len(n) > 40 for n in names):
        return error_page(request, web, _("Lớp: tên lớp không hợp lệ."), 422)
    if not pin:
        return error_page(request, web, _("Mã PIN ký số: chưa nhập."), 422)
    batch_id = str(uuid.uuid4())
    expected = _versions(versions)
    # The PIN activates this one batch first: a wrong PIN changes nothing.
    activation_id = await api.signing.activate(pin, batch_id=batch_id)
    await api.grades.sign_records(
        {
            "step": step,
            "activation_id": activation_id,
            "batch_id": batch_id,
            "class_names": names,
            "expected": expected,
        }
    )
    return RedirectResponse(f"/records/batches/{batch_id}", status_code=303)


@router.get("/records/batches/{batch_id}", response_model=None)
async def batch_page(request: Request, web: SignedIn, api: Api, batch_id: uuid.UUID) -> Response:
    """Progress of a signing batch; the page refreshes itself until nothing is being signed."""
    batch = await api.grades.record_batch(batch_id)
    return _page(request, web, "records/batch.html", batch=batch)


@router.get("/records/view/{record_id}", response_model=None)
async def record_page(request: Request, web: SignedIn, api: Api, record_id: uuid.UUID) -> Response:
    """One record's year page as it would be signed, with remarks and return forms."""
    record = await api.grades.record(record_id)
    return _page(
        request, web, "records/record.html", record=record, notice=request.query_params.get("notice")
    )


@router.post("/records/view/{record_id}/remarks", response_model=None)
async def save_remarks(
    request: Request,
    _form: CheckedForm,
    web: SignedIn,
    api: Api,
    record_id: uuid.UUID,
    version: Annotated[int, Form(ge=1)] = 1,
    remarks: Annotated[str, Form(max_length=20_000)] = "",
) -> Response:
    if len(remarks) > 4000:
        return error_page(request, web, _("Nhận xét của GVCN: tối đa 4000 ký tự."), 422)
    await api.grades.record_remarks(record_id, remarks, version)
    return RedirectResponse(f"/records/view/{record_id}?notice=saved", status_code=303)


@router.post("/records/view/{record_id}/return", response_model=None)
async def give_back(
    request: Request,
    _form: CheckedForm,
    web: SignedIn,
    api: Api,
    record_id: uuid.UUID,
    version: Annotated[int, Form(ge=1)] = 1,
    reason: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    if len(reason.strip()) < 3:
        return error_page(request, web, _("Lý do trả lại: cần ghi rõ (ít nhất 3 ký tự)."), 422)
    await api.grades.return_record(record_id, reason.strip()[:1000], version)
    return RedirectResponse(f"/records/view/{record_id}?notice=returned", status_code=303)


_CORRECTION_FIELDS = {
    "minutes_number": N_("Số biên bản"),
    "minutes_date": N_("Ngày biên bản"),
    "reason": N_("Nội dung điều chỉnh"),
    "expected_version": N_("Phiên bản học bạ"),
}


@router.post("/records/view/{record_id}/correction", response_model=None)
async def open_correction(
    request: Request,
    _form: CheckedForm,
    web: SignedIn,
    api: Api,
    record_id: uuid.UUID,
    version: Annotated[int, Form(ge=1)] = 1,
    minutes_number: Annotated[str, Form(max_length=200)] = "",
    minutes_date: Annotated[str, Form(max_length=20)] = "",
    reason: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    """Đ9: the board reopens an approved record under minutes; the grades service checks the rest."""
    body = {
        "expected_version": version,
        "minutes_number": minutes_number.strip(),
        "minutes_date": minutes_date.strip(),
        "reason": reason.strip(),
    }
    try:
        await api.grades.correct_record(record_id, body)
    except BackendError as error:
        label = _CORRECTION_FIELDS.get(str(error.problem.get("field", "")))
        return error_page(request, web, f"{_(label)}: {error.title}" if label else error.title, error.status)
    return RedirectResponse(f"/records/view/{record_id}?notice=corrected", status_code=303)


_REVOCATION_FIELDS = {**_CORRECTION_FIELDS, "reason": N_("Lý do thu hồi")}


@router.post("/records/view/{record_id}/revocation", response_model=None)
async def revoke_record(
    request: Request,
    _form: CheckedForm,
    web: SignedIn,
    api: Api,
    record_id: uuid.UUID,
    version: Annotated[int, Form(ge=1)] = 1,
    minutes_number: Annotated[str, Form(max_length=200)] = "",
    minutes_date: Annotated[str, Form(max_length=20)] = "",
    reason: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    """Đ9 (issue 13): the principal annuls an approved record under minutes; grades checks the rest
    and tells signing, whose public verification then says the record is revoked."""
    body = {
        "expected_version": version,
        "minutes_number": minutes_number.strip(),
        "minutes_date": minutes_date.strip(),
        "reason": reason.strip(),
    }
    try:
        await api.grades.revoke_record(record_id, body)
    except BackendError as error:
        label = _REVOCATION_FIELDS.get(str(error.problem.get("field", "")))
        return error_page(request, web, f"{_(label)}: {error.title}" if label else error.title, error.status)
    return RedirectResponse(f"/records/view/{record_id}?notice=revoked", status_code=303)


@router.post("/records/classes/{class_name}/return", response_model=None)
async def give_back_class(
    request: Request,
    _form: CheckedForm,
    web: SignedIn,
    api: Api,
    class_name: str = ClassName,
    reason: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Trả lại cả lớp: every signed record of the class goes back to the homeroom teacher."""
    if len(reason.strip()) < 3:
        return error_page(request, web, _("Lý do trả lại: cần ghi rõ (ít nhất 3 ký tự)."), 422)
    await api.grades.return_class_records(class_name, reason.strip()[:1000])
    return RedirectResponse(f"/records/classes/{quote(class_name)}?notice=returned", status_code=303)


@router.get("/records/view/{record_id}/document", response_model=None)
async def record_document(request: Request, web: SignedIn, api: Api, record_id: uuid.UUID) -> Response:
    """The record's latest signed PDF, fetched from signing with the user's own token."""
    record = await api.grades.record(record_id)
    if not record.get("document_id"):
        raise BackendError(404, _("Học bạ này chưa có bản đã ký"))
    pdf = await api.signing.document_pdf(record["document_id"])
    name = file_name(
        "Học bạ", record.get("full_name"), record.get("class_name"), record.get("school_year"), ext="pdf"
    )
    return pdf_response(pdf, name)
