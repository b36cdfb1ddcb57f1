"""Who may open the office's pages, and calling identity or signing on their behalf."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import Request
from fastapi.responses import Response

from hbs_portal.models import WebSession
from hbs_portal.web.backends import BackendError, SessionExpired
from hbs_portal.web.common import backends_of, error_page, signed_in, to_login

ADMINS = frozenset({"office_admin", "system_admin"})
SYSTEM_ADMINS = frozenset({"system_admin"})
STALE_FORM = "Biểu mẫu đã cũ, xin tải lại trang rồi thử lại."


async def admin_session(request: Request, roles: frozenset[str] = ADMINS) -> WebSession | Response:
    """The signed-in session if it holds one of `roles`; the services check again on every call."""
    web = await signed_in(request)
    if isinstance(web, Response):
        return web
    if not roles & set(web.roles):
        return error_page(request, web, "Bạn không có quyền mở trang này.", 403)
    return web


class Office:
    """The services' HTTP APIs with the user's token; failures become BackendError (Vietnamese)."""

    def __init__(self, request: Request, web: WebSession) -> None:
        self.backends = backends_of(request)
        self.token = web.access_token

    async def identity(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return await self.backends.call(method, self.backends.identity_url + path, self.token, **kwargs)

    async def signing(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return await self.backends.call(method, self.backends.signing_url + path, self.token, **kwargs)

    async def classes(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = (await self.identity("GET", "/classes")).json()
        return sorted(found, key=lambda c: (c["grade_level"], c["name"]))


def failed(request: Request, web: WebSession, error: BackendError) -> Response:
    """The page for a refused or failed call: back to sign-in when the session is over."""
    if isinstance(error, SessionExpired):
        return to_login("expired")
    return error_page(request, web, error.title, error.status if error.status >= 400 else 502)


def download(response: httpx.Response, filename: str) -> Response:
    """Passes a file from a service to the browser, never cached (it may hold personal data)."""
    return Response(
        response.content,
        media_type=response.headers.get("content-type", "application/octet-stream"),
        # Our own ASCII name: a header cannot carry the Vietnamese class names safely.
        headers={"content-disposition": f'attachment; filename="{filename}"', "cache-control": "no-store"},
    )
