"""Hole 4, the portal's side: the services see the real client's address (X-Forwarded-For), and
the portal's own calls leave from `source_address`, the one address the services trust for it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest

from hbs_portal.app import create_app
from hbs_portal.clients import Caller, Transport
from hbs_portal.settings import PortalSettings

from .conftest import IDENTITY, SIGNING, Portal

pytestmark = pytest.mark.db


async def test_each_call_names_the_browser_that_caused_it(portal: Portal) -> None:
    """Two people on /verify: each call to signing carries its own person's address."""
    portal.services.on("GET", f"{SIGNING}/verify/[A-Z0-9]+", {"verdict": "unknown"})
    async with portal.browser("198.51.100.1") as first, portal.browser("198.51.100.2") as second:
        await first.get("/verify/ABC123")
        await second.get("/verify/ABC123")
    calls = portal.services.calls("GET", f"{SIGNING}/verify/ABC123")
    assert [c.headers.get("x-forwarded-for") for c in calls] == ["198.51.100.1", "198.51.100.2"]


async def test_sign_in_calls_carry_the_address_too(portal: Portal) -> None:
    """Identity counts failed sign-ins per client: the portal's address would lock everyone."""
    portal.signs_in("gv.toan", ["subject_teacher"])
    async with portal.browser("198.51.100.9") as browser:
        await portal.login(browser)
        await browser.get("/security")
    for call in portal.services.seen:
        assert call.headers.get("x-forwarded-for") == "198.51.100.9", call.url
    assert portal.services.calls("POST", f"{IDENTITY}/auth/token")


@pytest.fixture
def peer_echo() -> Iterator[str]:
    """A tiny HTTP server that answers with the address the connection came from."""

    class Echo(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.end_headers()
            self.wfile.write(self.client_address[0].encode())

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Echo)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


async def test_calls_leave_from_the_source_address(peer_echo: str) -> None:
    transport = Transport(source_address="127.0.0.2")
    try:
        caller = Caller(transport, peer_echo, token=None, client_address=None)
        answer = await caller.request("GET", "/")
    finally:
        await transport.close()
    assert answer.text == "127.0.0.2"


async def test_without_a_source_address_the_system_chooses(peer_echo: str) -> None:
    transport = Transport()
    try:
        answer = await Caller(transport, peer_echo, None, None).request("GET", "/")
    finally:
        await transport.close()
    assert answer.text == "127.0.0.1"


async def test_the_app_binds_its_calls_to_the_source_address_setting(peer_echo: str, databases: Any) -> None:
    settings = PortalSettings(
        environment="test", database_url=databases.new("portal"), source_address="127.0.0.2"
    )
    app = create_app(settings)
    transport: Transport = app.state.transport
    try:
        answer = await Caller(transport, peer_echo, None, None).request("GET", "/")
    finally:
        await transport.close()
        await app.state.runtime.db.dispose()
    assert answer.text == "127.0.0.2"
