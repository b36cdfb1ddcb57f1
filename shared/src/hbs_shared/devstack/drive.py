"""Driving the running system over HTTP the way the portal does (end-to-end tests, smoke runs)."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any

import httpx

from hbs_shared.demo import DEMO_PASSWORD
from hbs_shared.devstack.stack import Stack

SIGNING_PIN = "246810"


@dataclass
class SystemClient:
    """The running stack, spoken to the way the portal speaks to it."""

    stack: Stack

    def token(self, username: str) -> str:
        response = httpx.post(
            self.stack.url("identity") + "/auth/token",
            json={"username": username, "password": DEMO_PASSWORD},
        )
        assert response.status_code == 200, response.text
        token: str = response.json()["access_token"]
        return token

    def client(self, service: str, token: str | None = None, **headers: str) -> httpx.Client:
        if token:
            headers["authorization"] = f"Bearer {token}"
        return httpx.Client(base_url=self.stack.url(service), headers=headers, timeout=30)

    def sheets(self, token: str, timeout: float = 60.0) -> list[dict[str, Any]]:
        """The caller's sheets, waiting until grades has built them from identity's events."""
        deadline = time.monotonic() + timeout
        with self.client("grades", token) as grades:
            while True:
                found: list[dict[str, Any]] = grades.get("/sheets").json()
                if found or time.monotonic() > deadline:
                    return found
                time.sleep(0.3)

    def sheet(self, token: str, class_name: str, subject: str, state: str | None = None) -> dict[str, Any]:
        """The first of the caller's sheets of this class and subject (in `state`, if given)."""
        return next(
            s
            for s in self.sheets(token)
            if s["class_name"] == class_name
            and s["subject"] == subject
            and (state is None or s["state"] == state)
        )

    def ensure_pin(self, token: str) -> None:
        with self.client("signing", token) as signing:
            if not signing.get("/signing-pin").json()["set"]:
                assert signing.put("/signing-pin", json={"pin": SIGNING_PIN}).status_code == 204

    def activate(self, token: str, *subject_ids: str) -> str:
        self.ensure_pin(token)
        with self.client("signing", token) as signing:
            answer = signing.post("/activations", json={"pin": SIGNING_PIN, "subject_ids": list(subject_ids)})
        assert answer.status_code == 201, answer.text
        activation_id: str = answer.json()["activation_id"]
        return activation_id

    def submit_and_sign(self, token: str, sheet: dict[str, Any], **headers: str) -> httpx.Response:
        activation_id = self.activate(token, sheet["id"])
        with self.client("grades", token, **headers) as grades:
            submitted = grades.post(
                f"/sheets/{sheet['id']}/submit", json={"expected_version": sheet["version"]}
            )
            assert submitted.status_code == 200, submitted.text
            signed = grades.post(
                f"/sheets/{sheet['id']}/sign",
                json={"expected_version": submitted.json()["version"], "activation_id": activation_id},
            )
            assert signed.status_code == 202, signed.text
            return submitted

    def wait_for_state(self, token: str, sheet_id: str, state: str) -> dict[str, Any]:
        deadline = time.monotonic() + 90
        with self.client("grades", token) as grades:
            while True:
                sheet: dict[str, Any] = grades.get(f"/sheets/{sheet_id}").json()
                if sheet["state"] == state:
                    return sheet
                assert time.monotonic() < deadline, f"sheet still {sheet['state']}: {sheet}"
                time.sleep(0.3)


def sign_in_portal(browser: httpx.Client, username: str, password: str = DEMO_PASSWORD) -> httpx.Response:
    """Signs in through the portal's form as a browser does: the form's CSRF token (and its cookie)
    from GET /login first, then the POST."""
    form = browser.get("/login")
    found = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert found is not None, form.text
    return browser.post("/login", data={"csrf": found.group(1), "username": username, "password": password})
