"""Nhật ký: identity's and grades' audit trails as one, newest first, in Vietnamese with names and
the school's clock, each trail's hash chain checked (filters by POST: nothing in URLs)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from hbs_portal.clients.transport import BackendError
from hbs_portal.i18n import _, translated
from hbs_portal.models import WebSession
from hbs_portal.web.admin.audit_lines import SCHOOL_TIME, SOURCES, ChainState, chain_state, merged
from hbs_portal.web.common import templates
from hbs_portal.web.deps import CheckedForm, Overseer, Services, services_for
from hbs_shared.audit.actions import GRADES_ACTION_LABELS, IDENTITY_ACTION_LABELS

router = APIRouter(include_in_schema=False)

MAX_FETCH = 1000
"""Each service gives at most this many entries at once: deeper pages need a date filter."""


@dataclass(frozen=True)
class Filters:
    """What the reader asked for: a trail, an action, days (dd/mm/yyyy at the school), a page."""

    source: str = ""
    action: str = ""
    since: str = ""
    until: str = ""
    limit: int = 100
    page: int = 1

    def wants(self, service: str) -> bool:
        if self.source and self.source != service:
            return False
        if self.action:
            labels = IDENTITY_ACTION_LABELS if service == "identity" else GRADES_ACTION_LABELS
            return self.action in labels
        return True

    def params(self) -> dict[str, str | int]:
        params: dict[str, str | int] = {"limit": self.limit * self.page}
        if self.action:
            params["action"] = self.action
        if self.since:
            params["since"] = _day_start(self.since).isoformat()
        if self.until:
            params["until"] = (_day_start(self.until) + timedelta(days=1)).isoformat()
        return params


def _day_start(text: str) -> datetime:
    """dd/mm/yyyy: the start of that day at the school, in UTC."""
    day = datetime.strptime(text, "%d/%m/%Y")
    return day.replace(tzinfo=SCHOOL_TIME).astimezone(UTC)


def _problem(filters: Filters) -> str | None:
    if filters.source and filters.source not in SOURCES:
        return _("Nguồn: chọn một nguồn trong danh sách.")
    if filters.action and filters.action not in IDENTITY_ACTION_LABELS | GRADES_ACTION_LABELS:
        return _("Hành động: chọn một hành động trong danh sách.")
    for label, text in ((_("Từ ngày"), filters.since), (_("Đến ngày"), filters.until)):
        if text:
            try:
                _day_start(text)
            except ValueError:
                return _("{label}: nhập ngày theo dạng dd/mm/yyyy, ví dụ 06/12/2026.").format(label=label)
    if not 1 <= filters.limit <= MAX_FETCH:
        return _("Số dòng: từ 1 đến 1000.")
    if filters.page < 1 or filters.limit * filters.page > MAX_FETCH:
        return _("Trang quá xa: hãy thu hẹp theo ngày để xem các mục cũ hơn.")
    return None


async def _chains(api: Services) -> list[ChainState]:
    states = []
    for service, client in (("identity", api.identity), ("grades", api.grades)):
        try:
            states.append(chain_state(service, await client.audit_verify()))
        except BackendError as error:
            states.append(
                ChainState(
                    _(SOURCES[service]),
                    False,
                    _("Không kiểm tra được chuỗi: {title}").format(title=error.title),
                )
            )
    return states


async def _page(
    request: Request, web: WebSession, filters: Filters, error: str | None = None, status: int = 200
) -> Response:
    api = services_for(request, web.access_token)
    identity: list[dict[str, Any]] = []
    grades: list[dict[str, Any]] = []
    notes: list[str] = []
    more = False
    if error is None:
        params = filters.params()
        if filters.wants("identity"):
            identity = await api.identity.audit(params)
        if filters.wants("grades"):
            try:
                grades = (await api.grades.audit(params))["entries"]
            except BackendError as failure:
                notes.append(_("Chưa đọc được nhật ký sổ điểm, học bạ: {title}").format(title=failure.title))
        wanted = filters.limit * filters.page
        more = len(identity) >= wanted or len(grades) >= wanted
    lines = merged(identity, grades)
    start = (filters.page - 1) * filters.limit
    return templates.TemplateResponse(
        request,
        "admin/audit.html",
        {
            "web": web,
            "lines": lines[start : start + filters.limit],
            "chains": await _chains(api),
            "filters": filters,
            "more": more,
            "sources": translated(SOURCES),
            "identity_actions": [
                (code, _(label))
                for code, label in sorted(IDENTITY_ACTION_LABELS.items(), key=lambda item: item[1])
            ],
            "grades_actions": [(code, _(label)) for code, label in GRADES_ACTION_LABELS.items()],
            "notes": notes,
            "error": error,
        },
        status_code=status,
    )


@router.get("/admin/audit", response_class=HTMLResponse)
async def audit_page(request: Request, web: Overseer) -> Response:
    return await _page(request, web, Filters())


@router.post("/admin/audit", response_class=HTMLResponse)
async def audit_filtered(
    request: Request,
    web: Overseer,
    _form: CheckedForm,
    source: Annotated[str, Form(max_length=20)] = "",
    action: Annotated[str, Form(max_length=60)] = "",
    since: Annotated[str, Form(max_length=10)] = "",
    until: Annotated[str, Form(max_length=10)] = "",
    limit: Annotated[str, Form(max_length=5)] = "100",
    page: Annotated[str, Form(max_length=5)] = "1",
) -> Response:
    filters = Filters(
        source.strip(),
        action.strip(),
        since.strip(),
        until.strip(),
        int(limit) if limit.strip().isdigit() else 0,
        int(page) if page.strip().isdigit() else 0,
    )
    error = _problem(filters)
    if error is not None:
        shown = Filters(filters.source if filters.source in SOURCES else "", limit=100)
        return await _page(request, web, shown, error=error, status=422)
    return await _page(request, web, filters)
