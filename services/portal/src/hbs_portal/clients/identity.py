"""Identity's API as the portal uses it: signing in, accounts, the office's data, factor resets."""

from __future__ import annotations

import uuid
from typing import Any, Literal

import httpx

from hbs_portal.clients.transport import BackendError, Caller, SessionExpired

Id = str | uuid.UUID


class IdentityClient:
    def __init__(self, caller: Caller) -> None:
        self.caller = caller

    # Signing in: these calls carry no token of their own.
    async def sign_in(self, username: str, password: str, totp: str | None = None) -> dict[str, Any]:
        """Tokens and who signed in; a 401 naming the field `totp` means the code is needed."""
        body = {"username": username, "password": password} | ({"totp": totp} if totp else {})
        token: dict[str, Any] = await self.caller.json("POST", "/auth/token", json=body)
        return {**token, "me": await self.me(token["access_token"])}

    async def me(self, token: str | None = None) -> dict[str, Any]:
        """Who the token is for, with its roles (none while a step is pending) and security notices."""
        if token is None:
            result: dict[str, Any] = await self.caller.json("GET", "/me")
            return result
        bound = Caller(self.caller.transport, self.caller.base_url, token, self.caller.client_address)
        answer: dict[str, Any] = await bound.json("GET", "/me")
        return answer

    async def refresh(self, refresh_token: str) -> dict[str, Any]:
        """A new access token and refresh token (the old refresh token is spent)."""
        try:
            result: dict[str, Any] = await self.caller.json(
                "POST", "/auth/refresh", json={"refresh_token": refresh_token}
            )
        except BackendError as error:
            if error.status in (400, 401, 403, 422):
                raise SessionExpired() from None
            raise
        return result

    async def logout(self, refresh_token: str) -> None:
        await self.caller.request("POST", "/auth/logout", json={"refresh_token": refresh_token})

    async def change_password(self, current: str, new: str) -> dict[str, Any]:
        result: dict[str, Any] = await self.caller.json(
            "POST", "/auth/password", json={"current_password": current, "new_password": new}
        )
        return result

    async def totp_setup(self) -> dict[str, Any]:
        """A new (unconfirmed) TOTP secret and its otpauth URI; replaces an unconfirmed one."""
        result: dict[str, Any] = await self.caller.json("POST", "/auth/totp/setup")
        return result

    async def totp_confirm(self, code: str) -> dict[str, Any]:
        """Turns TOTP on; answers fresh tokens (unrestricted once no step is left)."""
        result: dict[str, Any] = await self.caller.json("POST", "/auth/totp/confirm", json={"code": code})
        return result

    async def ack_security_notice(self, reset_id: Id) -> None:
        await self.caller.request("POST", f"/me/security-notices/{reset_id}/ack")

    async def scope(self) -> dict[str, Any]:
        """The classes and subjects the user teaches or leads (identity's authorisation scope)."""
        result: dict[str, Any] = await self.caller.json("GET", "/authz/scope")
        return result

    # Accounts
    async def account(self, account_id: Id) -> dict[str, Any]:
        result: dict[str, Any] = await self.caller.json("GET", f"/accounts/{account_id}")
        return result

    async def disable_account(self, account_id: Id, reason: str) -> None:
        await self.caller.request("POST", f"/accounts/{account_id}/disable", json={"reason": reason})

    async def enable_account(self, account_id: Id) -> None:
        await self.caller.request("POST", f"/accounts/{account_id}/enable")

    async def reset_totp(self, account_id: Id) -> None:
        await self.caller.request("POST", f"/accounts/{account_id}/totp/reset")

    async def sign_in_slip(self, account_id: Id) -> httpx.Response:
        return await self.caller.request("POST", f"/accounts/{account_id}/sign-in-slip")

    async def new_initial_password(self, account_id: Id) -> httpx.Response:
        return await self.caller.request("POST", f"/accounts/{account_id}/password")

    # Factor resets of a signer's account: one person asks, another board member approves.
    async def request_factor_reset(
        self, account_id: Id, factor: Literal["password", "totp", "signing_pin"], reason: str
    ) -> dict[str, Any]:
        result: dict[str, Any] = await self.caller.json(
            "POST", f"/accounts/{account_id}/factor-resets", json={"factor": factor, "reason": reason}
        )
        return result

    async def factor_resets(self, state: str = "pending") -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = await self.caller.json(
            "GET", "/factor-resets", params={"state": state}
        )
        return result

    async def approve_factor_reset(self, reset_id: Id) -> dict[str, Any]:
        result: dict[str, Any] = await self.caller.json("POST", f"/factor-resets/{reset_id}/approve")
        return result

    async def reject_factor_reset(self, reset_id: Id, reason: str) -> dict[str, Any]:
        result: dict[str, Any] = await self.caller.json(
            "POST", f"/factor-resets/{reset_id}/reject", json={"reason": reason}
        )
        return result

    # Staff
    async def request_student_change(
        self, student_id: Id, changes: dict[str, str], note: str
    ) -> dict[str, Any]:
        """Đ6.1: the homeroom teacher reports what the documents show instead."""
        result: dict[str, Any] = await self.caller.json(
            "POST", f"/students/{student_id}/change-requests", json={"changes": changes, "note": note}
        )
        return result

    async def change_requests(self, state: str = "pending") -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = await self.caller.json(
            "GET", "/change-requests", params={"state": state}
        )
        return result

    async def apply_change_request(self, request_id: Id) -> dict[str, Any]:
        result: dict[str, Any] = await self.caller.json("POST", f"/change-requests/{request_id}/apply")
        return result

    async def reject_change_request(self, request_id: Id, reason: str) -> dict[str, Any]:
        result: dict[str, Any] = await self.caller.json(
            "POST", f"/change-requests/{request_id}/reject", json={"reason": reason}
        )
        return result

    async def outside_systems(self) -> list[dict[str, Any]]:
        """The school's OAuth clients (never their secrets)."""
        result: list[dict[str, Any]] = await self.caller.json("GET", "/oauth/clients")
        return result

    async def register_outside_system(self, name: str, scopes: list[str]) -> dict[str, Any]:
        """A new client: the answer carries its secret, this once."""
        result: dict[str, Any] = await self.caller.json(
            "POST", "/oauth/clients", json={"name": name, "scopes": scopes}
        )
        return result

    async def revoke_outside_system(self, client_uuid: Id) -> dict[str, Any]:
        result: dict[str, Any] = await self.caller.json("POST", f"/oauth/clients/{client_uuid}/revoke")
        return result

    async def staff(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = await self.caller.json("GET", "/staff")
        return result

    async def create_staff(self, body: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = await self.caller.json("POST", "/staff", json=body)
        return result

    async def set_staff_roles(self, staff_id: Id, roles: list[str]) -> None:
        await self.caller.request("PATCH", f"/staff/{staff_id}", json={"roles": roles})

    # The school and the province's schools
    async def school(self) -> dict[str, Any]:
        """The caller's own school: its id, name, authority and province."""
        result: dict[str, Any] = await self.caller.json("GET", "/school")
        return result

    async def schools(self) -> list[dict[str, Any]]:
        """Every school of the deployment with its counts (the province's roles only; no names)."""
        result: list[dict[str, Any]] = await self.caller.json("GET", "/schools")
        return result

    async def create_school(self, body: dict[str, Any]) -> dict[str, Any]:
        """A new school and its first administrator: the answer carries their one-time password."""
        result: dict[str, Any] = await self.caller.json("POST", "/schools", json=body)
        return result

    # Classes, school years, assignments
    async def classes(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = await self.caller.json("GET", "/classes")
        return result

    async def classes_sorted(self) -> list[dict[str, Any]]:
        """The school's classes by grade, then name (the office's lists)."""
        return sorted(await self.classes(), key=lambda c: (c["grade_level"], c["name"]))

    async def school_class(self, class_id: Id) -> dict[str, Any]:
        result: dict[str, Any] = await self.caller.json("GET", f"/classes/{class_id}")
        return result

    async def create_class(self, name: str, grade_level: int, school_year: str) -> dict[str, Any]:
        body = {"name": name, "grade_level": grade_level, "school_year": school_year}
        result: dict[str, Any] = await self.caller.json("POST", "/classes", json=body)
        return result

    async def rename_class(self, class_id: Id, name: str) -> None:
        await self.caller.request("PATCH", f"/classes/{class_id}", json={"name": name})

    async def delete_class(self, class_id: Id) -> None:
        await self.caller.request("DELETE", f"/classes/{class_id}")

    async def school_years(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = await self.caller.json("GET", "/school-years")
        return result

    async def assignments(self, class_id: Id) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = await self.caller.json(
            "GET", "/assignments", params={"class_id": str(class_id)}
        )
        return result

    async def assign(self, body: dict[str, Any]) -> None:
        await self.caller.request("POST", "/assignments", json=body)

    async def unassign(self, assignment_id: Id) -> None:
        await self.caller.request("DELETE", f"/assignments/{assignment_id}")

    async def class_sign_in_slips(self, class_id: Id, who: Literal["students", "parents"]) -> httpx.Response:
        return await self.caller.request("POST", f"/classes/{class_id}/sign-in-slips", params={"who": who})

    # Students and parents
    async def search_students(self, query: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = await self.caller.json("POST", "/students/search", json=query)
        return result

    async def students_of_class(self, class_id: Id, limit: int = 500) -> dict[str, Any]:
        result: dict[str, Any] = await self.caller.json(
            "GET", "/students", params={"class_id": str(class_id), "limit": limit}
        )
        return result

    async def student(self, student_id: Id) -> dict[str, Any]:
        result: dict[str, Any] = await self.caller.json("GET", f"/students/{student_id}")
        return result

    async def student_part(
        self, student_id: Id, part: Literal["versions", "enrolments", "parents"]
    ) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = await self.caller.json("GET", f"/students/{student_id}/{part}")
        return result

    async def create_student(self, body: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = await self.caller.json("POST", "/students", json=body)
        return result

    async def update_student(self, student_id: Id, body: dict[str, Any]) -> None:
        await self.caller.request("PATCH", f"/students/{student_id}", json=body)

    async def enrol(self, student_id: Id, class_id: str, enrolled_on: str | None) -> None:
        await self.caller.request(
            "POST",
            f"/students/{student_id}/enrolments",
            json={"class_id": class_id, "enrolled_on": enrolled_on},
        )

    async def leave(self, student_id: Id, left_on: str | None, reason: str) -> None:
        await self.caller.request(
            "POST", f"/students/{student_id}/leave", json={"left_on": left_on, "reason": reason}
        )

    async def create_parent(self, body: dict[str, Any]) -> None:
        await self.caller.request("POST", "/parents", json=body)

    async def unlink_parent(self, parent_id: Id, student_id: Id) -> None:
        await self.caller.request("DELETE", f"/parents/{parent_id}/children/{student_id}")

    # Import, export, audit
    async def export(self, kind: str) -> httpx.Response:
        return await self.caller.request("GET", f"/exports/{kind}")

    async def import_template(self, kind: str) -> httpx.Response:
        return await self.caller.request("GET", f"/imports/{kind}/template")

    async def import_file(self, kind: str, content: bytes, *, dry_run: bool) -> dict[str, Any]:
        result: dict[str, Any] = await self.caller.json(
            "POST", f"/imports/{kind}", params={"dry_run": "true" if dry_run else "false"}, content=content
        )
        return result

    async def audit(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = await self.caller.json("GET", "/audit", params=params)
        return result

    async def audit_verify(self) -> dict[str, Any]:
        """Whether identity's audit chain is intact, or its first broken link."""
        result: dict[str, Any] = await self.caller.json("GET", "/audit/verify")
        return result
