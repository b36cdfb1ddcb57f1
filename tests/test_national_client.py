"""Issue 13 §4 and §6 together: the province's system, registered by the office with the scope
`national.export`, lists and downloads the school's national exports with its own token; a client
without the scope, and any client trying to make an export (a person's act), is refused."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest

from hbs_devtools.drive import SystemClient
from tests.factories import wait_until

pytestmark = [pytest.mark.db, pytest.mark.broker, pytest.mark.hsm]


def _client_token(system: SystemClient, scopes: list[str]) -> str:
    with system.client("identity", system.token("quantri")) as identity:
        made = identity.post("/oauth/clients", json={"name": "Sở GD&ĐT Hưng Yên", "scopes": scopes})
        assert made.status_code == 201, made.text
        body: dict[str, Any] = made.json()
    basic = base64.b64encode(f"{body['client_id']}:{body['client_secret']}".encode()).decode()
    with system.client("identity") as identity:
        issued = identity.post(
            "/v1/oauth/token",
            content="grant_type=client_credentials",
            headers={"authorization": f"Basic {basic}", "content-type": "application/x-www-form-urlencoded"},
        )
    assert issued.status_code == 200, issued.text
    return str(issued.json()["access_token"])


def test_the_provinces_system_reads_the_national_exports_with_its_scope_only(system: SystemClient) -> None:
    with system.client("grades", system.token("quantri")) as office:
        # A stack just started: grades answers 503 until identity's school facts reach it.
        def make() -> httpx.Response | None:
            answer = office.post("/national/exports", json={"since": None})
            return None if answer.status_code == 503 else answer

        made = wait_until("grades to know the school's facts", make)
        assert made.status_code == 201, made.text
        export_id = made.json()["id"]

    with system.client("grades", _client_token(system, ["national.export"])) as province:
        listed = province.get("/national/exports")
        assert listed.status_code == 200, listed.text
        assert export_id in [e["id"] for e in listed.json()]
        document = province.get(f"/national/exports/{export_id}/xml")
        assert document.status_code == 200, document.text
        assert document.headers["content-type"].startswith("application/xml")
        assert province.get(f"/national/exports/{export_id}/json").json()["phienban"] == "1.0"
        refused = province.post("/national/exports", json={"since": None})
        assert refused.status_code == 403, refused.text  # making one is the office's act

    with system.client("grades", _client_token(system, ["verify"])) as stranger:
        answer = stranger.get("/national/exports")
        assert answer.status_code == 403, answer.text
        assert answer.headers["content-type"].startswith("application/problem+json")
