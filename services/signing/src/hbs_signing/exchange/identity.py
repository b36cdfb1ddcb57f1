"""The few calls the exchange makes to identity, with the office member's own token: identity
decides who may read, create and move students, and keeps its own audit of each change."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

import httpx

from hbs_shared.problems import Problem

PERSONAL_FIELDS: tuple[str, ...] = (
    "national_id",
    "full_name",
    "date_of_birth",
    "birthplace",
    "gender",
    "ethnicity",
    "nationality",
    "address",
    "citizen_id",
    "father_name",
    "father_occupation",
    "mother_name",
    "mother_occupation",
    "guardian_name",
    "guardian_occupation",
    "policy_group",
    "disability",
)
"""What a student's identity data carries into another school (identity's `StudentIn`)."""


def _unreachable(detail: str) -> Problem:
    return Problem(503, "Không liên lạc được với hệ thống định danh, vui lòng thử lại sau", detail)


@dataclass(frozen=True)
class IdentityPeople:
    base_url: str
    token: str
    timeout: float = 10.0

    def _client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=self.base_url, headers={"authorization": f"Bearer {self.token}"}, timeout=self.timeout
        )

    async def _call(self, method: str, path: str, json: Any = None) -> httpx.Response:
        try:
            async with self._client() as client:
                response = await client.request(method, path, json=json)
        except httpx.HTTPError as error:
            raise _unreachable(f"identity: {type(error).__name__}") from error
        if response.status_code >= 500:
            raise _unreachable(f"identity answered {response.status_code}")
        return response

    async def student(self, student_id: uuid.UUID) -> dict[str, Any] | None:
        """The student's identity data as identity holds it, or None (not there, or not yours)."""
        response = await self._call("GET", f"/students/{student_id}")
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise _unreachable(f"identity answered {response.status_code} for a student")
        found: dict[str, Any] = response.json()
        return found

    async def leave(self, student_id: uuid.UUID, reason: str, on: date) -> bool:
        """Mark the student as left (transferred or graduated); False when not enrolled any more."""
        response = await self._call(
            "POST", f"/students/{student_id}/leave", {"left_on": on.isoformat(), "reason": reason}
        )
        return response.status_code == 200

    async def find(self, national_id: str) -> uuid.UUID | None:
        """The student with this mã định danh in this school, if any (search in the body)."""
        response = await self._call("POST", "/students/search", {"q": national_id, "limit": 20})
        if response.status_code != 200:
            raise _unreachable(f"identity answered {response.status_code} to a search")
        for item in response.json().get("items", []):
            if item.get("national_id") == national_id:
                return uuid.UUID(item["id"])
        return None

    async def create(self, identity: dict[str, Any]) -> uuid.UUID:
        """A new student from the sending school's identity data (no class yet: the office enrols)."""
        body = {name: identity[name] for name in PERSONAL_FIELDS if identity.get(name) is not None}
        response = await self._call("POST", "/students", body)
        if response.status_code != 201:
            try:
                problem = response.json()
            except ValueError:
                problem = {}
            raise Problem(
                422,
                "Không tạo được học sinh từ thông tin cá nhân trong hồ sơ",
                str(problem.get("detail") or problem.get("title") or response.status_code),
                field="file",
                extra={"identity_field": problem.get("field")},
            )
        return uuid.UUID(response.json()["id"])
