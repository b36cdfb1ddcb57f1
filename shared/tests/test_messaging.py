"""Outbox, inbox and dead letters against the real broker and a real database."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer
from faststream.kafka import KafkaBroker
from sqlalchemy import Column, MetaData, String, Table, Uuid, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from hbs_devtools.broker import LocalBroker
from hbs_shared.db import Database
from hbs_shared.events.contracts import SigningCompleted, SigningFailed
from hbs_shared.events.envelope import EventEnvelope, EventRegistry, EventRejected, make_envelope
from hbs_shared.messaging.consumer import EventConsumer, Outcome, dead_letter_topic
from hbs_shared.messaging.outbox import OutboxRelay, OutboxRepository, kafka_publisher
from hbs_shared.messaging.tables import metadata as messaging_metadata

pytestmark = [pytest.mark.db, pytest.mark.broker]

effects_metadata = MetaData()
effects = Table(
    "effects",
    effects_metadata,
    Column("id", Uuid, primary_key=True),
    Column("subject_id", Uuid, nullable=False),
    Column("note", String(100), nullable=False),
)


def completed_payload(subject_id: uuid.UUID | None = None) -> SigningCompleted:
    return SigningCompleted(
        request_id=uuid.uuid4(),
        subject_id=subject_id or uuid.uuid4(),
        document_id=uuid.uuid4(),
        sha256="a" * 64,
        signer_user_id=uuid.uuid4(),
        signer_role="subject_teacher",
        certificate_sha256="b" * 64,
        signed_at=datetime.now(UTC),
    )


@pytest.fixture
async def db(databases: Any) -> AsyncIterator[Database]:
    database = Database(databases.new("messaging"))
    async with database.engine.begin() as connection:
        await connection.run_sync(messaging_metadata.create_all)
        await connection.run_sync(effects_metadata.create_all)
    yield database
    await database.dispose()


async def record_effect(session: AsyncSession, envelope: EventEnvelope, event: Any) -> None:
    await session.execute(
        insert(effects).values(id=uuid.uuid4(), subject_id=event.subject_id, note=envelope.type)
    )


async def effect_count(db: Database, subject_id: uuid.UUID) -> int:
    async with db.transaction() as session:
        result = await session.execute(
            select(func.count()).select_from(effects).where(effects.c.subject_id == subject_id)
        )
        return int(result.scalar_one())


JOIN_SESSION_MS = 2000


async def read_topic(bootstrap: str, topic: str, expected: int, timeout: float = 30.0) -> list[Any]:
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        group_id=f"reader-{uuid.uuid4().hex}",
        enable_auto_commit=False,
        # Joining waits about half the session timeout on the embedded broker.
        session_timeout_ms=JOIN_SESSION_MS,
        heartbeat_interval_ms=JOIN_SESSION_MS // 4,
    )
    await consumer.start()
    records: list[Any] = []
    try:
        deadline = asyncio.get_running_loop().time() + timeout
        while len(records) < expected and asyncio.get_running_loop().time() < deadline:
            batch = await consumer.getmany(timeout_ms=500)
            for partition_records in batch.values():
                records.extend(partition_records)
    finally:
        await consumer.stop()
    return records


async def wait_until(predicate: Any, timeout: float = 60.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.2)


async def test_outbox_event_committed_while_broker_is_down_is_delivered_when_it_returns(
    db: Database, tmp_path: Path
) -> None:
    local = LocalBroker(log_path=tmp_path / "broker.log")
    local.start()
    kafka = KafkaBroker(local.bootstrap, request_timeout_ms=3000)
    await kafka.start()
    relay = OutboxRelay(
        db, kafka_publisher(kafka, timeout_seconds=2), poll_seconds=0.1, max_backoff_seconds=0.5
    )
    relay.start()
    outbox = OutboxRepository()
    payload = completed_payload()
    try:
        local.stop()
        async with db.transaction() as session:
            await session.execute(
                insert(effects).values(id=uuid.uuid4(), subject_id=payload.subject_id, note="state")
            )
            envelope = await outbox.add(session, payload, "thpt-a")
        relay.nudge()
        await asyncio.sleep(3)
        async with db.transaction() as session:
            assert await outbox.count_pending(session) == 1, "published while the broker was down?"

        local.start()  # same port, empty memory: only what is sent from now on exists

        async def drained() -> bool:
            async with db.transaction() as session:
                return await outbox.count_pending(session) == 0

        await wait_until(drained, timeout=90)
        records = await read_topic(local.bootstrap, payload.topic, expected=1)
        event_ids = {json.loads(r.value)["event_id"] for r in records}
        assert str(envelope.event_id) in event_ids
        assert records[0].key == f"thpt-a:{payload.subject_id}".encode()  # school, then aggregate
    finally:
        await relay.stop()
        await kafka.stop()
        local.stop()


async def test_inbox_applies_the_same_event_once(db: Database, kafka: LocalBroker) -> None:
    consumer = EventConsumer(
        "test.inbox",
        "test.inbox.events",
        db,
        EventRegistry(SigningCompleted),
        {SigningCompleted: record_effect},
    )
    raw = json.dumps(make_envelope(completed_payload(), "thpt-a").model_dump(mode="json")).encode()
    subject = uuid.UUID(json.loads(raw)["payload"]["subject_id"])
    assert await consumer.process(raw) is Outcome.applied
    assert await consumer.process(raw) is Outcome.duplicate
    assert await effect_count(db, subject) == 1


async def test_inbox_over_the_real_broker_redelivery_has_one_effect(db: Database, kafka: LocalBroker) -> None:
    topic = f"test.redelivery.{uuid.uuid4().hex[:6]}"
    broker = KafkaBroker(kafka.bootstrap)
    consumer = EventConsumer(
        "test.redelivery",
        topic,
        db,
        EventRegistry(SigningCompleted),
        {SigningCompleted: record_effect},
    )
    consumer.attach(broker, session_timeout_ms=JOIN_SESSION_MS)
    payload = completed_payload()
    raw = json.dumps(make_envelope(payload, "thpt-a").model_dump(mode="json")).encode()
    marker = completed_payload()
    marker_raw = json.dumps(make_envelope(marker, "thpt-a").model_dump(mode="json")).encode()
    await broker.start()
    try:
        for body in (raw, raw, marker_raw):
            await broker.publish(body, topic=topic, key=b"same-partition")

        async def marker_applied() -> bool:
            return await effect_count(db, marker.subject_id) == 1

        await wait_until(marker_applied)
        assert await effect_count(db, payload.subject_id) == 1
    finally:
        await broker.stop()


async def test_malformed_events_go_to_the_dead_letter_topic_and_the_consumer_goes_on(
    db: Database, kafka: LocalBroker
) -> None:
    topic = f"test.dlq.{uuid.uuid4().hex[:6]}"
    broker = KafkaBroker(kafka.bootstrap)
    consumer = EventConsumer(
        "test.dlq",
        topic,
        db,
        EventRegistry(SigningCompleted, SigningFailed),
        {SigningCompleted: record_effect},
    )
    consumer.attach(broker, session_timeout_ms=JOIN_SESSION_MS)
    good = completed_payload()
    good_body = make_envelope(good, "thpt-a").model_dump(mode="json")
    wrong_version = {**good_body, "event_id": str(uuid.uuid4()), "version": 9}
    missing_field = json.loads(json.dumps(good_body))
    missing_field["event_id"] = str(uuid.uuid4())
    del missing_field["payload"]["document_id"]
    await broker.start()
    try:
        await broker.publish(b"{this is not json", topic=topic, key=b"k")
        await broker.publish(json.dumps(wrong_version).encode(), topic=topic, key=b"k")
        await broker.publish(json.dumps(missing_field).encode(), topic=topic, key=b"k")
        await broker.publish(json.dumps(good_body).encode(), topic=topic, key=b"k")

        async def good_applied() -> bool:
            return await effect_count(db, good.subject_id) == 1

        await wait_until(good_applied)
        letters = await read_topic(kafka.bootstrap, dead_letter_topic(topic), expected=3)
        reasons = {r.value: dict(r.headers)["dlq-reason"].decode() for r in letters}
        assert len(letters) == 3
        assert "not valid JSON" in reasons[b"{this is not json"]
        assert "unsupported version 9" in reasons[json.dumps(wrong_version).encode()]
        assert "payload.document_id: Field required" in reasons[json.dumps(missing_field).encode()]
        assert all(dict(r.headers)["dlq-consumer"] == b"test.dlq" for r in letters)
    finally:
        await broker.stop()


async def test_a_batch_is_applied_in_one_transaction_with_each_rejection_rolled_back_alone(
    db: Database, kafka: LocalBroker
) -> None:
    """Events taken together (the consumer's batch): one commit; a duplicate skipped; an event
    its handler rejects after writing is undone alone and dead-lettered; any other error undoes
    the whole batch, and its redelivery applies each event once."""
    topic = f"test.batch.{uuid.uuid4().hex[:6]}"
    poisoned: set[uuid.UUID] = set()
    failing: set[uuid.UUID] = set()

    async def handler(session: AsyncSession, envelope: EventEnvelope, event: Any) -> None:
        await record_effect(session, envelope, event)  # written before the refusal: must be undone
        if event.subject_id in poisoned:
            raise EventRejected("the subject is unknown here")
        if event.subject_id in failing:
            raise RuntimeError("the database went away")

    commits: list[int] = []
    consumer = EventConsumer(
        "test.batch",
        topic,
        db,
        EventRegistry(SigningCompleted),
        {SigningCompleted: handler},
        after_commit=lambda: commits.append(1),
    )
    broker = KafkaBroker(kafka.bootstrap)
    consumer.attach(broker, session_timeout_ms=JOIN_SESSION_MS)
    first, rejected, second = completed_payload(), completed_payload(), completed_payload()
    poisoned.add(rejected.subject_id)

    def raw(payload: SigningCompleted) -> bytes:
        return json.dumps(make_envelope(payload, "thpt-a").model_dump(mode="json")).encode()

    first_raw = raw(first)
    await broker.start()
    try:
        items = [
            (body, {}, b"k") for body in (first_raw, first_raw, raw(rejected), b"{not json", raw(second))
        ]
        outcomes = await consumer.process_batch(items)
        assert outcomes == [
            Outcome.applied,
            Outcome.duplicate,
            Outcome.dead_lettered,
            Outcome.dead_lettered,
            Outcome.applied,
        ]
        assert commits == [1]
        assert [await effect_count(db, p.subject_id) for p in (first, rejected, second)] == [1, 0, 1]
        letters = await read_topic(kafka.bootstrap, dead_letter_topic(topic), expected=2)
        assert sorted(dict(r.headers)["dlq-reason"].decode()[:10] for r in letters) == [
            "not valid ",
            "the subjec",
        ]

        # Any other error: nothing of the batch stays, and the redelivery applies each once.
        third, fourth = completed_payload(), completed_payload()
        failing.add(fourth.subject_id)
        again = [(raw(third), {}, b"k"), (raw(fourth), {}, b"k")]
        with pytest.raises(RuntimeError):
            await consumer.process_batch(again)
        assert await effect_count(db, third.subject_id) == 0
        failing.clear()
        assert await consumer.process_batch([*again, (first_raw, {}, b"k")]) == [
            Outcome.applied,
            Outcome.applied,
            Outcome.duplicate,
        ]
        assert [await effect_count(db, p.subject_id) for p in (third, fourth, first)] == [1, 1, 1]
    finally:
        await broker.stop()
