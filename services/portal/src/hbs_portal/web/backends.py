"""Calls to the other services' HTTP APIs, always with the signed-in user's own token."""

from __future__ import annotations

from typing import Any

import httpx

from hbs_shared.logging import current_correlation_id


class BackendError(Exception):
    def __init__(self, status: int, title: str, problem: dict[str, Any] | None = None) -> None:
        super().__init__(title)
        self.status = status
        self.title = title
        self.problem = problem or {}


class SessionExpired(BackendError):
    pass


class Backends:
    def __init__(self, identity_url: str, grades_url: str, signing_url: str) -> None:
        self.identity_url = identity_url.rstrip("/")
        self.grades_url = grades_url.rstrip("/")
        self.signing_url = signing_url.rstrip("/")
        # Idle connections are dropped before uvicorn's 5 s keep-alive closes them under us.
        self.client = httpx.AsyncClient(
            timeout=httpx.Timeout(15.0, connect=3.0), limits=httpx.Limits(keepalive_expiry=2.0)
        )

    async def close(self) -> None:
        await self.client.aclose()

    def _headers(self, token: str | None) -> dict[str, str]:
        headers = {"x-correlation-id": current_correlation_id()}
        if token:
            headers["authorization"] = f"Bearer {token}"
        return headers

    async def call(self, method: str, url: str, token: str | None, **kwargs: Any) -> httpx.Response:
        """One call with the user's token; errors become BackendError with the service's Vietnamese title."""
        headers = {**self._headers(token), **kwargs.pop("headers", {})}
        try:
            try:
                response = await self.client.request(method, url, headers=headers, **kwargs)
            except httpx.RemoteProtocolError:
                # The server closed a reused connection before reading the request: send it again.
                response = await self.client.request(method, url, headers=headers, **kwargs)
        except httpx.HTTPError:
            raise BackendError(503, "Dịch vụ tạm thời không phản hồi, xin thử lại sau") from None
        if response.status_code == 401 and token:
            raise SessionExpired(401, "Phiên đăng nhập đã hết hạn, xin đăng nhập lại")
        if response.status_code >= 400:
            title = "Có lỗi xảy ra"
            problem: dict[str, Any] = {}
            if response.headers.get("content-type", "").startswith("application/problem+json"):
                problem = response.json()
                title = str(problem.get("title", title))
            raise BackendError(response.status_code, title, problem)
        return response

    async def sign_in(self, username: str, password: str, totp: str | None = None) -> dict[str, Any]:
        """Tokens and who signed in; a 401 naming the field `totp` means the code is needed."""
        body = {"username": username, "password": password} | ({"totp": totp} if totp else {})
        response = await self.call("POST", f"{self.identity_url}/auth/token", None, json=body)
        token: dict[str, Any] = response.json()
        return {**token, "me": await self.me(token["access_token"])}

    async def me(self, token: str) -> dict[str, Any]:
        """Who the token is for, with its roles (none while a step is pending)."""
        result: dict[str, Any] = (await self.call("GET", f"{self.identity_url}/me", token)).json()
        return result

    async def refresh(self, refresh_token: str) -> dict[str, Any]:
        """A new access token and refresh token (the old refresh token is spent)."""
        try:
            response = await self.call(
                "POST",
                f"{self.identity_url}/auth/refresh",
                None,
                json={"refresh_token": refresh_token},
            )
        except BackendError as error:
            if error.status in (400, 401, 403, 422):
                raise SessionExpired(401, "Phiên đăng nhập đã hết hạn, xin đăng nhập lại") from None
            raise
        result: dict[str, Any] = response.json()
        return result

    async def logout(self, refresh_token: str) -> None:
        await self.call(
            "POST", f"{self.identity_url}/auth/logout", None, json={"refresh_token": refresh_token}
        )

    async def change_password(self, token: str, current: str, new: str) -> dict[str, Any]:
        result: dict[str, Any] = (
            await self.call(
                "POST",
                f"{self.identity_url}/auth/password",
                token,
                json={"current_password": current, "new_password": new},
            )
        ).json()
        return result

    async def totp_setup(self, token: str) -> dict[str, Any]:
        """A new (unconfirmed) TOTP secret and its otpauth URI; replaces an unconfirmed one."""
        result: dict[str, Any] = (
            await self.call("POST", f"{self.identity_url}/auth/totp/setup", token)
        ).json()
        return result

    async def totp_confirm(self, token: str, code: str) -> dict[str, Any]:
        """Turns TOTP on; answers fresh tokens (unrestricted once no step is left)."""
        result: dict[str, Any] = (
            await self.call("POST", f"{self.identity_url}/auth/totp/confirm", token, json={"code": code})
        ).json()
        return result

    async def sheets(self, token: str) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = (await self.call("GET", f"{self.grades_url}/sheets", token)).json()
        return result

    async def sheet(self, token: str, sheet_id: str) -> dict[str, Any]:
        result: dict[str, Any] = (
            await self.call("GET", f"{self.grades_url}/sheets/{sheet_id}", token)
        ).json()
        return result

    async def sheet_action(
        self, token: str, sheet_id: str, action: str, version: int, activation_id: str | None = None
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"expected_version": version}
        if activation_id is not None:
            body["activation_id"] = activation_id
        result: dict[str, Any] = (
            await self.call("POST", f"{self.grades_url}/sheets/{sheet_id}/{action}", token, json=body)
        ).json()
        return result

    async def signing_pin_status(self, token: str) -> dict[str, Any]:
        result: dict[str, Any] = (await self.call("GET", f"{self.signing_url}/signing-pin", token)).json()
        return result

    async def set_signing_pin(self, token: str, pin: str, current_pin: str | None) -> None:
        await self.call(
            "PUT",
            f"{self.signing_url}/signing-pin",
            token,
            json={"pin": pin, "current_pin": current_pin or None},
        )

    async def activate(self, token: str, pin: str, subject_ids: list[str]) -> str:
        """Signature activation for these documents: the PIN, never the login, lets them sign."""
        response = await self.call(
            "POST",
            f"{self.signing_url}/activations",
            token,
            json={"pin": pin, "subject_ids": subject_ids},
        )
        activation_id: str = response.json()["activation_id"]
        return activation_id

    async def verify_code(self, code: str) -> dict[str, Any]:
        """Public: no token. The report of the document printed with this code."""
        result: dict[str, Any] = (await self.call("GET", f"{self.signing_url}/verify/{code}", None)).json()
        return result

    async def verify_pdf(self, pdf: bytes) -> dict[str, Any]:
        result: dict[str, Any] = (
            await self.call(
                "POST",
                f"{self.signing_url}/verify",
                None,
                content=pdf,
                headers={"content-type": "application/pdf"},
            )
        ).json()
        return result

    async def document_pdf(self, token: str, document_id: str) -> bytes:
        response = await self.call("GET", f"{self.signing_url}/documents/{document_id}/pdf", token)
        return response.content
