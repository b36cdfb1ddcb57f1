"""Nhật ký: the audit log, newest first, filtered by action or object (by POST: ids stay out of URLs)."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from hbs_portal.models import WebSession
from hbs_portal.web.common import templates
from hbs_portal.web.deps import CheckedForm, SystemAdmin, services_for

router = APIRouter(include_in_schema=False)
_ACTION = re.compile(r"^[a-z_.]{1,60}$")


async def _page(
    request: Request,
    web: WebSession,
    *,
    action: str = "",
    object_id: str = "",
    limit: int = 100,
    error: str | None = None,
    status: int = 200,
) -> Response:
    params: dict[str, str | int] = {"limit": limit}
    if action and not error:
        params["action"] = action
    if object_id and not error:
        params["object_id"] = object_id
    entries: list[dict[str, Any]] = []
    if status < 400:
        # Identity takes the filters as query parameters: this call is server to server.
        entries = await services_for(request, web.access_token).identity.audit(params)
    return templates.TemplateResponse(
        request,
        "admin/audit.html",
        {
            "web": web,
            "entries": entries,
            "action": action,
            "object_id": object_id,
            "limit": limit,
            "error": error,
        },
        status_code=status,
    )


@router.get("/admin/audit", response_class=HTMLResponse)
async def audit_page(request: Request, web: SystemAdmin) -> Response:
    return await _page(request, web)


@router.post("/admin/audit", response_class=HTMLResponse)
async def audit_filtered(
    request: Request,
    web: SystemAdmin,
    _form: CheckedForm,
    action: Annotated[str, Form(max_length=60)] = "",
    object_id: Annotated[str, Form(max_length=100)] = "",
    limit: Annotated[str, Form(max_length=5)] = "100",
) -> Response:
    action, object_id = action.strip(), object_id.strip()
    count = int(limit) if limit.isdigit() else 0
    error = None
    if action and not _ACTION.match(action):
        error = "Hành động: chỉ gồm chữ thường không dấu, dấu chấm và gạch dưới (ví dụ sign_in.failed)."
    elif not 1 <= count <= 1000:
        error = "Số dòng: từ 1 đến 1000."
    return await _page(
        request,
        web,
        action=action,
        object_id=object_id,
        limit=count if error is None else 100,
        error=error,
        status=422 if error else 200,
    )
