"""Sở GD&ĐT's pages (several schools in one deployment, issue 14): each school's progress in counts
(score sheets signed, year records sealed), the list of schools, and a new school with its first
administrator, whose one-time password is shown once on the answer to the form and nowhere else.

Province accounts belong to no school: they see counts and schools, never a person's data."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from hbs_portal.clients import BackendError
from hbs_portal.i18n import N_, _
from hbs_portal.models import WebSession
from hbs_portal.web.common import templates
from hbs_portal.web.deps import Api, CheckedForm, ProvinceAdmin, ProvinceUser, Services
from hbs_shared.names import text_key
from hbs_shared.schools import PROVINCE_SCOPE, SCHOOL_ID_PATTERN

router = APIRouter(include_in_schema=False)

SEALED = "approved"
"""A year record approved by the principal carries the school's seal (Đ8 Step 4)."""
ANNULLED = "revoked"
"""A revoked record is final and holds nothing back: it is not counted as one to seal."""
SIGNED = "signed"

FIELDS: dict[str, str] = {
    "id": N_("Mã trường"),
    "name": N_("Tên trường"),
    "authority": N_("Cơ quan chủ quản"),
    "province": N_("Tỉnh, thành phố"),
    "admin.full_name": N_("Họ và tên người quản trị"),
    "admin.username": N_("Tên đăng nhập người quản trị"),
}
"""The form's fields by the name the services give them in a problem's `field`."""
LIMITS = {"name": 200, "authority": 200, "province": 100, "admin.full_name": 200}
CONFLICTS = {
    "id": N_("đã có trường mang mã này."),
    "admin.username": N_("đã có người dùng tên đăng nhập này."),
}
"""What identity's 409 (its title is generic) means for each field it names."""
_SCHOOL_ID = re.compile(SCHOOL_ID_PATTERN)
_USERNAME = re.compile(r"^[a-zA-Z0-9._-]{3,120}$")


@dataclass(frozen=True)
class SchoolProgress:
    """One row of the province's table: a school's current year in counts."""

    school_id: str
    name: str
    school_year: str
    classes: int
    sheets_signed: int
    sheets: int
    records_sealed: int
    records: int


def _counts(by_state: dict[str, Any] | None) -> dict[str, int]:
    return {str(state): int(n) for state, n in (by_state or {}).items()}


def progress_rows(
    progress: dict[str, Any], schools: list[dict[str, Any]]
) -> tuple[list[SchoolProgress], SchoolProgress]:
    """grades' counts joined with identity's schools by id, by name in Vietnamese order, and their
    totals; a school grades does not know yet (just created) shows with nothing counted."""
    known = {str(s["id"]): s for s in schools}
    rows: list[SchoolProgress] = []
    seen: set[str] = set()
    for entry in progress.get("schools", []):
        school_id = str(entry["school_id"])
        seen.add(school_id)
        sheets, records = _counts(entry.get("sheets")), _counts(entry.get("records"))
        records.pop(ANNULLED, None)
        rows.append(
            SchoolProgress(
                school_id=school_id,
                name=str(known.get(school_id, {}).get("name") or entry.get("name") or school_id),
                school_year=str(entry.get("school_year") or ""),
                classes=int(entry.get("classes") or 0),
                sheets_signed=sheets.get(SIGNED, 0),
                sheets=sum(sheets.values()),
                records_sealed=records.get(SEALED, 0),
                records=sum(records.values()),
            )
        )
    for school_id, school in known.items():
        if school_id not in seen:
            rows.append(
                SchoolProgress(
                    school_id, str(school["name"]), "", int(school.get("classes") or 0), 0, 0, 0, 0
                )
            )
    rows.sort(key=lambda row: text_key(row.name))
    total = SchoolProgress(
        school_id="",
        name="",
        school_year="",
        classes=sum(r.classes for r in rows),
        sheets_signed=sum(r.sheets_signed for r in rows),
        sheets=sum(r.sheets for r in rows),
        records_sealed=sum(r.records_sealed for r in rows),
        records=sum(r.records for r in rows),
    )
    return rows, total


