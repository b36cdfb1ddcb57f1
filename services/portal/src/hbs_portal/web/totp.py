"""Two-factor sign-in (xác thực hai lớp): setting TOTP up, and the "Bảo mật đăng nhập" page.

The code step of signing in lives with the rest of signing in (`account.py`); this module gives
it the sealed ticket that carries the password from the first step to the second.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import re
from typing import Annotated, Any

import segno
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup

from hbs_portal.clients import BackendError
from hbs_portal.i18n import _
from hbs_portal.models import WebSession
from hbs_portal.web.common import (
    PENDING_PAGES,
    STALE_FORM,
    current_session,
    home_for,
    templates,
    web_sessions,
)
from hbs_portal.web.deps import Api, Redirect, Refused, SignedIn, fresh_session, services_for
from hbs_portal.web.sessions import csrf_ok
from hbs_shared.service import runtime_of

router = APIRouter(include_in_schema=False)

CODE = re.compile(r"^[0-9]{6}$")
_SECRET = re.compile(r"^[A-Z2-7]{16,64}$")
TICKET_MINUTES = 5
"""How long a right password waits for its code before signing in starts again."""


def _ticket_key(session_id: str) -> bytes:
    # The key comes from the cookie, which the database never stores: a copy of the table alone
    # cannot reveal a password waiting for its code.
    return hashlib.sha256(b"hbs-portal-login-ticket\0" + session_id.encode()).digest()


def seal_ticket(session_id: str, username: str, password: str) -> str:
    """The sign-in name and password, sealed until the code is entered (a few minutes at most)."""
    nonce = os.urandom(12)
    plain = json.dumps({"u": username, "p": password}).encode()
    return base64.b64encode(nonce + AESGCM(_ticket_key(session_id)).encrypt(nonce, plain, None)).decode()


def open_ticket(session_id: str, sealed: str) -> tuple[str, str] | None:
    try:
        raw = base64.b64decode(sealed, validate=True)
        plain = AESGCM(_ticket_key(session_id)).decrypt(raw[:12], raw[12:], None)
        data = json.loads(plain)
        return str(data["u"]), str(data["p"])
    except (InvalidTag, ValueError, KeyError, TypeError):
        return None


def normalise_code(code: str) -> str | None:
    """The six digits as typed in an authenticator app (spaces allowed), or None if malformed."""
    digits = code.replace(" ", "").strip()
    return digits if CODE.match(digits) else None


async def me_after_step(request: Request, access_token: str, step: str | None) -> dict[str, Any] | None:
    """Who a token that is no longer restricted is for: its roles (a restricted one carries none)
    and the security notices to show before anything else."""
    if step is not None:
        return None
    try:
        return await services_for(request, access_token).identity.me()
    except BackendError:
        return None  # the next page's own call will say what is wrong


def landing(me: dict[str, Any] | None, roles: list[str], notice: str) -> str:
    """Where a finished sign-in step leads: the security notices first, if any, else home."""
    if me is not None and me.get("security_notices"):
        return "/security-notices"
    return home_for(roles) + f"?notice={notice}"


def _qr_svg(uri: str) -> Markup:
    # segno escapes nothing of ours: the SVG is built from the URI's bits, not its text.
    return Markup(segno.make(uri, error="m").svg_inline(scale=4, border=2))  # noqa: S704


async def _setup_session(request: Request) -> WebSession:
    """A session that may set TOTP up: one kept at this step, or a fully signed-in staff member."""
    web = await current_session(request)
    if web is None:
        raise Redirect("/login", sign_out=True)
    if web.pending_step == "totp_setup":
        request.state.web = web
        return web
    if web.pending_step:
        raise Redirect(PENDING_PAGES.get(web.pending_step, "/login"))
    return await fresh_session(request)


SetupSession = Annotated[WebSession, Depends(_setup_session)]


def _setup_page(
    request: Request,
    web: WebSession,
    *,
    secret: str | None = None,
    uri: str | None = None,
    error: str | None = None,
    status: int = 200,
) -> Response:
    return templates.TemplateResponse(
        request,
        "totp_setup.html",
        {
            "web": web,
            "forced": web.pending_step == "totp_setup",
            "secret": secret,
            "uri": uri,
            "qr": _qr_svg(uri) if uri else None,
            "error": error,
        },
        status_code=status,
    )


@router.get("/totp/setup", response_class=HTMLResponse)
async def setup_intro(request: Request, web: SetupSession) -> Response:
    return _setup_page(request, web)


@router.post("/totp/setup", response_class=HTMLResponse)
async def setup_start(
    request: Request, web: SetupSession, csrf: Annotated[str, Form(max_length=64)] = ""
) -> Response:
    """A new secret from identity, shown once as text and as a QR code for the authenticator app."""
    if not csrf_ok(web, csrf):
        raise Refused(_(STALE_FORM), 403)
    try:
        started = await services_for(request, web.access_token).identity.totp_setup()
    except BackendError as failed:
        if failed.status == 409:
            return RedirectResponse("/security", status_code=303)
        return _setup_page(request, web, error=failed.title, status=failed.status)
    return _setup_page(request, web, secret=started["secret"], uri=started["otpauth_uri"])


@router.post("/totp/confirm", response_class=HTMLResponse)
async def setup_confirm(
    request: Request,
    web: SetupSession,
    csrf: Annotated[str, Form(max_length=64)] = "",
    code: Annotated[str, Form(max_length=20)] = "",
    secret: Annotated[str, Form(max_length=64)] = "",
    otpauth_uri: Annotated[str, Form(max_length=400)] = "",
) -> Response:
    if not csrf_ok(web, csrf):
        raise Refused(_(STALE_FORM), 403)
    # The secret only travels back to be shown again after a wrong code; identity keeps its own copy.
    shown_secret = secret if _SECRET.match(secret) else None
    shown_uri = otpauth_uri if otpauth_uri.startswith("otpauth://totp/") and shown_secret else None
    digits = normalise_code(code)
    if digits is None:
        return _setup_page(
            request,
            web,
            secret=shown_secret,
            uri=shown_uri,
            error=_("Mã xác thực: cần đúng 6 chữ số."),
            status=422,
        )
    try:
        confirmed = await services_for(request, web.access_token).identity.totp_confirm(digits)
    except BackendError as failed:
        return _setup_page(
            request, web, secret=shown_secret, uri=shown_uri, error=failed.title, status=failed.status
        )
    old_refresh = web.refresh_token
    step = "password" if confirmed.get("must_change_password") else None
    me = await me_after_step(request, confirmed["access_token"], step)
    roles = list(me["roles"]) if me else None
    async with runtime_of(request).db.transaction() as session:
        await web_sessions.replace_tokens(
            session,
            web.id_hash,
            confirmed["access_token"],
            confirmed.get("refresh_token"),
            pending_step=step,
            roles=roles,
        )
    if old_refresh:
        # The confirmation started a new token family; the old one has no further use.
        with contextlib.suppress(BackendError):
            await services_for(request, None).identity.logout(old_refresh)
    if web.pending_step == "totp_setup":
        return RedirectResponse(landing(me, roles or web.roles, "totp"), status_code=303)
    return RedirectResponse("/security?notice=totp", status_code=303)


@router.get("/security", response_class=HTMLResponse)
async def security(request: Request, web: SignedIn, api: Api) -> Response:
    """Bảo mật đăng nhập: whether two-factor sign-in is on, and the way to turn it on."""
    account: dict[str, Any] = await api.identity.account(web.user_id)
    return templates.TemplateResponse(
        request,
        "totp_security.html",
        {"web": web, "account": account, "notice": request.query_params.get("notice")},
    )
