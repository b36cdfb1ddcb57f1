"""The public status list: every issued version of a school's documents by SHA-256 with its status
(current, superseded, revoked), no personal data; JSON, and the same bytes signed with the school
seal (CMS), checked offline with `openssl cms -verify` (docs/architecture.md)."""

from __future__ import annotations

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from hbs_shared.problems import Problem
from hbs_signing.status.lists import SealUnavailable, SignedList, StatusLists
from hbs_signing.verification.endpoints import limit_rate

router = APIRouter(prefix="/status", tags=["public status"])
_LIST_SCHEMA: dict[str, object] = {
    "type": "object",
    "description": "The school's status list: every issued version by SHA-256, dated, no personal data.",
    "properties": {
        "type": {"type": "string"},
        "version": {"type": "integer"},
        "school_id": {"type": "string"},
        "issued_at": {"type": "string", "format": "date-time"},
        "next_update": {"type": "string", "format": "date-time"},
        "entries": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "sha256": {"type": "string"},
                    "kind": {"type": "string"},
                    "status": {"type": "string", "enum": ["current", "superseded", "revoked"]},
                },
                "additionalProperties": {"type": "string"},
            },
        },
    },
}
_SCHOOL = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"


async def _list(request: Request, school_id: str) -> SignedList:
    limit_rate(request)
    lists: StatusLists = request.app.state.status_lists
    try:
        found = await lists.get(school_id)
    except SealUnavailable as error:
        raise Problem(
            503, "Chưa ký được danh sách trạng thái bằng dấu của trường", str(error)[:300], field="school_id"
        ) from error
    if found is None:
        raise Problem(404, "Trường chưa cấp văn bản nào", "no document of this school", field="school_id")
    return found


def _headers(found: SignedList, name: str) -> dict[str, str]:
    return {
        "Cache-Control": "max-age=60",
        "Last-Modified": found.issued_at.strftime("%a, %d %b %Y %H:%M:%S GMT"),
        "Content-Disposition": f'inline; filename="{name}"',
    }


@router.get(
    "/{school_id}/list.json",
    response_class=Response,
    responses={200: {"content": {"application/json": {"schema": _LIST_SCHEMA}}}},
)
async def status_list_json(request: Request, school_id: str = Path(pattern=_SCHOOL)) -> Response:
    """Every issued version of the school's documents by SHA-256: `current`, `superseded` (with the
    newest version's SHA-256) or `revoked` (with the minutes' number and date). Exactly the bytes the
    signed copy (`list.p7m`) encapsulates."""
    found = await _list(request, school_id)
    return Response(found.content, media_type="application/json", headers=_headers(found, "status.json"))


@router.get(
    "/{school_id}/list.p7m",
    response_class=Response,
    responses={
        200: {"content": {"application/pkcs7-mime": {"schema": {"type": "string", "format": "binary"}}}}
    },
)
async def status_list_signed(request: Request, school_id: str = Path(pattern=_SCHOOL)) -> Response:
    """The status list signed with the school seal: CMS SignedData (DER) with the JSON inside and the
    seal's certificate chain. Offline: `openssl cms -verify -inform DER -in list.p7m -CAfile root.pem
    -purpose any -out list.json`."""
    found = await _list(request, school_id)
    return Response(found.signed, media_type="application/pkcs7-mime", headers=_headers(found, "status.p7m"))
