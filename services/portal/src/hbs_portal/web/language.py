"""The language switch: English or Vietnamese for every page, remembered in a cookie (no account
needed: the sign-in page has the switch too)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse

from hbs_portal.i18n import COOKIE, chosen

router = APIRouter()
A_YEAR = 365 * 24 * 3600


def local_path(value: str) -> str:
    """Back to the page the switch was on; only a path of this site (no open redirect)."""
    if not value.startswith("/") or value.startswith("//") or "\\" in value or len(value) > 500:
        return "/"
    return value


@router.post("/language", include_in_schema=False)
async def switch_language(
    request: Request,
    lang: Annotated[str, Form(max_length=5)],
    next: Annotated[str, Form(max_length=500)] = "/",
) -> RedirectResponse:
    response = RedirectResponse(local_path(next), status_code=303)
    # Read on the server only; a display preference, so no CSRF token: a forged switch changes nothing else.
    response.set_cookie(
        COOKIE,
        chosen(lang),
        max_age=A_YEAR,
        httponly=True,
        samesite="lax",
        secure=request.app.state.settings.secure_cookies,
    )
    return response
