"""The AsyncAPI document's consumers are the ones the services really start (issue 13 §6): each
consumer group and its topic, hence its dead-letter channel, is in docs/asyncapi.json."""

from __future__ import annotations

from pathlib import Path

from hbs_shared.events.catalog import CONSUMERS

from .test_api_bounds import APPS


def test_every_consumer_a_service_starts_is_in_the_document(tmp_path: Path) -> None:
    started = set()
    for name, make in APPS.items():
        runtime = make(tmp_path / name).state.runtime
        started |= {(consumer.topic, consumer.name) for consumer in runtime.consumers}
    documented = {(topic, group) for topic, groups in CONSUMERS.items() for group in groups}
    assert started, "no consumer found"
    assert started == documented
