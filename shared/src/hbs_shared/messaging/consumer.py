"""Consuming events: validate, dead-letter what can never be processed, apply once via the inbox."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from enum import StrEnum
from typing import Any

from aiokafka import ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import IllegalStateError
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from sqlalchemy.ext.asyncio import AsyncSession

from hbs_shared.db import Database
from hbs_shared.events.envelope import (
    EventEnvelope,
    EventPayload,
    EventRegistry,
    EventRejected,
    decode_event,
)
from hbs_shared.logging import correlation_id, get_logger
from hbs_shared.messaging.inbox import InboxRepository

log = get_logger(__name__)

Handler = Callable[[AsyncSession, EventEnvelope, Any], Awaitable[None]]
AfterCommit = Callable[[], None]
Prepare = Callable[[AsyncSession, Sequence[tuple[EventEnvelope, EventPayload]]], Awaitable[None]]
"""Run once per batch, before its handlers, with the events to apply: what each handler would
look up one by one can be read in one query (kept in `session.info` for the handlers)."""


def dead_letter_topic(topic: str) -> str:
    return f"{topic}.dlq"


class Outcome(StrEnum):
    applied = "applied"
    duplicate = "duplicate"
    ignored = "ignored"
    dead_lettered = "dead_lettered"


BATCH_SIZE = 50
"""Events taken from the broker at once and applied in one transaction, each in its own savepoint:
one commit (one fsync on SQLite) and one offset commit per batch instead of per event. Step 4's
1,473 requests reached signing at ~15/s one by one; whatever is waiting is taken at once, so a
lone event is not delayed. Bounded so a batch holds SQLite's write lock only briefly."""
BATCH_WAIT_MS = 50
"""How long the broker is asked to wait for events when none are buffered (FastStream then pauses
as long again before asking anew): a lone event waits at most this much more."""


