"""What the office's pages share: files passed from a service to the browser."""

from __future__ import annotations

import httpx
from fastapi.responses import Response

from hbs_portal.web.filenames import content_disposition


def download(response: httpx.Response, filename: str) -> Response:
    """Passes a file from a service to the browser, never cached (it may hold personal data)."""
    return Response(
        response.content,
        media_type=response.headers.get("content-type", "application/octet-stream"),
        # Named after what it holds: an ASCII fallback and the Vietnamese name (RFC 5987).
        headers={"content-disposition": content_disposition(filename), "cache-control": "no-store"},
    )
