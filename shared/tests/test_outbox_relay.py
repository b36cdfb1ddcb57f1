"""The relay's bookkeeping on a real database with a scripted publisher (fast; the real broker's
behaviour is in test_broker_restart.py and test_messaging.py): what is marked sent after a
partial failure, and what is resent when the cluster id changes, or not."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Collection, Sequence
from typing import Any

import pytest
from sqlalchemy import select

from hbs_devtools.samples import signing_completed as event
from hbs_shared.db import Database
from hbs_shared.events.contracts import SigningCompleted
from hbs_shared.messaging.outbox import OutboxRelay, OutboxRepository, Outcome, OutgoingMessage
from hbs_shared.messaging.tables import metadata, outbox

pytestmark = [pytest.mark.db]


class ScriptedPublisher:
    """Acknowledges everything except the subjects in `refuse`; reports `cluster` as its id."""

    def __init__(self) -> None:
        self.cluster = "cluster-a"
        self.refuse: set[str] = set()
        self.sent: list[OutgoingMessage] = []
        self.topics: list[set[str]] = []

    async def cluster_id(self) -> str:
        return self.cluster

    async def ensure_topics(self, topics: Collection[str]) -> None:
        self.topics.append(set(topics))

    async def send_all(self, messages: Sequence[OutgoingMessage]) -> list[Outcome]:
        self.sent.extend(messages)
        return [ConnectionError("refused") if m.key in self.refuse else None for m in messages]


@pytest.fixture
async def db(databases: Any) -> AsyncIterator[Database]:
    database = Database(databases.new("relay"))
    async with database.engine.begin() as connection:
        await connection.run_sync(metadata.create_all)
    yield database
    await database.dispose()


async def unsent_keys(db: Database) -> list[str]:
    async with db.transaction() as session:
        rows = await session.execute(
            select(outbox.c.partition_key).where(outbox.c.sent_at.is_(None)).order_by(outbox.c.id)
        )
        return [row[0] for row in rows]


async def write(db: Database, subjects: list[uuid.UUID], school: str = "thpt-a") -> None:
    async with db.transaction() as session:
        await OutboxRepository().add_many(session, [(event(s), school) for s in subjects])


async def test_the_key_is_the_school_then_the_aggregate(db: Database) -> None:
    a = uuid.uuid4()
    await write(db, [a], school="thpt-phu-cu")
    assert await unsent_keys(db) == [f"thpt-phu-cu:{a}"]


async def test_a_refused_message_keeps_its_school_pending_after_it_and_the_other_schools_are_sent(
    db: Database,
) -> None:
    """The school chooses the partition: after a refusal, that school's later rows (of any
    aggregate) wait and go again in order; another school's rows are sent."""
    a, b, c = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    async with db.transaction() as session:
        await OutboxRepository().add_many(
            session,
            [
                (event(b), "thpt-a"),
                (event(c), "thpt-b"),
                (event(a), "thpt-a"),
                (event(b), "thpt-a"),
                (event(c), "thpt-b"),
            ],
        )
    publisher = ScriptedPublisher()
    publisher.refuse = {f"thpt-a:{a}"}
    relay = OutboxRelay(db, publisher)

    with pytest.raises(ConnectionError):
        await relay.relay_once()

    assert len(publisher.sent) == 5  # one batch, handed over together
    # thpt-a's first row was acknowledged; from the refused one on, its rows wait, in order.
    assert await unsent_keys(db) == [f"thpt-a:{a}", f"thpt-a:{b}"]
    assert publisher.topics == [{SigningCompleted.topic}]

    publisher.refuse = set()
    assert await relay.relay_once() == 2
    assert await unsent_keys(db) == []


async def test_rows_are_resent_only_when_the_cluster_id_changes(db: Database) -> None:
    await write(db, [uuid.uuid4(), uuid.uuid4()])
    publisher = ScriptedPublisher()
    relay = OutboxRelay(db, publisher)
    assert await relay.relay_once() == 2

    restarted = OutboxRelay(db, publisher)  # the service restarted; the broker did not
    assert await restarted.check_broker() == 0
    assert await restarted.relay_once() == 0

    publisher.cluster = "cluster-b"  # an empty broker now answers on the same address
    changes: list[tuple[str | None, str]] = []

    async def changed(previous: str | None, current: str) -> None:
        changes.append((previous, current))

    restarted.on_broker_change(changed)
    assert await restarted.relay_once() == 2  # both sent again, to the new broker
    await asyncio.sleep(0.05)  # the listeners run in their own task
    await restarted.stop()
    assert changes == [("cluster-a", "cluster-b")]
    assert publisher.topics[-1] == {SigningCompleted.topic}  # created on the new broker first
    async with db.transaction() as session:
        assert {row[0] for row in await session.execute(select(outbox.c.sent_to))} == {"cluster-b"}
