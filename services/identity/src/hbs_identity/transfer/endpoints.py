"""HTTP: Excel/CSV templates, bulk import (dry run, then all-or-nothing) and Excel export."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel

from hbs_identity.authz.guard import caller_scope, require_admin, require_overseer
from hbs_identity.people.endpoints import service_of
from hbs_identity.school.service import SchoolService
from hbs_identity.transfer.service import (
    COLUMNS,
    SHEET_TITLES,
    Kind,
    Transfer,
    template_example,
    template_notes,
)
from hbs_identity.transfer.sheets import IMPORT_LIMITS, XLSX, FileError, read_rows, write_xlsx
from hbs_identity.unit import Unit, request_unit
from hbs_shared.auth import CurrentPrincipal
from hbs_shared.openapi import file_response
from hbs_shared.problems import Problem
from hbs_shared.uploads import off_loop, read_body

router = APIRouter(tags=["import and export"])


class RowErrorOut(BaseModel):
    row: int
    field: str
    column: str
    message: str


class RowLinkedOut(BaseModel):
    row: int
    parent_id: uuid.UUID
    students: int
    message: str


class ImportReport(BaseModel):
    kind: str
    dry_run: bool
    rows: int
    valid: bool
    created: int
    errors: list[RowErrorOut]
    notes: list[str]
    linked: list[RowLinkedOut] = []
    """Rows whose parent exists already (same phone or username): linked to more students."""


def _xlsx(content: bytes, name: str) -> Response:
    return Response(
        content, media_type=XLSX, headers={"content-disposition": f'attachment; filename="{name}"'}
    )


async def _year(unit: Unit, school_year: str | None) -> str:
    if school_year:
        return school_year
    return (await SchoolService().current_year(unit)).name


@router.get(
    "/imports/{kind}/template", response_class=Response, responses=file_response(XLSX, "The Excel template")
)
async def template(kind: Kind, request: Request, principal: CurrentPrincipal) -> Response:
    """The Vietnamese Excel template: headers (* = required), one example row, and a guide sheet."""
    async with request_unit(request, principal) as unit:
        require_admin(await caller_scope(unit))
    content = write_xlsx(SHEET_TITLES[kind], COLUMNS[kind], template_example(kind), template_notes(kind))
    return _xlsx(content, f"mau-nhap-{kind}.xlsx")


@router.post("/imports/{kind}", response_model=ImportReport)
async def import_rows(
    kind: Kind,
    request: Request,
    principal: CurrentPrincipal,
    dry_run: bool = True,
    school_year: Annotated[str | None, Query(pattern=r"^\d{4}-\d{4}$")] = None,
) -> ImportReport:
    """Send the .xlsx or CSV (UTF-8) file as the request body. `dry_run=true` (the default) checks
    every row and writes nothing; `dry_run=false` imports all rows, or none if any row is bad."""
    # The office only: decided before the body is read; the file is parsed off the event loop.
    async with request_unit(request, principal) as unit:
        require_admin(await caller_scope(unit))
    content = await read_body(request, IMPORT_LIMITS)
    try:
        rows = await off_loop(read_rows, content, COLUMNS[kind])
    except FileError as error:
        raise Problem(422, "Không đọc được tệp", str(error), field="file") from None
    async with request_unit(request, principal) as unit:
        require_admin(await caller_scope(unit))
        report = await Transfer(service_of(request)).run(
            unit, kind, rows, await _year(unit, school_year), dry_run
        )
        errors = [RowErrorOut(**asdict(e)) for e in report.errors]
        body = ImportReport(
            kind=kind,
            dry_run=dry_run,
            rows=report.rows,
            valid=not errors,
            created=report.created,
            errors=errors,
            notes=report.notes,
            linked=[RowLinkedOut(**asdict(item)) for item in report.linked],
        )
        if errors and not dry_run:
            first = errors[0]
            raise Problem(
                422,
                "Tệp có dòng lỗi; không dòng nào được nhập",
                f"{len(errors)} errors; row {first.row}, {first.column}: {first.message}",
                field=first.field,
                extra={"errors": [e.model_dump() for e in errors], "rows": report.rows},
            )
        if not dry_run:
            unit.audit(
                "import.completed",
                "import",
                kind,
                rows=report.rows,
                created=report.created,
                linked=len(report.linked) or None,
            )
        return body


@router.get(
    "/exports/{kind}",
    response_class=Response,
    responses=file_response(XLSX, "The rows as Excel, the import template's columns"),
)
async def export_rows(
    kind: Kind,
    request: Request,
    principal: CurrentPrincipal,
    school_year: Annotated[str | None, Query(pattern=r"^\d{4}-\d{4}$")] = None,
) -> Response:
    """The same columns as the import template, so an export can be edited and imported elsewhere."""
    async with request_unit(request, principal) as unit:
        require_overseer(await caller_scope(unit))
        year = await _year(unit, school_year)
        rows: list[dict[str, Any]] = await Transfer(service_of(request)).export(unit, kind, year)
        unit.audit("export.downloaded", "export", kind, school_year=year, rows=len(rows))
    return _xlsx(write_xlsx(SHEET_TITLES[kind], COLUMNS[kind], rows), f"{kind}-{year}.xlsx")
