"""The AsyncAPI 3.0 document of every event contract: `python -m hbs_shared.events.catalog`.

Generated from the Pydantic contracts themselves (not from FastStream's subscribers: ours take
raw bytes so malformed input can be dead-lettered), so the document cannot drift from the code.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from hbs_shared.events import contracts, identity
from hbs_shared.events.envelope import EventEnvelope, EventPayload

PRODUCERS: dict[str, str] = {
    "grades": "grades",
    "signing": "signing",
    "identity": "identity",
}

# Who subscribes to each topic today (a topic with no entry has no consumer yet).
CONSUMERS: dict[str, list[str]] = {
    contracts.GRADES_SHEETS_TOPIC: ["signing"],
    contracts.GRADES_RECORDS_TOPIC: ["signing"],
    contracts.SIGNING_DOCUMENTS_TOPIC: ["grades"],
    identity.IDENTITY_STUDENTS_TOPIC: ["grades"],
    identity.IDENTITY_ASSIGNMENTS_TOPIC: ["grades"],
    identity.IDENTITY_STRUCTURE_TOPIC: ["grades", "signing"],
}


def all_contracts() -> list[type[EventPayload]]:
    found: list[type[EventPayload]] = []
    for module in (contracts, identity):
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, EventPayload)
                and value is not EventPayload
                and value.__module__ == module.__name__
            ):
                found.append(value)
    return sorted(found, key=lambda c: (c.topic, c.event_type, c.event_version))


def _message_name(contract: type[EventPayload]) -> str:
    return f"{contract.event_type}.v{contract.event_version}"


def asyncapi() -> dict[str, Any]:
    channels: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    envelope = EventEnvelope.model_json_schema()
    for contract in all_contracts():
        name = _message_name(contract)
        payload_schema = contract.model_json_schema(ref_template="#/components/schemas/{model}")
        definitions = payload_schema.pop("$defs", {})
        schema = json.loads(json.dumps(envelope))
        schema["properties"]["type"] = {"const": contract.event_type}
        schema["properties"]["version"] = {"const": contract.event_version}
        schema["properties"]["payload"] = payload_schema
        messages[name] = {
            "name": name,
            "title": contract.__name__,
            "summary": (contract.__doc__ or "").strip().splitlines()[0],
            "contentType": "application/json",
            "headers": {
                "type": "object",
                "properties": {
                    "event-type": {"const": contract.event_type},
                    "correlation-id": {"type": "string"},
                },
            },
            "payload": schema,
        }
        messages.setdefault("_defs", {}).update(definitions)
        channel = channels.setdefault(
            contract.topic.replace(".", "_"),
            {"address": contract.topic, "messages": {}, "x-dead-letter": f"{contract.topic}.dlq"},
        )
        channel["messages"][name] = {"$ref": f"#/components/messages/{name}"}
    schemas = messages.pop("_defs", {})
    for key, channel in channels.items():
        producer = channel["address"].split(".", 1)[0]
        operations[f"{producer}_sends_{key}"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{key}"},
            "x-service": PRODUCERS[producer],
        }
        for consumer in CONSUMERS.get(channel["address"], []):
            operations[f"{consumer}_receives_{key}"] = {
                "action": "receive",
                "channel": {"$ref": f"#/channels/{key}"},
                "x-service": consumer,
            }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "HBS events",
            "version": "1",
            "description": "Every event is an EventEnvelope; topics are keyed by aggregate id. "
            "Consumers dead-letter what they can never process to <topic>.dlq.",
        },
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": schemas},
    }


def render() -> str:
    return json.dumps(asyncapi(), ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    if args:
        Path(args[0]).write_text(render(), encoding="utf-8")
    else:
        sys.stdout.write(render())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
