"""What the office's pages share: files passed from a service to the browser."""

from __future__ import annotations

import httpx
from fastapi.responses import Response


def download(response: httpx.Response, filename: str) -> Response:
    """Passes a file from a service to the browser, never cached (it may hold personal data)."""
    return Response(
        response.content,
        media_type=response.headers.get("content-type", "application/octet-stream"),
        # Our own ASCII name: a header cannot carry the Vietnamese class names safely.
        headers={"content-disposition": f'attachment; filename="{filename}"', "cache-control": "no-store"},
    )
