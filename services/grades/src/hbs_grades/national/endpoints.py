"""National export endpoints (CSDL ngành): the board and the office make and read them; the
province's system (an outside client with `national.export`) reads them."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from hbs_grades.national.schemas import NationalExportIn, NationalExportOut
from hbs_grades.national.service import Form
from hbs_grades.sheets.endpoints import attachment
from hbs_grades.wiring import grades_of
from hbs_shared.auth import CurrentPrincipal, Principal, person_or_scope
from hbs_shared.problems import PROBLEM_JSON
from hbs_shared.service import runtime_of

router = APIRouter(prefix="/national/exports", tags=["national export"])

MEDIA: dict[Form, str] = {"xml": "application/xml", "json": "application/json"}
_PROBLEMS: dict[int | str, dict[str, Any]] = {
    status: {"content": {PROBLEM_JSON: {}}, "description": text}
    for status, text in (
        (403, "not the board or the office"),
        (404, "no such export of this school"),
        (500, "the document failed its own schema: nothing is sent"),
    )
}

ExportReader = Annotated[Principal, person_or_scope("national.export")]
"""The board and the office, or an outside system (the province's) holding `national.export`:
it reads and downloads the exports the office made; making one stays a person's act."""


@router.post("", status_code=201, response_model=NationalExportOut, responses={**_PROBLEMS, 409: {}})
async def create_export(
    body: NationalExportIn, principal: CurrentPrincipal, request: Request
) -> NationalExportOut:
    """Make an export: every student with a sealed year record, or (`since`) only those whose data
    changed since an earlier export. Both forms pass their schemas before anything is recorded."""
    grades, db = grades_of(request), runtime_of(request).db
    async with grades.writing(db.is_sqlite), db.transaction() as session:
        export = await grades.national.create(session, principal, body.since_export())
        return NationalExportOut.of(export)


@router.get("", response_model=list[NationalExportOut], responses=_PROBLEMS)
async def list_exports(
    principal: ExportReader, request: Request, limit: int = Query(default=50, ge=1, le=500)
) -> list[NationalExportOut]:
    """The school's exports, newest first."""
    grades = grades_of(request)
    async with runtime_of(request).db.transaction() as session:
        return [NationalExportOut.of(e) for e in await grades.national.listing(session, principal, limit)]


@router.get("/{export_id}", response_model=NationalExportOut, responses=_PROBLEMS)
async def get_export(export_id: uuid.UUID, principal: ExportReader, request: Request) -> NationalExportOut:
    grades = grades_of(request)
    async with runtime_of(request).db.transaction() as session:
        return NationalExportOut.of(await grades.national.get(session, principal, export_id))


async def _download(request: Request, principal: Principal, export_id: uuid.UUID, form: Form) -> Response:
    grades = grades_of(request)
    async with runtime_of(request).db.transaction() as session:
        export, data = await grades.national.download(session, principal, export_id, form)
    day = export.created_at.strftime("%Y%m%d-%H%M%S")
    name = f"hocba-csdl-nganh-{export.school_id}-{export.kind}-{day}.{form}"
    return Response(data, media_type=MEDIA[form], headers=attachment(name))


@router.get(
    "/{export_id}/xml",
    response_class=Response,
    responses={200: {"content": {"application/xml": {}}}, **_PROBLEMS},
)
async def download_xml(export_id: uuid.UUID, principal: ExportReader, request: Request) -> Response:
    """The export as XML, valid against `hocba-1.xsd` (checked before it is sent)."""
    return await _download(request, principal, export_id, "xml")


@router.get(
    "/{export_id}/json",
    response_class=Response,
    responses={
        200: {
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "description": "The export in the national structure; the whole JSON Schema is "
                        "national/structure/hocba-1.schema.json, checked before it is served",
                        "required": [
                            "phienban",
                            "thongtinxuat",
                            "truong",
                            "danhsachhocsinh",
                            "danhsachrutlai",
                        ],
                        "properties": {
                            "phienban": {"type": "string"},
                            "thongtinxuat": {"type": "object", "properties": {}},
                            "truong": {"type": "object", "properties": {}},
                            "danhsachhocsinh": {
                                "type": "array",
                                "items": {"type": "object", "properties": {}},
                            },
                            "danhsachrutlai": {
                                "type": "array",
                                "items": {"type": "object", "properties": {}},
                            },
                        },
                    }
                }
            }
        },
        **_PROBLEMS,
    },
)
async def download_json(export_id: uuid.UUID, principal: ExportReader, request: Request) -> Response:
    """The export as JSON, valid against `hocba-1.schema.json` (checked before it is sent)."""
    return await _download(request, principal, export_id, "json")
