"""Uploaded files (Excel/CSV): bounded before anything reads them, parsed off the event loop.

A 750 KB .xlsx that unzips to 10 MB kept a service's event loop busy for seconds (its health
check waited too). So the caller's right to upload is checked first (by the endpoint), the body is
read only up to its limit, a zip's members are counted and their declared sizes summed before any
parser sees it, and the parse runs in a worker thread. The declared sizes are a real bound:
`zipfile` (which openpyxl reads through) never returns more than a member declares, and a member
that would is refused with a CRC error.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import ParamSpec, TypeVar

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from hbs_shared.problems import Problem

P = ParamSpec("P")
T = TypeVar("T")
MB = 1024 * 1024


@dataclass(frozen=True)
class UploadLimits:
    """How big an upload may be; `field` is the name problems give it."""

    max_bytes: int
    max_unzipped_bytes: int
    max_members: int = 256
    field: str = "file"


def _megabytes(size: int) -> str:
    return f"{size / MB:g} MB"


def too_large(limits: UploadLimits) -> Problem:
    return Problem(
        413,
        f"Tệp quá lớn: tối đa {_megabytes(limits.max_bytes)}",
        f"the body is over {limits.max_bytes} bytes",
        field=limits.field,
    )


async def read_body(request: Request, limits: UploadLimits) -> bytes:
    """The request body, refused (413) as soon as it passes the limit, never read whole first."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limits.max_bytes:
        raise too_large(limits)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limits.max_bytes:
            raise too_large(limits)
        chunks.append(chunk)
    return b"".join(chunks)


def check_zip(data: bytes, limits: UploadLimits) -> None:
    """Refuse a zip (an .xlsx is one) with too many members or too much inside, before parsing."""
    if len(data) > limits.max_bytes:
        raise too_large(limits)
    try:
        members = zipfile.ZipFile(io.BytesIO(data)).infolist()
    except (zipfile.BadZipFile, ValueError):
        raise Problem(
            422, "Tệp không phải bảng tính Excel (.xlsx) hợp lệ", "not a zip file", field=limits.field
        ) from None
    if len(members) > limits.max_members:
        raise Problem(
            413,
            f"Tệp Excel có quá nhiều thành phần: tối đa {limits.max_members}",
            f"{len(members)} zip members",
            field=limits.field,
        )
    unzipped = sum(member.file_size for member in members)
    if unzipped > limits.max_unzipped_bytes:
        raise Problem(
            413,
            f"Tệp Excel quá lớn khi giải nén: tối đa {_megabytes(limits.max_unzipped_bytes)}",
            f"unzips to {unzipped} bytes",
            field=limits.field,
        )


async def off_loop(parse: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run a parser in a worker thread, so the event loop (and /healthz) keeps answering."""
    return await run_in_threadpool(parse, *args, **kwargs)
