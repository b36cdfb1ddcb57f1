"""What protects every page in the browser: security headers with a Content-Security-Policy that
allows no inline script or style, and the CSRF token of the forms sent before a session exists."""

from __future__ import annotations

import hmac
import secrets

from fastapi import Request
from fastapi.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Scripts and styles only from /static; no frames, plugins or foreign form targets.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
PDF_POLICY = "frame-ancestors 'none'"
"""A signed PDF opens in the browser's own viewer, which a document policy would break; it may
still not be framed."""
SECURITY_HEADERS = {
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
}


class SecurityHeaders:
    """Adds the security headers to every answer (pages, files, redirects and errors alike)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                kind = next((value for name, value in headers if name.lower() == b"content-type"), b"")
                policy = PDF_POLICY if kind.startswith(b"application/pdf") else CONTENT_SECURITY_POLICY
                wanted = {**SECURITY_HEADERS, "content-security-policy": policy}
                headers += [
                    (name.encode(), value.encode())
                    for name, value in wanted.items()
                    if name.encode() not in present
                ]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


# The sign-in form's CSRF token (double submit): no session exists yet to hold one, so a cookie
# that only this site can set carries it, and the form must repeat it.
LOGIN_CSRF_COOKIE = "hbs_login_csrf"


def login_csrf_token(request: Request) -> str:
    """This browser's sign-in token: the one in its cookie, or a new one (set by `keep_login_csrf`)."""
    current = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    return current if 20 <= len(current) <= 64 else secrets.token_urlsafe(24)


def keep_login_csrf(response: Response, token: str, secure: bool) -> Response:
    response.set_cookie(
        LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", secure=secure, path="/login"
    )
    return response


def login_csrf_ok(request: Request, submitted: str) -> bool:
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    return bool(cookie) and len(cookie) <= 64 and hmac.compare_digest(cookie, submitted)
