"""The envelope around every event: id, time, type, version, school, correlation, payload."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from hbs_shared.logging import current_correlation_id


class EventPayload(BaseModel):
    """Base of every event payload; subclasses fix `event_type` and `event_version`."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    event_type: ClassVar[str]
    event_version: ClassVar[int]
    topic: ClassVar[str]

    def partition_key(self) -> str:
        """All events of one aggregate share a key, so they stay in order on one partition."""
        raise NotImplementedError


class EventEnvelope(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    event_id: uuid.UUID
    occurred_at: AwareDatetime
    type: str = Field(min_length=1, max_length=120)
    version: int = Field(ge=1)
    school_id: str = Field(min_length=1, max_length=64)
    correlation_id: str = Field(min_length=1, max_length=64)
    payload: dict[str, Any]


def make_envelope(payload: EventPayload, school_id: str) -> EventEnvelope:
    return EventEnvelope(
        event_id=uuid.uuid4(),
        occurred_at=datetime.now(UTC),
        type=payload.event_type,
        version=payload.event_version,
        school_id=school_id,
        correlation_id=current_correlation_id(),
        payload=payload.model_dump(mode="json"),
    )


class EventRejected(Exception):
    """A message that can never be processed; it goes to the dead-letter topic with this reason."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class EventRegistry:
    """Which (type, version) pairs a consumer understands, and their payload models."""

    def __init__(self, *payloads: type[EventPayload]) -> None:
        self._by_key: dict[tuple[str, int], type[EventPayload]] = {}
        for model in payloads:
            self._by_key[(model.event_type, model.event_version)] = model

    def types(self) -> set[str]:
        return {event_type for event_type, _ in self._by_key}

    def model_for(self, event_type: str, version: int) -> type[EventPayload]:
        model = self._by_key.get((event_type, version))
        if model is None:
            if event_type in self.types():
                raise EventRejected(f"unsupported version {version} of event type {event_type!r}")
            raise EventRejected(f"unknown event type {event_type!r}")
        return model


def _describe(error: ValidationError, prefix: str) -> str:
    parts = []
    for item in error.errors():
        where = ".".join(str(p) for p in (prefix, *item["loc"]) if p != "")
        parts.append(f"{where}: {item['msg']}")
    return "; ".join(parts)


def decode_event(raw: bytes, registry: EventRegistry) -> tuple[EventEnvelope, EventPayload]:
    """Parse and validate a message; raise EventRejected naming what is wrong."""
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise EventRejected(f"not valid JSON: {error}") from None
    if not isinstance(data, dict):
        raise EventRejected("envelope must be a JSON object")
    try:
        envelope = EventEnvelope.model_validate(data)
    except ValidationError as error:
        raise EventRejected(_describe(error, "")) from None
    model = registry.model_for(envelope.type, envelope.version)
    try:
        payload = model.model_validate(envelope.payload)
    except ValidationError as error:
        raise EventRejected(_describe(error, "payload")) from None
    return envelope, payload
