"""The portal in-process on a real database, with the services it calls replaced by a recorded
`httpx.MockTransport` (the whole-system tests in tests/ run it against the real services)."""

from __future__ import annotations

import json
import re
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from fastapi import FastAPI

from hbs_portal.app import MIGRATIONS, create_app
from hbs_portal.clients import Transport
from hbs_portal.settings import PortalSettings
from hbs_shared.migrations import upgrade_to_head
from hbs_shared.service import ServiceRuntime

PAGES = frozenset(
    {
        "test_audit_page.py",
        "test_board_pages.py",
        "test_exchange_pages.py",
        "test_forwarded.py",
        "test_language.py",
        "test_national_page.py",
        "test_outside_systems_page.py",
        "test_protection.py",
        "test_reset_pages.py",
        "test_teacher_pages.py",
        "test_vietnamese_pages.py",
    }
)
"""Modules about the portal's pages and HTTP behaviour (what they show, their language, headers,
forms, the forwarded address): marked `pages`, left out of the PostgreSQL rerun like the
whole-stack page modules (tests/conftest.py PAGES). The portal's database is only its session
store, whose statements run on PostgreSQL in test_deps (sign-in, refresh, sign-out) and behind
every page of the whole-stack flows there; each of these tests paid a fresh database and its
migrations (~165 s of the rerun's process time, measured under load)."""


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if item.path.parent == here and item.path.name in PAGES:
            item.add_marker(pytest.mark.pages)


IDENTITY = "http://identity.test"
GRADES = "http://grades.test"
SIGNING = "http://signing.test"
Route = Callable[[httpx.Request], httpx.Response]


def access_token(lifetime: float = 900) -> str:
    """A token the portal stores and only reads the expiry of (the services verify tokens)."""
    return jwt.encode(
        {"sub": "u", "exp": int(time.time() + lifetime)},
        "a-test-key-the-portal-never-verifies-0123456789",
        algorithm="HS256",
    )


def problem(status: int, title: str, **extra: Any) -> httpx.Response:
    return httpx.Response(
        status,
        content=json.dumps({"title": title, "status": status, **extra}),
        headers={"content-type": "application/problem+json"},
    )


@dataclass
class FakeServices:
    """Answers by (method, URL pattern); records every request the portal made."""

    routes: list[tuple[str, re.Pattern[str], Route]] = field(default_factory=list)
    seen: list[httpx.Request] = field(default_factory=list)

    def on(self, method: str, pattern: str, answer: Route | httpx.Response | Any) -> None:
        if isinstance(answer, httpx.Response):
            fixed = answer
            route: Route = lambda _request: fixed  # noqa: E731
        elif callable(answer):
            route = answer
        else:
            body = answer
            route = lambda _request: httpx.Response(200, json=body)  # noqa: E731
        self.routes.insert(0, (method, re.compile(pattern + r"$"), route))

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        url = str(request.url.copy_with(query=None))
        for method, pattern, route in self.routes:
            if method == request.method and pattern.match(url):
                return route(request)
        return problem(404, f"Không có {request.method} {url} trong bài kiểm tra")

    def calls(self, method: str, pattern: str) -> list[httpx.Request]:
        found = re.compile(pattern + r"$")
        return [r for r in self.seen if r.method == method and found.match(str(r.url.copy_with(query=None)))]


@dataclass
class Portal:
    app: FastAPI
    services: FakeServices

    def browser(self, address: str = "203.0.113.7") -> httpx.AsyncClient:
        """A browser at `address` (as the portal sees the client)."""
        return httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app, client=(address, 51000)),
            base_url="http://portal.test",
        )

    def signs_in(
        self,
        username: str,
        roles: list[str],
        user_id: str = "11111111-1111-1111-1111-111111111111",
        **me: Any,
    ) -> None:
        """Identity accepts this user's password (and answers /me for them)."""
        self.services.on(
            "POST",
            f"{IDENTITY}/auth/token",
            {"access_token": access_token(), "refresh_token": "r1", "token_type": "bearer"},
        )
        self.services.on(
            "GET",
            f"{IDENTITY}/me",
            {"user_id": user_id, "username": username, "name": "Nguyễn Văn A", "roles": roles, **me},
        )

    async def login(self, browser: httpx.AsyncClient, username: str = "gv.toan") -> httpx.Response:
        form = await browser.get("/login")
        token = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert token is not None
        return await browser.post(
            "/login", data={"csrf": token.group(1), "username": username, "password": "mat-khau"}
        )

    @staticmethod
    async def csrf_of(browser: httpx.AsyncClient, page: str) -> str:
        answer = await browser.get(page)
        found = re.search(r'name="csrf" value="([^"]+)"', answer.text)
        assert found is not None, answer.text
        return found.group(1)


@pytest.fixture
async def portal(databases: Any) -> AsyncIterator[Portal]:
    settings = PortalSettings(
        environment="test",
        database_url=databases.migrated("portal", MIGRATIONS),  # root conftest.py
        identity_url=IDENTITY,
        grades_url=GRADES,
        signing_url=SIGNING,
    )
    services = FakeServices()
    transport = Transport(client=httpx.AsyncClient(transport=httpx.MockTransport(services.handle)))
    app = create_app(settings, transport)
    runtime: ServiceRuntime = app.state.runtime
    await upgrade_to_head(runtime.db.engine, MIGRATIONS)
    try:
        yield Portal(app, services)
    finally:
        await transport.close()
        await runtime.db.dispose()
