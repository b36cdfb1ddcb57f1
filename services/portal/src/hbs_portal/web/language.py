"""The language switch: English or Vietnamese for every page, remembered in a cookie (no account
needed: the sign-in page has the switch too). Back to the page it was pressed on, by its Referer
(the pages send it to this site only), so no page has to repeat its own address in a form."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse

from hbs_portal.i18n import COOKIE, chosen

router = APIRouter()
A_YEAR = 365 * 24 * 3600


def back_to(request: Request) -> str:
    """The page the switch was pressed on, if it is one of this site's; otherwise the home page."""
    referer = urlsplit(request.headers.get("referer", ""))
    if referer.netloc != request.url.netloc or not referer.path.startswith("/") or "\\" in referer.path:
        return "/"
    path = referer.path + (f"?{referer.query}" if referer.query else "")
    return path if len(path) <= 2000 and not path.startswith("//") else "/"


@router.post("/language", include_in_schema=False)
async def switch_language(
    request: Request, lang: Annotated[str, Form(max_length=5)] = ""
) -> RedirectResponse:
    response = RedirectResponse(back_to(request), status_code=303)
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