class EventConsumer:
    """One named consumer of one topic: decodes, dead-letters, deduplicates, applies."""

    def __init__(
        self,
        name: str,
        topic: str,
        db: Database,
        registry: EventRegistry,
        handlers: Mapping[type[EventPayload], Handler],
        *,
        after_commit: AfterCommit | None = None,
        batch_size: int = BATCH_SIZE,
        prepare: Prepare | None = None,
    ) -> None:
        self.name = name
        self._prepare = prepare
        self.topic = topic
        self.batch_size = batch_size
        """Events applied in one transaction at most (1: one transaction and offset commit each)."""
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self._db = db
        self._registry = registry
        self._handlers = {model.event_type: handler for model, handler in handlers.items()}
        self._after_commit = after_commit
        self.on_dead_letter: Callable[[], None] | None = None
        """Told of each dead letter (the service's metrics count them per consumer and topic)."""
        self._inbox = InboxRepository()
        self._broker: KafkaBroker | None = None
        self._subscriber: Any = None
        # After the broker lost its data, each partition is read from the start on its first
        # assignment to the new client (rebalances may hand them over in several steps).
        self._rewind = False
        self._rewound: set[TopicPartition] = set()
        self._joined = asyncio.Event()
        self.join_timeout = 30.0
        """A rejoin counts once the new client is in its group (given partitions, maybe none)."""

    def attach(self, broker: KafkaBroker, *, session_timeout_ms: int = 10000) -> None:
        """Subscribe on the broker; handler errors other than rejections are retried (nack)."""
        self._broker = broker
        # A join waits up to half the session timeout on the embedded broker; a few tries' worth.
        self.join_timeout = max(10.0, 3 * session_timeout_ms / 1000)
        subscriber = broker.subscriber(
            self.topic,
            batch=True,
            max_records=self.batch_size,
            batch_timeout_ms=BATCH_WAIT_MS,
            group_id=self.name,
            auto_offset_reset="earliest",
            session_timeout_ms=session_timeout_ms,
            heartbeat_interval_ms=max(session_timeout_ms // 4, 250),
            ack_policy=AckPolicy.NACK_ON_ERROR,
            title=f"{self.name}:{self.topic}",
            listener=_RewindOnAssign(self),
        )
        self._subscriber = subscriber

        @subscriber
        async def _on_batch(message: KafkaMessage) -> None:
            # Raw records, not FastStream's decoding: malformed input must reach decode_event.
            records = message.raw_message
            items = records if isinstance(records, tuple) else (records,)
            await self.process_batch([(r.value or b"", _headers(r.headers), r.key) for r in items])

    async def rejoin(self) -> None:
        """After the broker lost its data (a restarted in-memory broker): leave, join the new
        broker's group afresh (FastStream creates the topic again) and read each assigned partition
        from its beginning, whatever offsets the new broker may hold: only what was sent to it
        since is there, and the inbox drops what was already applied."""
        if self._subscriber is None:
            raise RuntimeError("consumer is not attached to a broker")
        subscriber = self._subscriber
        old = getattr(subscriber, "consumer", None)
        try:
            await subscriber.stop()
        except asyncio.CancelledError:
            if _really_cancelled():
                raise
            # Not this task's cancel: seen from FastStream's stop just after a broker restart, with
            # the old client left running (the rejoin then started nothing and a step hung).
            log.warning("consumer stop interrupted; stopping its client directly", consumer=self.name)
            await _stop_client(subscriber)
        # Set once the old client is gone: it may itself rejoin the new broker meanwhile (and
        # commit its old offsets there), and the rewind is for the new client's assignments.
        self._rewind = True
        self._rewound = set()
        self._joined = asyncio.Event()
        await subscriber.start()
        new = getattr(subscriber, "consumer", None)
        if new is None or new is old or not subscriber.running:
            raise RuntimeError(f"consumer {self.name} started no new client")
        try:
            await asyncio.wait_for(self._joined.wait(), self.join_timeout)
        except TimeoutError:
            raise TimeoutError(
                f"consumer {self.name} joined no group within {self.join_timeout:.0f} s"
            ) from None

    async def lag(self) -> int | None:
        """Messages on the broker not yet read by this replica, over its assigned partitions (from
        the client's last fetch: no broker round trip); None when not consuming."""
        consumer = getattr(self._subscriber, "consumer", None)
        if consumer is None:
            return None
        total = 0
        for partition in consumer.assignment():
            highwater = consumer.highwater(partition)
            if highwater is None:
                continue
            try:
                position = await asyncio.wait_for(consumer.position(partition), 0.5)
            except (TimeoutError, IllegalStateError):
                continue
            total += max(highwater - position, 0)
        return total

    async def _on_assigned(self, assigned: set[TopicPartition]) -> None:
        self._joined.set()
        consumer = getattr(self._subscriber, "consumer", None)
        fresh = assigned - self._rewound
        if not self._rewind or not fresh or consumer is None:
            return
        try:
            await consumer.seek_to_beginning(*fresh)
        except IllegalStateError:  # revoked again meanwhile: the next assignment rewinds them
            log.info("rewind deferred: partitions revoked meanwhile", consumer=self.name)
            return
        self._rewound |= fresh

    async def process(
        self, raw: bytes, headers: Mapping[str, Any] | None = None, key: bytes | None = None
    ) -> Outcome:
        try:
            envelope, payload = decode_event(raw, self._registry)
        except EventRejected as rejected:
            await self._dead_letter(raw, rejected.reason, headers or {}, key)
            return Outcome.dead_lettered
        token = correlation_id.set(envelope.correlation_id)
        try:
            handler = self._handlers.get(envelope.type)
            if handler is None:
                return Outcome.ignored
            try:
                async with self._db.transaction() as session:
                    if not await self._inbox.claim(session, self.name, envelope.event_id, envelope.type):
                        log.info("duplicate event skipped", event_id=str(envelope.event_id))
                        return Outcome.duplicate
                    await handler(session, envelope, payload)
            except EventRejected as rejected:
                await self._dead_letter(raw, rejected.reason, headers or {}, key)
                return Outcome.dead_lettered
            if self._after_commit is not None:
                self._after_commit()
            log.info("event applied", event_type=envelope.type, event_id=str(envelope.event_id))
            return Outcome.applied
        finally:
            correlation_id.reset(token)

    async def process_batch(
        self, items: Sequence[tuple[bytes, Mapping[str, Any], bytes | None]]
    ) -> list[Outcome]:
        """Events as the broker gave them (value, headers, key), applied in ONE transaction, each
        in its own savepoint: an event its handler rejects is rolled back alone and dead-lettered
        after the commit; any other error rolls back the whole batch, which is then redelivered
        (the inbox skips what an earlier delivery applied)."""
        outcomes = [Outcome.ignored] * len(items)
        rejected: dict[int, str] = {}
        decoded: list[tuple[int, EventEnvelope, EventPayload, Handler]] = []
        for index, (raw, *_) in enumerate(items):
            try:
                envelope, payload = decode_event(raw, self._registry)
            except EventRejected as rejection:
                rejected[index] = rejection.reason
                continue
            handler = self._handlers.get(envelope.type)
            if handler is not None:
                decoded.append((index, envelope, payload, handler))
        applied: list[EventEnvelope] = []
        if decoded:
            async with self._db.transaction() as session:
                # The inbox asked once for the batch, not once per event; an event twice in the
                # batch is a duplicate the second time.
                seen = await self._inbox.seen(session, self.name, [e.event_id for _, e, _, _ in decoded])
                if self._prepare is not None:
                    await self._prepare(session, [(e, p) for _, e, p, _ in decoded if e.event_id not in seen])
                for index, envelope, payload, handler in decoded:
                    if envelope.event_id in seen:
                        outcomes[index] = Outcome.duplicate
                        continue
                    token = correlation_id.set(envelope.correlation_id)
                    try:
                        async with session.begin_nested():
                            await self._inbox.record(session, self.name, envelope.event_id, envelope.type)
                            await handler(session, envelope, payload)
                    except EventRejected as rejection:
                        rejected[index] = rejection.reason
                        continue
                    finally:
                        correlation_id.reset(token)
                    seen.add(envelope.event_id)
                    outcomes[index] = Outcome.applied
                    applied.append(envelope)
        for index in sorted(rejected):
            raw, headers, key = items[index]
            await self._dead_letter(raw, rejected[index], headers, key)
            outcomes[index] = Outcome.dead_lettered
        if applied and self._after_commit is not None:
            self._after_commit()
        for envelope in applied:
            log.info("event applied", event_type=envelope.type, event_id=str(envelope.event_id))
        duplicates = outcomes.count(Outcome.duplicate)
        if duplicates:
            log.info("duplicate events skipped", consumer=self.name, count=duplicates)
        return outcomes

    async def _dead_letter(
        self, raw: bytes, reason: str, headers: Mapping[str, Any], key: bytes | None
    ) -> None:
        log.warning("event dead-lettered", topic=self.topic, consumer=self.name, reason=reason)
        if self.on_dead_letter is not None:
            self.on_dead_letter()
        if self._broker is None:
            raise RuntimeError("consumer is not attached to a broker")
        await self._broker.publish(
            raw,
            topic=dead_letter_topic(self.topic),
            key=key,  # same key, same partition: dead letters keep their original order
            headers={
                "dlq-reason": reason[:1000],
                "dlq-consumer": self.name,
                "dlq-original-topic": self.topic,
                "correlation-id": str(headers.get("correlation-id", "")),
            },
        )


def _headers(raw: Sequence[tuple[str, bytes]] | None) -> dict[str, str]:
    return {name: value.decode("utf-8", "replace") for name, value in raw or ()}


def _really_cancelled() -> bool:
    """Whether the running task was asked to stop (not a CancelledError raised from within)."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


async def _stop_client(subscriber: Any) -> None:
    """The rest of FastStream's `KafkaSubscriber.stop` when its graceful wait was interrupted:
    the consume loops cancelled and the Kafka client stopped (it leaves its group)."""
    subscriber.running = False
    for task in subscriber.tasks:
        task.cancel()
    subscriber.tasks.clear()
    client, subscriber.consumer = subscriber.consumer, None
    if client is not None:
        try:
            await client.stop()
        except asyncio.CancelledError:
            if _really_cancelled():
                raise
            log.warning("kafka client stop interrupted; abandoned")


class _RewindOnAssign(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, consumer: EventConsumer) -> None:
        self._consumer = consumer

    def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        pass

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        await self._consumer._on_assigned(assigned)
