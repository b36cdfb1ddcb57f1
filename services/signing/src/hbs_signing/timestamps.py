"""RFC 3161 timestamps from a production timestamp authority over HTTP (HBS_SIGNING_TSA_URL).

pyHanko calls it while signing, on the signing thread's own event loop (the token thread, or a
batch worker process), never on the service's loop. pyHanko checks the reply (status, nonce,
message imprint); a TSA that cannot be reached fails the signature: no signature without its
timestamp (B-T and up).
"""

from __future__ import annotations

import httpx
from asn1crypto import tsp
from pyhanko.sign.timestamps.api import TimeStamper
from pyhanko.sign.timestamps.common_utils import TimestampRequestError

QUERY = "application/timestamp-query"
REPLY = "application/timestamp-reply"
MAX_REPLY_BYTES = 1_000_000


class HttpTimeStamper(TimeStamper):
    def __init__(self, url: str, *, timeout_seconds: float = 10.0) -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # pyHanko leaves it unannotated
        self.url = url
        self.timeout_seconds = timeout_seconds

    async def async_request_tsa_response(self, req: tsp.TimeStampReq) -> tsp.TimeStampResp:
        try:
            async with httpx.AsyncClient(timeout=self.timeout_seconds) as client:
                response = await client.post(self.url, content=req.dump(), headers={"Content-Type": QUERY})
        except httpx.HTTPError as error:
            raise TimestampRequestError(
                f"the timestamp authority {self.url} cannot be reached ({type(error).__name__})"
            ) from error
        content_type = response.headers.get("content-type", "").split(";")[0].strip()
        if response.status_code != 200 or content_type != REPLY:
            raise TimestampRequestError(
                f"the timestamp authority {self.url} answered HTTP {response.status_code} {content_type}"
            )
        if len(response.content) > MAX_REPLY_BYTES:
            raise TimestampRequestError(f"the timestamp authority {self.url} answered too much")
        try:
            reply = tsp.TimeStampResp.load(response.content)
            reply.native  # noqa: B018 - parse it all now: a malformed reply fails here, named
        except ValueError as error:
            raise TimestampRequestError(
                f"the timestamp authority {self.url} sent a malformed reply"
            ) from error
        return reply
