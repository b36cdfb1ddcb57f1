"""Transactional outbox: the event is written with the state change; a relay publishes it."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable, Collection, Coroutine, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from faststream.kafka import Topic
from sqlalchemy import CursorResult, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hbs_shared.db import Database
from hbs_shared.events.envelope import EventEnvelope, EventPayload, make_envelope
from hbs_shared.logging import get_logger
from hbs_shared.messaging.partitions import message_key, partition_part
from hbs_shared.messaging.tables import outbox

log = get_logger(__name__)


@dataclass(frozen=True)
class OutgoingMessage:
    row_id: int
    topic: str
    key: str
    correlation_id: str
    event_type: str
    body: bytes


class NotAttempted(Exception):
    """A message of a batch left unsent because an earlier one could not be handed to the client."""


Outcome = BaseException | None
"""What became of one message: None once the broker acknowledged it, else the error."""


class OutboxPublisher(Protocol):
    async def cluster_id(self) -> str:
        """The id of the cluster the client is connected to now; raises if it is unreachable."""
        ...

    async def ensure_topics(self, topics: Collection[str]) -> None:
        """Create these topics if the broker lacks them (as the consumers do when they start)."""
        ...

    async def send_all(self, messages: Sequence[OutgoingMessage]) -> list[Outcome]:
        """Send in order without waiting between them; one outcome per message, in order."""
        ...


BrokerChanged = Callable[[str | None, str], Coroutine[Any, Any, None]]
"""Called with (previous cluster id, new one) when the relay finds the broker lost its data."""


class OutboxRepository:
    """All SQL on the outbox table."""

    async def add(self, session: AsyncSession, payload: EventPayload, school_id: str) -> EventEnvelope:
        return (await self.add_many(session, [(payload, school_id)]))[0]

    async def add_many(
        self, session: AsyncSession, events: list[tuple[EventPayload, str]]
    ) -> list[EventEnvelope]:
        """Several events, in order, in one INSERT (a 1,500-student import makes 1,500 events)."""
        envelopes = [make_envelope(payload, school_id) for payload, school_id in events]
        if envelopes:
            await session.execute(
                insert(outbox),
                [
                    {
                        "event_id": envelope.event_id,
                        "topic": payload.topic,
                        # School, then aggregate: the school places it (messaging.partitions).
                        "partition_key": message_key(school_id, payload.partition_key()),
                        "event_type": envelope.type,
                        "correlation_id": envelope.correlation_id,
                        "body": envelope.model_dump(mode="json"),
                    }
                    for (payload, school_id), envelope in zip(events, envelopes, strict=True)
                ],
            )
        return envelopes

    async def claim_pending(self, session: AsyncSession, limit: int) -> list[OutgoingMessage]:
        # SKIP LOCKED lets several replicas relay at once on PostgreSQL; SQLite has one writer.
        rows = (
            await session.execute(
                select(outbox)
                .where(outbox.c.sent_at.is_(None))
                .order_by(outbox.c.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        ).mappings()
        return [
            OutgoingMessage(
                row_id=row["id"],
                topic=row["topic"],
                key=row["partition_key"],
                correlation_id=row["correlation_id"],
                event_type=row["event_type"],
                body=json.dumps(row["body"], ensure_ascii=False).encode(),
            )
            for row in rows
        ]

    async def mark_sent(
        self, session: AsyncSession, row_ids: list[int], broker_id: str | None = None
    ) -> None:
        if row_ids:
            await session.execute(
                update(outbox)
                .where(outbox.c.id.in_(row_ids))
                .values(sent_at=datetime.now(UTC), sent_to=broker_id)
            )

    async def record_failure(self, session: AsyncSession, row_ids: list[int], error: str) -> None:
        if row_ids:
            await session.execute(
                update(outbox)
                .where(outbox.c.id.in_(row_ids))
                .values(attempts=outbox.c.attempts + 1, last_error=error[:2000])
            )

    async def resend_lost(self, session: AsyncSession, broker_id: str, since: datetime) -> int:
        """Rows sent since `since` to a broker other than `broker_id` are pending again.

        Rows without a broker id (sent before the column existed) are left alone."""
        result = await session.execute(
            update(outbox)
            .where(
                outbox.c.sent_at.is_not(None),
                outbox.c.sent_at >= since,
                outbox.c.sent_to.is_not(None),
                outbox.c.sent_to != broker_id,
            )
            .values(sent_at=None, sent_to=None)
        )
        return int(result.rowcount) if isinstance(result, CursorResult) else 0

    async def count_pending(self, session: AsyncSession) -> int:
        rows = await session.execute(select(outbox.c.id).where(outbox.c.sent_at.is_(None)))
        return len(rows.all())


def acknowledged_in_key_order(
    messages: Sequence[OutgoingMessage], outcomes: Sequence[Outcome]
) -> tuple[list[int], list[int], BaseException | None]:
    """(rows to mark sent, rows left pending, the first error). Per topic and school (what chooses
    the partition), only the acknowledged prefix counts as sent: after a failure, that school's
    later rows are sent again after it (the inbox drops a copy the broker had anyway), so the
    last copies on a school's partition stay in the order of the outbox."""
    done: list[int] = []
    failed: list[int] = []
    first_error: BaseException | None = None
    blocked: set[tuple[str, str]] = set()
    for message, outcome in zip(messages, outcomes, strict=True):
        key = (message.topic, partition_part(message.key))
        if outcome is None and key not in blocked:
            done.append(message.row_id)
            continue
        blocked.add(key)
        failed.append(message.row_id)
        if first_error is None and outcome is not None:
            first_error = outcome
    return done, failed, first_error


