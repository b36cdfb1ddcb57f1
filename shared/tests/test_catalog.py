"""The published AsyncAPI document is generated from the contracts and kept current."""

from __future__ import annotations

from pathlib import Path

from hbs_shared.events.catalog import all_contracts, asyncapi, render

DOCUMENT = Path(__file__).parent.parent.parent / "docs" / "asyncapi.json"


def test_every_contract_is_a_message_on_its_topic() -> None:
    document = asyncapi()
    for contract in all_contracts():
        name = f"{contract.event_type}.v{contract.event_version}"
        channel = document["channels"][contract.topic.replace(".", "_")]
        assert channel["address"] == contract.topic
        assert name in channel["messages"]
        payload = document["components"]["messages"][name]["payload"]
        assert payload["properties"]["version"] == {"const": contract.event_version}
        assert set(payload["required"]) >= {"event_id", "type", "version", "payload"}


def test_docs_asyncapi_json_is_current() -> None:
    assert DOCUMENT.read_text(encoding="utf-8") == render(), "docs/asyncapi.json is stale: run `make docs`"


def test_the_document_names_its_kafka_servers_with_bindings() -> None:
    """Issue 13 §6: a reader learns where the events are and how they are partitioned."""
    document = asyncapi()
    servers = document["servers"]
    assert {s["protocol"] for s in servers.values()} == {"kafka"}
    assert servers["production"]["host"] == "kafka:9092"
    assert all(s["bindings"]["kafka"]["bindingVersion"] for s in servers.values())
    for channel in document["channels"].values():
        binding = channel["bindings"]["kafka"]
        assert binding["topic"] == channel["address"]
        assert binding["partitions"] >= 1
    for name, message in document["components"]["messages"].items():
        assert message["bindings"]["kafka"]["key"]["type"] == "string", name
    receives = [op for op in document["operations"].values() if op["action"] == "receive"]
    assert receives
    assert all(op["bindings"]["kafka"]["groupId"]["enum"] for op in receives)


def test_every_consumed_topic_has_its_dead_letter_channel() -> None:
    document = asyncapi()
    channels = document["channels"]
    consumed = {
        op["channel"]["$ref"].rsplit("/", 1)[1]
        for op in document["operations"].values()
        if op["action"] == "receive"
    }
    assert consumed
    for key in consumed:
        address = channels[key]["address"]
        dlq = channels[f"{key}_dlq"]
        assert dlq["address"] == f"{address}.dlq"
        assert channels[key]["x-dead-letter"] == {"$ref": f"#/channels/{key}_dlq"}
        assert list(dlq["messages"]) == ["dead-letter"]
        senders = [
            op for op in document["operations"].values() if op["channel"]["$ref"] == f"#/channels/{key}_dlq"
        ]
        assert senders
        assert all(op["action"] == "send" for op in senders)
    letter = document["components"]["messages"]["dead-letter"]
    assert set(letter["headers"]["required"]) == {"dlq-reason", "dlq-consumer", "dlq-original-topic"}
