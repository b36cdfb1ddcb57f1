"""Identity in-process over HTTP, with the small demo school, and helpers to sign in."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from sqlalchemy import select

from hbs_devtools.demo import DEMO_PASSWORD
from hbs_identity.app import MIGRATIONS, create_app
from hbs_identity.settings import IdentitySettings
from hbs_shared.messaging.tables import outbox
from hbs_shared.service import ServiceRuntime

Login = Callable[..., Awaitable[dict[str, str]]]


@pytest.fixture
async def app(databases: Any, kafka: Any, tmp_path: Path) -> AsyncIterator[FastAPI]:
    settings = IdentitySettings(
        database_url=databases.migrated("identity", MIGRATIONS),  # root conftest.py
        kafka_bootstrap=kafka.bootstrap,
        data_dir=tmp_path,
        seed_demo=True,
        demo_size="small",
        environment="test",
    )
    application = create_app(settings)
    async with LifespanManager(application, startup_timeout=60, shutdown_timeout=30):
        yield application
        await drain_outbox(application)


async def drain_outbox(app: FastAPI, timeout: float = 90) -> int:
    """Wait until the relay has published every event; returns how many are still pending.

    Stopping the service while the relay is in the middle of a long backlog can take a minute
    on a loaded shared broker (reported to the lead), so tests let the backlog drain first."""
    runtime: ServiceRuntime = app.state.runtime
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        async with runtime.db.transaction() as session:
            pending = await runtime.outbox.count_pending(session)
        if pending == 0 or asyncio.get_running_loop().time() > deadline:
            return pending
        runtime.relay.nudge()
        await asyncio.sleep(0.25)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://identity") as c:
        yield c


@pytest.fixture
def login(client: httpx.AsyncClient) -> Login:
    async def sign_in(username: str, password: str = DEMO_PASSWORD) -> dict[str, str]:
        response = await client.post("/auth/token", json={"username": username, "password": password})
        assert response.status_code == 200, response.text
        return {"authorization": f"Bearer {response.json()['access_token']}"}

    return sign_in


async def events_of(app: FastAPI, event_type: str, school_id: str | None = None) -> list[dict[str, Any]]:
    """The payloads this service wrote to its outbox for one school (the deployment's default,
    the demo school; "*" every school), oldest first: the demo's second school has classes of
    the same names."""
    runtime: ServiceRuntime = app.state.runtime
    school = school_id or runtime.settings.school_id
    async with runtime.db.transaction() as session:
        rows = await session.execute(
            select(outbox.c.body).where(outbox.c.event_type == event_type).order_by(outbox.c.id)
        )
        return [row[0]["payload"] for row in rows if school in ("*", row[0]["school_id"])]


@pytest.fixture
def outbox_events(app: FastAPI) -> Callable[..., Awaitable[list[dict[str, Any]]]]:
    async def read(event_type: str, school_id: str | None = None) -> list[dict[str, Any]]:
        return await events_of(app, event_type, school_id)

    return read


@pytest.fixture
def drain() -> Callable[[FastAPI], Awaitable[int]]:
    return drain_outbox
