"""Log lines are JSON with the correlation id, and request URLs (which may carry ids) stay out."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import httpx
import pytest
import structlog

from hbs_shared.logging import configure_logging, correlation_id, get_logger


@pytest.fixture(autouse=True)
def restored_logging() -> Iterator[None]:
    """configure_logging binds loggers to this test's captured stderr, which closes after it:
    later tests (and the services they run in-process) must get the previous set-up back."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    names = ("aiokafka", "uvicorn.access", "fontTools", "alembic.runtime.plugins", "httpx", "httpcore")
    levels = {name: logging.getLogger(name).level for name in names}
    structlog_config = structlog.get_config()
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, value in levels.items():
        logging.getLogger(name).setLevel(value)
    structlog.configure(**structlog_config)
    structlog.contextvars.clear_contextvars()


def _lines(err: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in err.splitlines() if line.startswith("{")]


def test_a_log_line_is_json_with_service_and_correlation_id(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("grades")
    token = correlation_id.set("abc123")
    try:
        get_logger("test").info("sheet saved", rows=45)
        logging.getLogger("stdlib").warning("from the standard library")
    finally:
        correlation_id.reset(token)
    lines = _lines(capsys.readouterr().err)
    assert {
        "message": "sheet saved",
        "rows": 45,
        "service": "grades",
        "correlation_id": "abc123",
    }.items() <= (lines[0].items())
    assert lines[1]["message"] == "from the standard library"
    assert lines[1]["level"] == "warning"


def test_http_client_requests_are_not_logged_with_their_url(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("portal")
    transport = httpx.MockTransport(lambda request: httpx.Response(200))
    with httpx.Client(transport=transport) as client:
        client.get("http://identity.local/students/0123456789/parents")
    err = capsys.readouterr().err
    assert "0123456789" not in err
    get_logger("test").info("still logging")
    assert "still logging" in capsys.readouterr().err
