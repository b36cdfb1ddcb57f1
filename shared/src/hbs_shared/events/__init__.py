"""Event envelope and the versioned contracts every service speaks."""

from hbs_shared.events.envelope import (
    EventEnvelope,
    EventPayload,
    EventRegistry,
    EventRejected,
    decode_event,
    make_envelope,
)

__all__ = [
    "EventEnvelope",
    "EventPayload",
    "EventRegistry",
    "EventRejected",
    "decode_event",
    "make_envelope",
]