class OutboxRelay:
    """Publishes outbox rows and marks them sent; retries with back-off while the broker is away,
    so nothing committed is ever lost (at-least-once; inboxes drop repeats).

    Each cycle asks the broker's cluster id (one metadata request), claims up to `batch_size`
    rows, creates their topics if this broker has not had them yet, hands them all to the client
    and then awaits their acknowledgements together (`window` bounds how many are in flight; 1 is
    the old one-by-one relay). Each sent row records the cluster id; when the relay sees another
    id (an in-memory broker restarted empty) it makes the rows sent to the old one within
    `resend_window` pending again and tells `on_broker_change` listeners (the consumers rejoin).

    The topics first: the embedded broker (Tansu 0.6) acknowledges records sent to a topic it
    does not have and then serves none of them, even once the topic is created."""

    def __init__(
        self,
        db: Database,
        publisher: OutboxPublisher,
        *,
        poll_seconds: float = 0.5,
        batch_size: int = 500,
        window: int | None = None,
        max_backoff_seconds: float = 5.0,
        resend_window: timedelta = timedelta(days=7),
    ) -> None:
        self._db = db
        self._publisher = publisher
        self._poll = poll_seconds
        self._batch = batch_size
        self._window = max(1, window or batch_size)
        self._max_backoff = max_backoff_seconds
        self._resend_window = resend_window
        self._topics_ready: set[str] = set()  # created (or found) on the current broker
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._listeners: list[BrokerChanged] = []
        self._notifying: set[asyncio.Task[None]] = set()
        self.broker_id: str | None = None
        """The cluster id of the broker the last rows were sent to (None before the first check)."""
        self.repository = OutboxRepository()

    def nudge(self) -> None:
        """Ask for a publish now rather than at the next poll (after a commit)."""
        self._wake.set()

    def on_broker_change(self, listener: BrokerChanged) -> None:
        self._listeners.append(listener)

    async def check_broker(self) -> int:
        """Ask the broker's cluster id; if it is not the one rows were sent to, make those rows
        pending again. Returns how many rows are to be resent."""
        current = await self._publisher.cluster_id()
        if current == self.broker_id:
            return 0
        previous, self.broker_id = self.broker_id, current
        self._topics_ready.clear()
        async with self._db.transaction() as session:
            resent = await self.repository.resend_lost(
                session, current, datetime.now(UTC) - self._resend_window
            )
        if previous is not None or resent:
            log.warning("broker lost its data; resending", previous=previous, current=current, resent=resent)
        if previous is not None:
            for listener in self._listeners:
                task = asyncio.create_task(listener(previous, current), name="broker-changed")
                self._notifying.add(task)
                task.add_done_callback(self._notifying.discard)
        return resent

    async def relay_once(self) -> int:
        """Publish what is pending; returns how many were sent. Raises if the broker fails."""
        # Every cycle, just before sending: a send to a broker that restarted unseen is stamped
        # with the old id, so it is resent once the change is seen.
        await self.check_broker()
        # Broker round trips happen inside: on SQLite they must not hold the write lock.
        async with self._db.transaction(sqlite_lock=False) as session:
            messages = await self.repository.claim_pending(session, self._batch)
            if not messages:
                return 0
            topics = {message.topic for message in messages} - self._topics_ready
            if topics:
                await self._publisher.ensure_topics(topics)
                self._topics_ready |= topics
            outcomes = await self._send(messages)
            done, failed, error = acknowledged_in_key_order(messages, outcomes)
            await self.repository.mark_sent(session, done, self.broker_id)
            if error is not None:
                await self.repository.record_failure(session, failed, f"{type(error).__name__}: {error}")
        if error is not None:
            raise error
        return len(done)

    async def _send(self, messages: list[OutgoingMessage]) -> list[Outcome]:
        outcomes: list[Outcome] = []
        for start in range(0, len(messages), self._window):
            chunk = messages[start : start + self._window]
            chunk_outcomes = await self._publisher.send_all(chunk)
            outcomes.extend(chunk_outcomes)
            if any(outcome is not None for outcome in chunk_outcomes):
                outcomes.extend(NotAttempted() for _ in messages[start + len(chunk) :])
                break
        return outcomes

    async def _run(self) -> None:
        backoff = self._poll
        while True:
            try:
                sent = await self.relay_once()
                backoff = self._poll
                if sent == self._batch:
                    continue
            except asyncio.CancelledError:
                raise
            except Exception as error:  # broker away or database busy: wait and try again
                log.warning(
                    "outbox relay failed; will retry",
                    error=f"{type(error).__name__}: {error}",
                    retry_in=backoff,
                )
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self._max_backoff)
                continue
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self._poll)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="outbox-relay")

    async def stop(self) -> None:
        tasks = [task for task in (self._task, *self._notifying) if task is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._task = None
        self._notifying.clear()


class PartitionsChanged(RuntimeError):
    """The producer's view of a topic's partitions is not the broker's: sending now loses records."""


class KafkaOutboxPublisher:
    """Sends through a FastStream KafkaBroker: every message of a batch is handed to the client
    (which packs them into as few requests as it can, in order per partition), then all the
    acknowledgements are awaited together, the whole batch bounded by one timeout.

    A send that lands after the timeout anyway is only a duplicate, which the inboxes drop."""

    def __init__(self, broker: Any, timeout_seconds: float = 10.0) -> None:
        self._broker = broker
        self._timeout = timeout_seconds

    async def cluster_id(self) -> str:
        described = await asyncio.wait_for(self._broker.config.admin_client.describe_cluster(), self._timeout)
        return str(described["cluster_id"])

    async def ensure_topics(self, topics: Collection[str]) -> None:
        # FastStream's own admin call, as its subscribers make at start (one partition each).
        results = await asyncio.wait_for(
            self._broker.config.admin.create_topics([Topic(name) for name in sorted(topics)]), self._timeout
        )
        for result in results:
            if result.error is not None:  # e.g. not allowed to create topics: they may exist anyway
                log.warning("topic not created", topic=result.topic, error=str(result.error))
        await self._refresh_partitions(topics)

    async def _refresh_partitions(self, topics: Collection[str]) -> None:
        """The producer picks a record's partition from its cached partition count. A broker that
        lost its data may have the topic again with fewer partitions (Tansu creates 4 when a
        client asks for an unknown topic, 1 when told to), and it acknowledges records sent to a
        partition it lacks and keeps nothing: refresh the cache and refuse to send while it
        disagrees with the broker (the relay retries)."""
        client = self._producer_client()
        described = await asyncio.wait_for(
            self._broker.config.admin_client.describe_topics(sorted(topics)), self._timeout
        )
        actual = {d["topic"]: len(d["partitions"]) for d in described if d["error_code"] == 0}
        await asyncio.wait_for(client.force_metadata_update(), self._timeout)
        for topic, count in sorted(actual.items()):
            cached = client.cluster.partitions_for_topic(topic)
            if cached is not None and len(cached) != count:
                raise PartitionsChanged(
                    f"{topic}: the broker has {count} partitions, the producer sees {len(cached)}"
                )

    def _producer_client(self) -> Any:
        # FastStream 0.7 keeps the aiokafka producer here; its client holds the metadata cache.
        producer = self._broker.config.producer._producer.producer
        return producer.client

    async def send_all(self, messages: Sequence[OutgoingMessage]) -> list[Outcome]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._timeout
        outcomes: list[Outcome] = [NotAttempted() for _ in messages]
        handed: list[tuple[int, asyncio.Future[Any]]] = []
        for index, message in enumerate(messages):
            try:
                future = await asyncio.wait_for(self._hand_over(message), max(deadline - loop.time(), 0.001))
            except Exception as error:  # the client could not take it (broker away): stop here
                outcomes[index] = error
                break
            handed.append((index, future))
        if handed:
            await asyncio.wait([future for _, future in handed], timeout=max(deadline - loop.time(), 0.001))
        for index, future in handed:
            if not future.done():
                outcomes[index] = TimeoutError(f"no acknowledgement within {self._timeout} s")
                future.add_done_callback(_retrieve)  # a late failure is expected, not "never retrieved"
            elif future.cancelled():
                outcomes[index] = asyncio.CancelledError()
            else:
                outcomes[index] = future.exception()
        return outcomes

    async def _hand_over(self, message: OutgoingMessage) -> asyncio.Future[Any]:
        future: asyncio.Future[Any] = await self._broker.publish(
            message.body,
            topic=message.topic,
            key=message.key.encode(),
            headers={
                "content-type": "application/json",
                "event-type": message.event_type,
                "correlation-id": message.correlation_id,
            },
            correlation_id=message.correlation_id,
            no_confirm=True,  # the future of the broker's acknowledgement, awaited with the batch
        )
        return future


def _retrieve(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()


def kafka_publisher(broker: Any, timeout_seconds: float = 10.0) -> KafkaOutboxPublisher:
    return KafkaOutboxPublisher(broker, timeout_seconds)
