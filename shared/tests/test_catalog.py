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
