"""A restart of the in-memory broker (it forgets topics, records, committed offsets): services
recover by themselves. Two real service runtimes (`ServiceRuntime`, as every service is wired)
on their own databases and the real embedded broker, restarted on the same port."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from sqlalchemy import Column, MetaData, Table, Uuid, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from hbs_devtools.broker import LocalBroker
from hbs_devtools.samples import signing_completed as completed
from hbs_shared.events.contracts import SigningCompleted
from hbs_shared.events.envelope import EventEnvelope, EventRegistry
from hbs_shared.messaging.consumer import EventConsumer
from hbs_shared.messaging.tables import metadata as messaging_metadata
from hbs_shared.service import ServiceRuntime
from hbs_shared.settings import ServiceSettings

pytestmark = [pytest.mark.db, pytest.mark.broker]

effects_metadata = MetaData()
effects = Table(
    "effects",
    effects_metadata,
    Column("event_id", Uuid, primary_key=True),
    Column("subject_id", Uuid, nullable=False),
)


async def slow_effect(session: AsyncSession, envelope: EventEnvelope, event: Any) -> None:
    await asyncio.sleep(0.05)  # a consumer with work to do: a backlog is still there at the restart
    await session.execute(insert(effects).values(event_id=envelope.event_id, subject_id=event.subject_id))


async def runtime(name: str, url: str, local: LocalBroker, consumes: bool) -> ServiceRuntime:
    settings = ServiceSettings(
        database_url=url,
        kafka_bootstrap=local.bootstrap,
        kafka_session_timeout_ms=2000,  # as the embedded stack: Tansu holds a join for half of it
        outbox_poll_seconds=0.1,
    )
    service = ServiceRuntime(name, settings, migrations=None)
    async with service.db.engine.begin() as connection:
        await connection.run_sync(messaging_metadata.create_all)
        await connection.run_sync(effects_metadata.create_all)
    if consumes:
        service.add_consumer(
            EventConsumer(
                f"{name}-replies",
                SigningCompleted.topic,
                service.db,
                EventRegistry(SigningCompleted),
                {SigningCompleted: slow_effect},
                # Small batches: the backlog is still being applied, batch after batch, at a restart.
                batch_size=4,
            )
        )
    return service


class Pair:
    """`sender` writes events to its outbox; `receiver` consumes them into its `effects`."""

    def __init__(self, sender: ServiceRuntime, receiver: ServiceRuntime, local: LocalBroker) -> None:
        self.sender = sender
        self.receiver = receiver
        self.local = local

    async def publish(self, subject_ids: list[uuid.UUID]) -> list[uuid.UUID]:
        async with self.sender.db.transaction() as session:
            envelopes = await self.sender.outbox.add_many(
                session, [(completed(s), "thpt-a") for s in subject_ids]
            )
        self.sender.relay.nudge()
        return [envelope.event_id for envelope in envelopes]

    async def applied(self) -> set[uuid.UUID]:
        async with self.receiver.db.transaction() as session:
            return {row[0] for row in await session.execute(select(effects.c.event_id))}

    async def effect_rows(self) -> int:
        async with self.receiver.db.transaction() as session:
            return int((await session.execute(select(func.count()).select_from(effects))).scalar_one())

    async def pending(self) -> int:
        async with self.sender.db.transaction() as session:
            return await self.sender.outbox.count_pending(session)


async def eventually(check: Callable[[], Any], seconds: float, what: str) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{what} within {seconds} s")
        await asyncio.sleep(0.05)


@pytest.fixture
async def pair(databases: Any, tmp_path: Path) -> AsyncIterator[Pair]:
    local = LocalBroker(log_path=tmp_path / "broker.log")
    local.start()
    sender = await runtime("sender", databases.new("sender"), local, consumes=False)
    receiver = await runtime("receiver", databases.new("receiver"), local, consumes=True)
    await sender.start()
    try:
        yield Pair(sender, receiver, local)
    finally:
        await receiver.stop()
        await sender.stop()
        await receiver.db.dispose()
        await sender.db.dispose()
        local.stop()


async def test_a_backlog_being_consumed_when_the_broker_restarts_is_all_applied_after_it(
    pair: Pair, caplog: pytest.LogCaptureFixture
) -> None:
    await pair.receiver.start()
    subjects = [uuid.uuid4() for _ in range(4)]
    backlog = await pair.publish([subjects[i % 4] for i in range(24)])
    await eventually(lambda: _at_least(pair.applied(), 4), 30, "the consumer did not start on the backlog")
    await eventually(lambda: _equals(pair.pending(), 0), 10, "the backlog was not acknowledged")

    with caplog.at_level(logging.INFO):
        pair.local.restart()  # same port, empty memory, a new cluster id
        assert len(await pair.applied()) < len(backlog), "the consumer had finished: nothing to prove"
        after = await pair.publish(subjects)
        await eventually(
            lambda: _contains(pair.applied(), {*backlog, *after}), 20, "events lost in the restart"
        )
    assert await pair.effect_rows() == len(backlog) + len(after)  # each applied once (inbox)
    noise = [r for r in caplog.records if r.name.startswith("aiokafka") and r.levelno >= logging.WARNING]
    assert len(noise) < 30, f"{len(noise)} aiokafka warnings, e.g. {noise[0].getMessage()[:200]}"


async def test_an_event_acknowledged_but_not_consumed_before_the_restart_arrives_after_it(
    pair: Pair,
) -> None:
    """The receiver is down (or far behind) while the event is sent; the broker restarts before it
    reads it: the sender must send it again to the new broker."""
    waiting = await pair.publish([uuid.uuid4()])
    await eventually(lambda: _equals(pair.pending(), 0), 10, "the event was not acknowledged")

    pair.local.restart()
    await pair.receiver.start()
    await eventually(lambda: _contains(pair.applied(), set(waiting)), 15, "the event was lost")


async def test_two_broker_restarts_in_quick_succession_lose_no_event(pair: Pair) -> None:
    """The second restart comes while the consumers are still rejoining after the first (the
    fault run's seed 12: restarts 2 s apart). Every event sent after both must be applied: no
    consumer of the first rejoin may stay in the group holding partitions it does not read."""
    await pair.receiver.start()
    subjects = [uuid.uuid4() for _ in range(16)]  # many keys: every partition gets some
    before = await pair.publish(subjects)
    await eventually(lambda: _contains(pair.applied(), set(before)), 30, "the first events were not applied")

    pair.local.restart()
    await asyncio.sleep(1.0)  # the receiver has seen the change and is rejoining
    pair.local.restart()
    after = await pair.publish(subjects)
    await eventually(lambda: _contains(pair.applied(), set(after)), 30, "events lost after two restarts")
    later = await pair.publish([uuid.uuid4() for _ in range(16)])
    await eventually(lambda: _contains(pair.applied(), set(later)), 20, "events lost once settled")
    assert await pair.effect_rows() == len(before) + len(after) + len(later)  # each applied once


async def test_a_topic_with_fewer_partitions_on_the_new_broker_loses_no_event(pair: Pair) -> None:
    """The producer routes a record by its cached partition count. In the fault run (seed 12) its
    cache said 4 (Tansu creates 4 partitions when a client asks for an unknown topic) while the
    broker, restarted again, had the topic with 1 (another service's explicit create came first):
    Tansu acknowledged the records sent to partitions 1-3 and kept nothing (4 of 5 lost)."""
    subjects = [uuid.uuid4() for _ in range(16)]  # many keys: every partition gets some
    before = await pair.publish(subjects)
    await eventually(lambda: _equals(pair.pending(), 0), 10, "the first events were not acknowledged")

    await pair.sender.relay.stop()  # the sender idle while the broker restarts, as between sends
    pair.local.restart()
    client = pair.sender.broker.config.producer._producer.producer.client
    await create_topic(pair.local, SigningCompleted.topic, 4)
    await client.force_metadata_update()
    assert len(client.cluster.partitions_for_topic(SigningCompleted.topic)) == 4
    await create_topic(pair.local, SigningCompleted.topic, 1, replace=True)  # the other create
    await pair.receiver.start()
    pair.sender.relay.start()
    after = await pair.publish(subjects)
    await eventually(
        lambda: _contains(pair.applied(), {*before, *after}), 30, "events sent to partitions the broker lacks"
    )
    assert len(client.cluster.partitions_for_topic(SigningCompleted.topic)) == 1


async def create_topic(local: LocalBroker, topic: str, partitions: int, *, replace: bool = False) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=local.bootstrap)
    await admin.start()
    try:
        if replace:
            await admin.delete_topics([topic])
        await admin.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=1)])
    finally:
        await admin.close()


async def _equals(value: Any, expected: int) -> bool:
    return bool(await value == expected)


async def _at_least(value: Any, expected: int) -> bool:
    return len(await value) >= expected


async def _contains(value: Any, expected: set[uuid.UUID]) -> bool:
    return expected <= await value


def test_repeated_broker_client_errors_are_logged_once_per_interval_with_a_count() -> None:
    from hbs_shared.messaging.quiet import RepeatFilter

    repeats = RepeatFilter(interval=0.2)

    def record(level: int, msg: str) -> logging.LogRecord:
        return logging.LogRecord("aiokafka", level, __file__, 1, msg, ("127.0.0.1",), None)

    first = record(logging.ERROR, "Unable connect to node %s")
    assert repeats.filter(first)
    assert [repeats.filter(record(logging.ERROR, "Unable connect to node %s")) for _ in range(50)] == [
        False
    ] * 50
    assert repeats.filter(record(logging.ERROR, "Unable to update metadata from %s"))  # another kind
    assert repeats.filter(record(logging.INFO, "Unable connect to node %s"))  # info always passes
    time.sleep(0.25)
    later = record(logging.ERROR, "Unable connect to node %s")
    assert repeats.filter(later)
    assert "[50 more like this" in later.getMessage()


async def test_a_consumer_whose_stop_is_interrupted_at_the_rejoin_still_reads_the_new_broker(
    pair: Pair, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fault run's seed 14: just after a broker restart FastStream's `stop` raised a
    CancelledError that was not the rejoin's (it had stopped the consume loop, not the client);
    the rejoin counted it as done, started no new client, and nothing was read again."""
    await pair.receiver.start()
    subjects = [uuid.uuid4() for _ in range(4)]
    before = await pair.publish(subjects)
    await eventually(lambda: _contains(pair.applied(), set(before)), 30, "the first events were not applied")

    subscriber = pair.receiver.consumers[0]._subscriber
    real_stop = type(subscriber).stop
    interrupted: list[object] = []

    async def stop(self: Any) -> None:
        if self is subscriber and not interrupted:
            interrupted.append(self)
            self.running = False  # the consume loop ends; the Kafka client is left as it was
            raise asyncio.CancelledError
        await real_stop(self)

    monkeypatch.setattr(type(subscriber), "stop", stop)
    pair.local.restart()
    after = await pair.publish(subjects)
    await eventually(lambda: _contains(pair.applied(), set(after)), 30, "nothing read after the rejoin")
    assert interrupted == [subscriber]
    assert await pair.effect_rows() == len(before) + len(after)
