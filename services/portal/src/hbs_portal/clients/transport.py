"""The one way the portal calls a service: the user's token, the correlation id, the real client's
address, and every refusal turned into a BackendError carrying the service's Vietnamese title."""

from __future__ import annotations

from typing import Any

import httpx

from hbs_shared.logging import current_correlation_id

UNREACHABLE = "Dịch vụ tạm thời không phản hồi, xin thử lại sau"
EXPIRED = "Phiên đăng nhập đã hết hạn, xin đăng nhập lại"


class BackendError(Exception):
    """A service refused or failed; `title` is its Vietnamese problem title."""

    def __init__(self, status: int, title: str, problem: dict[str, Any] | None = None) -> None:
        super().__init__(title)
        self.status = status
        self.title = title
        self.problem = problem or {}

    @property
    def code(self) -> str | None:
        code = self.problem.get("code")
        return str(code) if code is not None else None


class SessionExpired(Exception):
    """The user's token (or refresh token) is no longer accepted: sign in again.

    Not a BackendError on purpose: a page that handles a service's refusal never swallows this."""

    def __init__(self, title: str = EXPIRED) -> None:
        super().__init__(title)
        self.title = title


class Transport:
    """The portal's one HTTP connection pool to the services (bound to `source_address` if set)."""

    def __init__(self, source_address: str = "", client: httpx.AsyncClient | None = None) -> None:
        # Idle connections are dropped before uvicorn's 5 s keep-alive closes them under us.
        self.client = client or httpx.AsyncClient(
            timeout=httpx.Timeout(15.0, connect=3.0),
            transport=httpx.AsyncHTTPTransport(
                local_address=source_address or None, limits=httpx.Limits(keepalive_expiry=2.0)
            ),
        )

    async def close(self) -> None:
        await self.client.aclose()

    async def call(
        self,
        method: str,
        url: str,
        *,
        token: str | None,
        client_address: str | None,
        **kwargs: Any,
    ) -> httpx.Response:
        headers = {"x-correlation-id": current_correlation_id(), **kwargs.pop("headers", {})}
        if token:
            headers["authorization"] = f"Bearer {token}"
        if client_address:
            # The services limit and log by the real client, not by the portal's own address.
            headers["x-forwarded-for"] = client_address
        try:
            try:
                response = await self.client.request(method, url, headers=headers, **kwargs)
            except httpx.RemoteProtocolError:
                # The server closed a reused connection before reading the request: send it again.
                response = await self.client.request(method, url, headers=headers, **kwargs)
        except httpx.HTTPError:
            raise BackendError(503, UNREACHABLE) from None
        if response.status_code == 401 and token:
            raise SessionExpired()
        if response.status_code >= 400:
            title = "Có lỗi xảy ra"
            problem: dict[str, Any] = {}
            if response.headers.get("content-type", "").startswith("application/problem+json"):
                problem = response.json()
                title = str(problem.get("title", title))
            raise BackendError(response.status_code, title, problem)
        return response


class Caller:
    """One service as seen by one request: its base URL, the user's token, the client's address."""

    def __init__(
        self, transport: Transport, base_url: str, token: str | None, client_address: str | None
    ) -> None:
        self.transport = transport
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.client_address = client_address

    async def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return await self.transport.call(
            method,
            self.base_url + path,
            token=self.token,
            client_address=self.client_address,
            **kwargs,
        )

    async def json(self, method: str, path: str, **kwargs: Any) -> Any:
        return (await self.request(method, path, **kwargs)).json()
