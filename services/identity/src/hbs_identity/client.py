"""A small typed async client of identity's authorisation API, for the other services.

    client = IdentityClient(settings.identity_url)
    if not await client.allowed(principal.token, "class_subject.teach", class_id, "TOAN"):
        raise Problem(404, ...)

Calls carry the user's own access token, so identity answers for that user. Decisions are not
cached here: identity answers from its own tables, so an assignment ended or an account
disabled counts at once.
"""

from __future__ import annotations

import uuid
from types import TracebackType

import httpx

from hbs_identity.authz.schemas import CheckRequest, CheckResponse, LedClass, ScopeResponse, TaughtClass
from hbs_identity.people.schemas import StudentPage, StudentSearch
from hbs_shared.logging import correlation_id
from hbs_shared.problems import Problem

__all__ = [
    "CheckResponse",
    "IdentityClient",
    "LedClass",
    "ScopeResponse",
    "StudentPage",
    "StudentSearch",
    "TaughtClass",
]


class IdentityClient:
    def __init__(
        self, base_url: str, *, client: httpx.AsyncClient | None = None, timeout: float = 5.0
    ) -> None:
        self._owned = client is None
        self._client = client or httpx.AsyncClient(base_url=base_url.rstrip("/"), timeout=timeout)

    async def __aenter__(self) -> IdentityClient:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._owned:
            await self._client.aclose()

    def _headers(self, token: str) -> dict[str, str]:
        headers = {"authorization": f"Bearer {token}"}
        current = correlation_id.get()
        if current:
            headers["x-correlation-id"] = current
        return headers

    async def _send(self, method: str, path: str, token: str, **kwargs: object) -> httpx.Response:
        try:
            response = await self._client.request(method, path, headers=self._headers(token), **kwargs)  # type: ignore[arg-type]
        except httpx.HTTPError as error:
            raise Problem(
                503, "Không kiểm tra được quyền truy cập", f"identity unreachable: {error}"
            ) from None
        if response.status_code >= 400:
            body = response.json() if response.headers.get("content-type", "").endswith("json") else {}
            raise Problem(
                response.status_code,
                str(body.get("title", "Lỗi kiểm tra quyền")),
                str(body.get("detail", response.text[:200])),
            )
        return response

    async def check(
        self,
        token: str,
        action: str,
        object_id: uuid.UUID | None = None,
        subject_code: str | None = None,
        *,
        user_id: uuid.UUID | None = None,
    ) -> CheckResponse:
        request = CheckRequest(action=action, object_id=object_id, subject_code=subject_code, user_id=user_id)
        response = await self._send("POST", "/authz/check", token, json=request.model_dump(mode="json"))
        return CheckResponse.model_validate(response.json())

    async def allowed(
        self, token: str, action: str, object_id: uuid.UUID | None = None, subject_code: str | None = None
    ) -> bool:
        return (await self.check(token, action, object_id, subject_code)).allowed

    async def scope(self, token: str, user_id: uuid.UUID | None = None) -> ScopeResponse:
        params = {"user_id": str(user_id)} if user_id else {}
        response = await self._send("GET", "/authz/scope", token, params=params)
        return ScopeResponse.model_validate(response.json())

    async def search_students(self, token: str, search: StudentSearch) -> StudentPage:
        """The students this user may read; the search words go in the body, never the URL."""
        response = await self._send(
            "POST", "/students/search", token, json=search.model_dump(mode="json", exclude_none=True)
        )
        return StudentPage.model_validate(response.json())