@router.get("/province", response_class=HTMLResponse)
async def province_progress(request: Request, web: ProvinceUser, api: Api) -> Response:
    progress = await api.grades.province_progress()
    rows, total = progress_rows(progress, await api.identity.schools())
    return templates.TemplateResponse(
        request,
        "province/progress.html",
        {"web": web, "rows": rows, "total": total, "notice": request.query_params.get("notice")},
    )


async def _schools_page(
    request: Request,
    web: WebSession,
    api: Services,
    *,
    typed: dict[str, str] | None = None,
    error: str | None = None,
    error_field: str | None = None,
    status: int = 200,
) -> Response:
    schools = sorted(await api.identity.schools(), key=lambda s: text_key(str(s["name"])))
    return templates.TemplateResponse(
        request,
        "province/schools.html",
        {
            "web": web,
            "schools": schools,
            "typed": typed or {},
            "error": error,
            "error_field": error_field,
            "fields": FIELDS,
        },
        status_code=status,
    )


@router.get("/province/schools", response_class=HTMLResponse)
async def schools_page(request: Request, web: ProvinceAdmin, api: Api) -> Response:
    return await _schools_page(request, web, api)


def form_problem(typed: dict[str, str]) -> tuple[str, str] | None:
    """The first field the form cannot send as it is, and what is wrong with it (in Vietnamese)."""
    if not _SCHOOL_ID.match(typed["id"]) or typed["id"] == PROVINCE_SCOPE:
        return "id", _("chữ thường không dấu, số và dấu gạch ngang (2–63 ký tự), ví dụ thpt-phu-cu.")
    for field, limit in LIMITS.items():
        if not typed[field]:
            return field, _("chưa nhập.")
        if len(typed[field]) > limit:
            return field, _("dài quá {limit} ký tự.").format(limit=limit)
    if not _USERNAME.match(typed["admin.username"]):
        return "admin.username", _("3–120 ký tự, chỉ gồm chữ không dấu, số, dấu chấm, gạch ngang, gạch dưới.")
    return None


def _field_error(field: str, message: str) -> str:
    return _("{field}: {message}").format(field=_(FIELDS.get(field, FIELDS["id"])), message=message)


@router.post("/province/schools", response_class=HTMLResponse)
async def create_school(
    request: Request,
    web: ProvinceAdmin,
    api: Api,
    _form: CheckedForm,
    school_id: Annotated[str, Form(max_length=100)] = "",
    name: Annotated[str, Form(max_length=300)] = "",
    authority: Annotated[str, Form(max_length=300)] = "",
    province: Annotated[str, Form(max_length=200)] = "",
    admin_full_name: Annotated[str, Form(max_length=300)] = "",
    admin_username: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """The school and its administrator; the answer (never a redirect: nothing in a URL) shows the
    administrator's one-time password once, and no shared cache keeps it."""
    typed = {
        "id": school_id.strip().lower(),
        "name": name.strip(),
        "authority": authority.strip(),
        "province": province.strip(),
        "admin.full_name": admin_full_name.strip(),
        "admin.username": admin_username.strip(),
    }
    if found := form_problem(typed):
        field, message = found
        return await _schools_page(
            request, web, api, typed=typed, error=_field_error(field, message), error_field=field, status=422
        )
    body = {
        "id": typed["id"],
        "name": typed["name"],
        "authority": typed["authority"],
        "province": typed["province"],
        "admin": {"full_name": typed["admin.full_name"], "username": typed["admin.username"]},
    }
    try:
        created = await api.identity.create_school(body)
    except BackendError as refused:
        if refused.status not in (409, 422):
            raise
        field = str(refused.problem.get("field") or "")
        field = field if field in FIELDS else "id" if refused.status == 409 else ""
        said = _(CONFLICTS[field]) if refused.status == 409 and field in CONFLICTS else refused.title
        message = _field_error(field, said) if field else said
        return await _schools_page(
            request, web, api, typed=typed, error=message, error_field=field or None, status=refused.status
        )
    response = templates.TemplateResponse(
        request, "province/school_created.html", {"web": web, "created": created}
    )
    response.headers["cache-control"] = "no-store"  # the page shows a password
    return response
