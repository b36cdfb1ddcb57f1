"""Structured JSON logs with a correlation id carried from request to event to handler."""

from __future__ import annotations

import logging
import sys
import uuid
from contextvars import ContextVar

import structlog

correlation_id: ContextVar[str | None] = ContextVar("correlation_id", default=None)


def new_correlation_id() -> str:
    return uuid.uuid4().hex


def current_correlation_id() -> str:
    """The id of the request or event being handled, or a fresh one outside any."""
    value = correlation_id.get()
    if value is None:
        value = new_correlation_id()
        correlation_id.set(value)
    return value


def _add_correlation_id(
    _logger: object, _method: str, event_dict: structlog.typing.EventDict
) -> structlog.typing.EventDict:
    value = correlation_id.get()
    if value is not None:
        event_dict.setdefault("correlation_id", value)
    return event_dict


def configure_logging(service: str, level: str = "INFO") -> None:
    """JSON lines on stderr; the standard library's loggers go through the same renderer."""
    shared: list[structlog.typing.Processor] = [
        structlog.contextvars.merge_contextvars,
        _add_correlation_id,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[
            *shared,
            structlog.processors.dict_tracebacks,
            structlog.processors.EventRenamer("message"),
            structlog.processors.JSONRenderer(ensure_ascii=False),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        cache_logger_on_first_use=False,
    )
    structlog.contextvars.bind_contextvars(service=service)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[*shared, structlog.stdlib.add_logger_name],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.EventRenamer("message"),
                structlog.processors.JSONRenderer(ensure_ascii=False),
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # httpx/httpcore log every request URL at INFO: URLs may carry ids, so only warnings pass.
    for noisy in ("aiokafka", "uvicorn.access", "fontTools", "alembic.runtime.plugins", "httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    logger: structlog.stdlib.BoundLogger = structlog.get_logger(name)
    return logger


def error_kind(error: BaseException) -> str:
    """An error as a log may carry it: its class, and for a validation error the failing fields
    and rule codes. Never the message: pydantic's quotes the input, SQLAlchemy's the parameters,
    either of which may hold a student's name."""
    errors = getattr(error, "errors", None)
    if callable(errors):
        try:
            fields = [
                f"{'.'.join(str(part) for part in item.get('loc', ()))}:{item.get('type', '?')}"
                for item in errors()[:10]
            ]
        except Exception:  # an `errors` attribute of another shape: the class says enough
            fields = []
        if fields:
            return f"{type(error).__name__} ({', '.join(fields)})"
    return type(error).__name__
