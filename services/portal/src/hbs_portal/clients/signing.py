"""Signing's API as the portal uses it: the signing PIN, activations, documents, verification."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from hbs_portal.clients.transport import Caller

Id = str | uuid.UUID
SEALING_TIMEOUT = httpx.Timeout(120.0, connect=3.0)
"""Sealing a package, or checking every record of one, takes seconds, not the usual 15 s bound."""


class SigningClient:
    def __init__(self, caller: Caller) -> None:
        self.caller = caller

    async def pin_status(self) -> dict[str, Any]:
        """Whether a PIN is set, and `reset_required` after an approved reset of it."""
        result: dict[str, Any] = await self.caller.json("GET", "/signing-pin")
        return result

    async def set_pin(self, pin: str, current_pin: str | None) -> None:
        await self.caller.request(
            "PUT", "/signing-pin", json={"pin": pin, "current_pin": current_pin or None}
        )

    async def activate(
        self, pin: str, *, subject_ids: list[str] | None = None, batch_id: str | None = None
    ) -> str:
        """Signature activation for these documents (or one batch): the PIN, never the login, signs."""
        body: dict[str, Any] = {"pin": pin}
        if subject_ids is not None:
            body["subject_ids"] = subject_ids
        if batch_id is not None:
            body["batch_id"] = batch_id
        answer: dict[str, Any] = await self.caller.json("POST", "/activations", json=body)
        return str(answer["activation_id"])

    async def reset_pin(self, person_id: Id, reason: str) -> None:
        """The office's reset of someone's PIN (refused for signers: they need an approved request)."""
        await self.caller.request("POST", f"/signing-pin/{person_id}/reset", json={"reason": reason})

    async def certificates(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = await self.caller.json("GET", "/certificates")
        return result

    async def student_records(self, student_id: Id) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = await self.caller.json(
            "GET", f"/documents/students/{student_id}/records"
        )
        return result

    async def document_pdf(self, document_id: Id) -> bytes:
        return (await self.caller.request("GET", f"/documents/{document_id}/pdf")).content

    async def verify_code(self, code: str) -> dict[str, Any]:
        """Public: the report of the document printed with this code."""
        result: dict[str, Any] = await self.caller.json("GET", f"/verify/{code}")
        return result

    async def verify_pdf(self, pdf: bytes) -> dict[str, Any]:
        result: dict[str, Any] = await self.caller.json(
            "POST", "/verify", content=pdf, headers={"content-type": "application/pdf"}
        )
        return result

    async def export_packages(self, student_ids: list[Id], reason: str) -> list[dict[str, Any]]:
        """Transfer or graduation packages, sealed; identity then records the students as left."""
        answer: dict[str, Any] = await self.caller.json(
            "POST",
            "/exchange/packages",
            json={"student_ids": [str(i) for i in student_ids], "reason": reason},
            timeout=SEALING_TIMEOUT,
        )
        exported: list[dict[str, Any]] = answer["exported"]
        return exported

    async def import_package(self, pdf: bytes) -> dict[str, Any]:
        """Another school's package: imported, or a BackendError (422) whose problem lists `files`."""
        result: dict[str, Any] = await self.caller.json(
            "POST",
            "/exchange/imports",
            content=pdf,
            headers={"content-type": "application/pdf"},
            timeout=SEALING_TIMEOUT,
        )
        return result

    async def student_packages(self, student_id: Id) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = await self.caller.json(
            "GET", f"/exchange/students/{student_id}/packages"
        )
        return result

    async def package_file(self, package_id: Id, part: str) -> httpx.Response:
        """The package (`pdf`) or its receipt (`receipt`), as the service sends it."""
        return await self.caller.request("GET", f"/exchange/packages/{package_id}/{part}")
