"""The client address every limit uses (issue 9, hole 4): X-Forwarded-For is believed only from a
configured proxy, over a real uvicorn server as `serve` runs it."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import uvicorn
from fastapi import FastAPI, Request

from hbs_shared.service import server_config, trust_forwarded_for


def _echo_app(trusted: list[str]) -> FastAPI:
    app = FastAPI()

    @app.get("/whoami")
    async def whoami(request: Request) -> str:
        return request.client.host if request.client else ""

    trust_forwarded_for(app, trusted)
    return app


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def _running(config: uvicorn.Config) -> Iterator[str]:
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    try:
        yield f"http://{config.host}:{config.port}"
    finally:
        server.should_exit = True
        thread.join(10)


def _whoami(base: str, source: str, forwarded_for: str) -> str:
    transport = httpx.HTTPTransport(local_address=source)
    with httpx.Client(transport=transport, base_url=base) as client:
        answer: str = client.get("/whoami", headers={"x-forwarded-for": forwarded_for}).json()
        return answer


def test_uvicorns_default_believed_any_loopback_caller() -> None:
    """The hole as it was: `uvicorn.run` defaults trust X-Forwarded-For from 127.0.0.1."""
    config = uvicorn.Config(_echo_app([]), host="127.0.0.1", port=_free_port(), log_config=None)
    with _running(config) as base:
        assert _whoami(base, "127.0.0.1", "203.0.113.9") == "203.0.113.9"


def test_a_direct_caller_cannot_choose_its_address() -> None:
    config = server_config(_echo_app([]), "127.0.0.1", _free_port())
    with _running(config) as base:
        assert _whoami(base, "127.0.0.1", "203.0.113.9") == "127.0.0.1"


def test_only_a_configured_proxy_is_believed() -> None:
    config = server_config(_echo_app(["127.0.0.2"]), "127.0.0.1", _free_port())
    with _running(config) as base:
        assert _whoami(base, "127.0.0.2", "203.0.113.9") == "203.0.113.9"
        # What a client put before the proxy's own entry is not believed either.
        assert _whoami(base, "127.0.0.2", "198.51.100.1, 203.0.113.9") == "203.0.113.9"
        assert _whoami(base, "127.0.0.1", "203.0.113.9") == "127.0.0.1"
