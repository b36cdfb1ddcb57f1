"""`make bench-events`: the outbox relay through the real embedded broker (issue 12).

Two figures, each on a fresh database and broker: the relay's rate on a backlog (2,000 outbox
rows, 200 keys, written in one transaction, then relayed: rows marked sent per second, and
until the consumer applied them all), and an event's latency outside a batch (one row committed,
the relay nudged as a use case does, until the consumer's transaction that applied it committed;
200 events, one every 50 ms). Each runs twice side by side: the relay as it is (a batch handed to
the client, acknowledgements awaited together) and with a window of 1 (one message, its
acknowledgement, the next: the relay before issue 12). HBS_TEST_DATABASE=postgresql measures on
PostgreSQL as well. Last line (the batched relay, on the last database measured):
`events_relay_per_s=<r> events_applied_per_s=<a> event_p50_ms=<ms> event_p99_ms=<ms>
one_by_one_relay_per_s=<r>` (one line).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Column, MetaData, Table, Uuid, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from hbs_devtools.benchdb import postgres_database, postgres_wanted, sqlite_url
from hbs_devtools.broker import LocalBroker
from hbs_devtools.samples import signing_completed as event
from hbs_shared.db import Database
from hbs_shared.events.contracts import SigningCompleted
from hbs_shared.events.envelope import EventEnvelope, EventRegistry
from hbs_shared.messaging.consumer import EventConsumer
from hbs_shared.messaging.outbox import OutboxRelay, OutboxRepository, kafka_publisher
from hbs_shared.messaging.tables import metadata as messaging_metadata
from hbs_shared.service import ConcurrentKafkaBroker

effects_metadata = MetaData()
effects = Table("bench_effects", effects_metadata, Column("id", Uuid, primary_key=True))


@dataclass
class Result:
    rows: int
    relay_s: float
    applied_s: float
    latencies_ms: list[float]

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class Rig:
    """A database with the outbox, a relay, and a consumer applying each event in its own
    transaction with its inbox row, as the services do."""

    def __init__(self, url: str, local: LocalBroker, window: int | None) -> None:
        self.db = Database(url)
        self.local = local
        self.producer = ConcurrentKafkaBroker(local.bootstrap)
        self.consumer_client = ConcurrentKafkaBroker(local.bootstrap)
        self.relay = OutboxRelay(self.db, kafka_publisher(self.producer), poll_seconds=0.5, window=window)
        self.outbox = OutboxRepository()
        self.applied_at: dict[uuid.UUID, float] = {}
        self._current: uuid.UUID | None = None
        consumer = EventConsumer(
            "bench",
            SigningCompleted.topic,
            self.db,
            EventRegistry(SigningCompleted),
            {SigningCompleted: self._apply},
            after_commit=self._committed,
        )
        consumer.attach(self.consumer_client, session_timeout_ms=2000)

    async def _apply(self, session: AsyncSession, envelope: EventEnvelope, payload: Any) -> None:
        await session.execute(insert(effects).values(id=envelope.event_id))
        self._current = payload.subject_id

    def _committed(self) -> None:
        if self._current is not None:
            self.applied_at.setdefault(self._current, time.perf_counter())

    async def applied(self) -> int:
        async with self.db.transaction() as session:
            return int((await session.execute(select(func.count()).select_from(effects))).scalar_one())

    async def pending(self) -> int:
        async with self.db.transaction() as session:
            return await self.outbox.count_pending(session)


@contextlib.asynccontextmanager
async def rig(url: str, folder: Path, window: int | None) -> AsyncIterator[Rig]:
    local = LocalBroker(log_path=folder / f"broker-{uuid.uuid4().hex[:6]}.log")
    local.start()
    running = Rig(url, local, window)
    async with running.db.engine.begin() as connection:
        await connection.run_sync(messaging_metadata.create_all)
        await connection.run_sync(effects_metadata.create_all)
    await asyncio.gather(running.producer.start(), running.consumer_client.start())
    try:
        yield running
    finally:
        await running.relay.stop()
        await running.consumer_client.stop()
        await running.producer.stop()
        await running.db.dispose()
        local.stop()


async def wait_for(check: Any, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not await check():
        if time.monotonic() > deadline:
            raise TimeoutError("benchmark did not finish in time")
        await asyncio.sleep(0.02)


async def measure(url: str, folder: Path, rows: int, keys: int, singles: int, window: int | None) -> Result:
    async with rig(url, folder, window) as bench:
        subjects = [uuid.uuid4() for _ in range(keys)]
        # Warm-up: topic created, consumer assigned, connections open.
        async with bench.db.transaction() as session:
            await bench.outbox.add(session, event(uuid.uuid4()), "thpt-a")
        bench.relay.start()
        await wait_for(lambda: _equals(bench.applied(), 1), 60)

        async with bench.db.transaction() as session:
            await bench.outbox.add_many(session, [(event(subjects[i % keys]), "thpt-a") for i in range(rows)])
        started = time.perf_counter()
        bench.relay.nudge()
        await wait_for(lambda: _equals(bench.pending(), 0), 300)
        relay_s = time.perf_counter() - started
        await wait_for(lambda: _equals(bench.applied(), rows + 1), 300)
        applied_s = time.perf_counter() - started

        latencies: list[float] = []
        for _ in range(singles):
            subject = uuid.uuid4()
            async with bench.db.transaction() as session:
                await bench.outbox.add(session, event(subject), "thpt-a")
            written = time.perf_counter()  # committed: from here the event exists
            bench.relay.nudge()
            deadline = time.monotonic() + 30
            while subject not in bench.applied_at:
                if time.monotonic() > deadline:
                    raise TimeoutError("a single event took more than 30 s")
                await asyncio.sleep(0.002)
            latencies.append((bench.applied_at[subject] - written) * 1000)
            await asyncio.sleep(0.05)
        return Result(rows, relay_s, applied_s, latencies)


async def _equals(value: Any, expected: int) -> bool:
    return bool(await value == expected)


def report(label: str, result: Result) -> None:
    p50 = statistics.median(result.latencies_ms)
    print(
        f"{label}: {result.rows} rows relayed in {result.relay_s:.2f} s "
        f"({result.rows / result.relay_s:.0f}/s), applied by the consumer in {result.applied_s:.2f} s "
        f"({result.rows / result.applied_s:.0f}/s); single events: p50 {p50:.0f} ms, "
        f"p99 {result.percentile(0.99):.0f} ms, max {max(result.latencies_ms):.0f} ms",
        flush=True,
    )


async def run(rows: int, keys: int, singles: int) -> tuple[Result, Result]:
    databases = ["sqlite", "postgresql"] if postgres_wanted() else ["sqlite"]
    results: tuple[Result, Result] | None = None
    with tempfile.TemporaryDirectory(prefix="hbs-bench-events-") as tmp:
        folder = Path(tmp)
        for database in databases:
            measured: list[Result] = []
            for label, window in (("one by one", 1), ("batched", None)):
                async with contextlib.AsyncExitStack() as stack:
                    if database == "sqlite":
                        url = sqlite_url(folder, f"events-{uuid.uuid4().hex[:6]}")
                    else:
                        url = await stack.enter_async_context(postgres_database("hbs_bench_events"))
                    result = await measure(url, folder, rows, keys, singles, window)
                report(f"{database}, {label}", result)
                measured.append(result)
            results = (measured[0], measured[1])
    assert results is not None
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--keys", type=int, default=200)
    parser.add_argument("--singles", type=int, default=200)
    args = parser.parse_args(argv)
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    one_by_one, result = asyncio.run(run(args.rows, args.keys, args.singles))
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    print(
        f"events_relay_per_s={result.rows / result.relay_s:.0f} "
        f"events_applied_per_s={result.rows / result.applied_s:.0f} "
        f"event_p50_ms={statistics.median(result.latencies_ms):.0f} "
        f"event_p99_ms={result.percentile(0.99):.0f} "
        f"one_by_one_relay_per_s={one_by_one.rows / one_by_one.relay_s:.0f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
