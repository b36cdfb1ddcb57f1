"""Transactional outbox: the event is written with the state change; a relay publishes it."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hbs_shared.db import Database
from hbs_shared.events.envelope import EventEnvelope, EventPayload, make_envelope
from hbs_shared.logging import get_logger
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


Publish = Callable[[OutgoingMessage], Awaitable[None]]


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
                        "partition_key": payload.partition_key(),
                        "event_type": envelope.type,
                        "correlation_id": envelope.correlation_id,
                        "body": envelope.model_dump(mode="json"),
                    }
                    for (payload, _), envelope in zip(events, envelopes, strict=True)
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

    async def mark_sent(self, session: AsyncSession, row_ids: list[int]) -> None:
        if row_ids:
            await session.execute(
                update(outbox).where(outbox.c.id.in_(row_ids)).values(sent_at=datetime.now(UTC))
            )

    async def record_failure(self, session: AsyncSession, row_id: int, error: str) -> None:
        await session.execute(
            update(outbox)
            .where(outbox.c.id == row_id)
            .values(attempts=outbox.c.attempts + 1, last_error=error[:2000])
        )

    async def count_pending(self, session: AsyncSession) -> int:
        rows = await session.execute(select(outbox.c.id).where(outbox.c.sent_at.is_(None)))
        return len(rows.all())


class OutboxRelay:
    """Publishes outbox rows in order and marks them sent; retries with back-off while the
    broker is away, so nothing committed is ever lost (at-least-once; inboxes drop repeats)."""

    def __init__(
        self,
        db: Database,
        publish: Publish,
        *,
        poll_seconds: float = 0.5,
        batch_size: int = 100,
        max_backoff_seconds: float = 10.0,
    ) -> None:
        self._db = db
        self._publish = publish
        self._poll = poll_seconds
        self._batch = batch_size
        self._max_backoff = max_backoff_seconds
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.repository = OutboxRepository()

    def nudge(self) -> None:
        """Ask for a publish now rather than at the next poll (after a commit)."""
        self._wake.set()

    async def relay_once(self) -> int:
        """Publish what is pending; returns how many were sent. Raises if the broker fails."""
        sent = 0
        # Broker round trips happen inside: on SQLite they must not hold the write lock.
        async with self._db.transaction(sqlite_lock=False) as session:
            messages = await self.repository.claim_pending(session, self._batch)
            done: list[int] = []
            try:
                for message in messages:
                    await self._publish(message)
                    done.append(message.row_id)
            finally:
                await self.repository.mark_sent(session, done)
                sent = len(done)
        return sent

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
                log.warning("outbox relay failed; will retry", error=str(error), retry_in=backoff)
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
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None


def kafka_publisher(broker: Any, timeout_seconds: float = 10.0) -> Publish:
    """A Publish that sends through a FastStream KafkaBroker and waits for the broker's ack.

    The timeout bounds a send while the broker is away; a send that lands late anyway is only
    a duplicate, which the consumers' inboxes drop.
    """

    async def publish(message: OutgoingMessage) -> None:
        await asyncio.wait_for(_send(message), timeout_seconds)

    async def _send(message: OutgoingMessage) -> None:
        await broker.publish(
            message.body,
            topic=message.topic,
            key=message.key.encode(),
            headers={
                "content-type": "application/json",
                "event-type": message.event_type,
                "correlation-id": message.correlation_id,
            },
            correlation_id=message.correlation_id,
        )

    return publish
