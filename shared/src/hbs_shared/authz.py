"""A small typed async client of identity's authorisation API, usable by every service.

    authz = AuthzClient(settings.identity_url)
    if not await authz.allowed(principal.token, "student.read", student_id):
        raise Problem(404, ...)

Calls carry the caller's own access token, so identity answers for that user from its own
tables at that moment (nothing is cached here). It fails closed: when identity cannot answer,
the caller gets a 503 problem, never "allowed".
"""

from __future__ import annotations

import uuid
from types import TracebackType
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from hbs_shared.logging import correlation_id
from hbs_shared.problems import Problem

UNAVAILABLE_TITLE = "Không kiểm tra được quyền truy cập, vui lòng thử lại sau"


class _Answer(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class AuthzDecision(_Answer):
    """Identity's answer to "may U do A on O"."""

    allowed: bool
    reason: str
    action: str
    user_id: uuid.UUID


class TaughtClass(_Answer):
    class_id: uuid.UUID
    class_name: str
    grade_level: int
    subject_code: str
    school_year: str


class LedClass(_Answer):
    class_id: uuid.UUID
    class_name: str
    grade_level: int
    school_year: str


class AuthzScope(_Answer):
    """What a user is linked to: classes taught and led, a parent's children, a student's own id."""

    user_id: uuid.UUID
    kind: str
    """staff, parent, student, or province (Sở GD&ĐT: no school, no classes, no children)."""
    roles: list[str]
    school_id: str
    teaching: list[TaughtClass] = Field(default_factory=list)
    homeroom: list[LedClass] = Field(default_factory=list)
    children: list[uuid.UUID] = Field(default_factory=list)
    student_id: uuid.UUID | None = None

    @property
    def students(self) -> list[uuid.UUID]:
        """The students whose own results this user reads as family: a parent's children, or
        a student themself."""
        if self.kind == "parent":
            return list(self.children)
        if self.kind == "student" and self.student_id is not None:
            return [self.student_id]
        return []


class AccountRoles(_Answer):
    """An account as the office sees it (identity's `GET /accounts/{id}`): what it is and may do."""

    id: uuid.UUID
    kind: str
    roles: list[str]
    disabled: bool


class AuthzClient:
    def __init__(
        self, base_url: str, *, client: httpx.AsyncClient | None = None, timeout: float = 3.0
    ) -> None:
        self._owned = client is None
        self._client = client or httpx.AsyncClient(base_url=base_url.rstrip("/"), timeout=timeout)

    async def __aenter__(self) -> AuthzClient:
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

    async def _send(self, method: str, path: str, token: str, **kwargs: Any) -> dict[str, Any]:
        try:
            response = await self._client.request(method, path, headers=self._headers(token), **kwargs)
        except httpx.HTTPError as error:
            raise Problem(503, UNAVAILABLE_TITLE, f"identity unreachable: {type(error).__name__}") from None
        if response.status_code >= 500:
            raise Problem(503, UNAVAILABLE_TITLE, f"identity answered {response.status_code}")
        try:
            body = response.json()
        except ValueError:
            raise Problem(503, UNAVAILABLE_TITLE, "identity answered no JSON") from None
        if not isinstance(body, dict):
            raise Problem(503, UNAVAILABLE_TITLE, "identity answered no JSON object")
        if response.status_code >= 400:
            # The caller's own token was refused (401) or the question was (403/404/422): say so.
            raise Problem(
                response.status_code,
                str(body.get("title", "Không có quyền truy cập")),
                str(body.get("detail", "refused by identity")),
            )
        return body

    async def check(
        self, token: str, action: str, object_id: uuid.UUID | None = None, subject_code: str | None = None
    ) -> AuthzDecision:
        body = {"action": action, "object_id": str(object_id) if object_id else None}
        if subject_code is not None:
            body["subject_code"] = subject_code  # class_subject.* actions name the subject too
        answer = await self._send("POST", "/authz/check", token, json=body)
        try:
            return AuthzDecision.model_validate(answer)
        except ValidationError:
            raise Problem(503, UNAVAILABLE_TITLE, "identity's answer did not validate") from None

    async def allowed(
        self, token: str, action: str, object_id: uuid.UUID | None = None, subject_code: str | None = None
    ) -> bool:
        return (await self.check(token, action, object_id, subject_code)).allowed

    async def scope(self, token: str) -> AuthzScope:
        answer = await self._send("GET", "/authz/scope", token)
        try:
            return AuthzScope.model_validate(answer)
        except ValidationError:
            raise Problem(503, UNAVAILABLE_TITLE, "identity's answer did not validate") from None

    async def account(self, token: str, user_id: uuid.UUID) -> AccountRoles:
        """Another account's kind and roles; identity answers only the office (404 otherwise)."""
        answer = await self._send("GET", f"/accounts/{user_id}", token)
        try:
            return AccountRoles.model_validate(answer)
        except ValidationError:
            raise Problem(503, UNAVAILABLE_TITLE, "identity's answer did not validate") from None
