"""Keys by school then aggregate, partitions by school (issue 14), through a service's own broker,
outbox and relay to the real broker: a school's events of a topic land on one partition in the
order they were committed, and two schools can land on different partitions."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from pydantic_settings import SettingsConfigDict

from hbs_devtools.broker import LocalBroker
from hbs_devtools.samples import signing_completed as completed
from hbs_shared.events.contracts import SigningCompleted
from hbs_shared.messaging.partitions import school_partitioner
from hbs_shared.messaging.tables import metadata as messaging_metadata
from hbs_shared.service import ServiceRuntime
from hbs_shared.settings import ServiceSettings

pytestmark = [pytest.mark.db, pytest.mark.broker]

PARTITIONS = 6
TOPIC = SigningCompleted.topic
# The two demo schools: their ids hash to different partitions of 6 (2 and 1).
SCHOOLS = ("thpt-chuyen-thai-binh", "thpt-phu-cu")


class PartitionTestSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="HBS_PARTITIONTEST_", extra="ignore", validate_default=True)


@pytest.fixture
async def runtime(tmp_path: Path) -> AsyncIterator[ServiceRuntime]:
    broker = LocalBroker(log_path=tmp_path / "broker.log")
    broker.start()
    admin = AIOKafkaAdminClient(bootstrap_servers=broker.bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(TOPIC, PARTITIONS, 1)])
    finally:
        await admin.close()
    settings = PartitionTestSettings(
        data_dir=tmp_path, kafka_bootstrap=broker.bootstrap, outbox_poll_seconds=0.1
    )
    service = ServiceRuntime("grades", settings, migrations=None)
    async with service.db.engine.begin() as connection:
        await connection.run_sync(messaging_metadata.create_all)
    await service.start()
    try:
        yield service
    finally:
        await service.stop()
        await service.db.dispose()
        broker.stop()


async def read_all(bootstrap: str, expected: int, timeout: float = 30.0) -> list[Any]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    records: list[Any] = []
    try:
        consumer.assign([TopicPartition(TOPIC, p) for p in range(PARTITIONS)])
        await consumer.seek_to_beginning()
        deadline = asyncio.get_running_loop().time() + timeout
        while len(records) < expected and asyncio.get_running_loop().time() < deadline:
            for batch in (await consumer.getmany(timeout_ms=500)).values():
                records.extend(batch)
    finally:
        await consumer.stop()
    return records


async def test_a_schools_events_land_on_one_partition_in_order_and_the_schools_spread(
    runtime: ServiceRuntime,
) -> None:
    assert {school_partitioner(s.encode(), list(range(PARTITIONS)), None) for s in SCHOOLS} == {1, 2}
    written: dict[str, list[str]] = {school: [] for school in SCHOOLS}
    # Eight aggregates per school, the schools interleaved, in three transactions.
    events: list[tuple[SigningCompleted, str]] = []
    for index in range(16):
        school = SCHOOLS[index % 2]
        payload = completed(uuid.uuid4())
        written[school].append(str(payload.subject_id))
        events.append((payload, school))
    for start, end in ((0, 5), (5, 11), (11, 16)):
        async with runtime.db.transaction() as session:
            await runtime.outbox.add_many(session, events[start:end])
        runtime.relay.nudge()

    records = await read_all(runtime.settings.kafka_bootstrap, expected=16)
    assert len(records) == 16

    placed: dict[str, set[int]] = {school: set() for school in SCHOOLS}
    read: dict[str, list[str]] = {school: [] for school in SCHOOLS}
    for record in sorted(records, key=lambda r: (r.partition, r.offset)):
        envelope = json.loads(record.value)
        school, subject = envelope["school_id"], envelope["payload"]["subject_id"]
        assert record.key == f"{school}:{subject}".encode()
        placed[school].add(record.partition)
        read[school].append(subject)
    assert placed == {"thpt-chuyen-thai-binh": {2}, "thpt-phu-cu": {1}}
    assert read == written  # each school's events in the order they were committed
