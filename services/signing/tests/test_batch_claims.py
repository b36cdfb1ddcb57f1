"""Several signing replicas share one queue of batch requests: each request is claimed by exactly
one of them (FOR UPDATE SKIP LOCKED and a lease), and a dead replica's claims are taken again.

Before, the runner took the oldest pending batch without a lock: two replicas took the same
requests and both signed them."""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from hbs_shared.db import Database
from hbs_shared.migrations import upgrade_to_head
from hbs_signing.app import MIGRATIONS
from hbs_signing.batches.repository import COMPLETED, PENDING, BatchItemRepository
from hbs_signing.models import BatchItem

pytestmark = [pytest.mark.db]

SCHOOL = "thpt-test"
BATCHES, PER_BATCH, CLAIM = 8, 25, 5

# One replica: claims (its own transaction), "signs" a moment, settles in a second transaction, as
# BatchRunner does; prints what it claimed. It starts when told, so both replicas race.
REPLICA = """
import asyncio, json, sys
from datetime import timedelta
from hbs_shared.db import Database
from hbs_signing.batches.repository import COMPLETED, BatchItemRepository

async def main(url: str, replica: str, limit: int) -> None:
    db, items, claimed = Database(url), BatchItemRepository(), []
    print("ready", flush=True)
    sys.stdin.readline()
    while True:
        async with db.transaction() as session:
            ids = [i.request_id for i in await items.claim(session, limit, replica, timedelta(minutes=5))]
        if not ids:
            break
        claimed.extend(str(i) for i in ids)
        await asyncio.sleep(0.01)  # the signature
        async with db.transaction() as session:
            for request_id in ids:
                await items.settle(session, request_id, COMPLETED)
    await db.dispose()
    print(json.dumps(claimed), flush=True)

asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
"""


def queued(batch_id: uuid.UUID, signer: uuid.UUID) -> BatchItem:
    request_id = uuid.uuid4()
    return BatchItem(
        request_id=request_id,
        batch_id=batch_id,
        school_id=SCHOOL,
        signer_user_id=signer,
        payload={"request_id": str(request_id)},
        requested_at=datetime.now(UTC),
        state=PENDING,
    )


@pytest.fixture
async def queue_db(databases: Any) -> Any:
    db = Database(databases.new("signing"))
    await upgrade_to_head(db.engine, MIGRATIONS)
    yield db
    await db.dispose()


async def test_two_replica_processes_claim_every_request_exactly_once(queue_db: Database) -> None:
    async with queue_db.transaction() as session:
        for _ in range(BATCHES):
            batch_id, signer = uuid.uuid4(), uuid.uuid4()
            session.add_all(queued(batch_id, signer) for _ in range(PER_BATCH))
    url = queue_db.engine.url.render_as_string(hide_password=False)
    replicas = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            REPLICA,
            url,
            f"replica-{n}",
            str(CLAIM),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        for n in (1, 2)
    ]
    for process in replicas:
        assert process.stdout is not None
        assert (await asyncio.wait_for(process.stdout.readline(), 120)).strip() == b"ready"
    claims: list[list[str]] = []
    # Both start claiming at the same moment (the go on stdin).
    results = await asyncio.gather(*(asyncio.wait_for(p.communicate(b"go\n"), 120) for p in replicas))
    for process, (out, err) in zip(replicas, results, strict=True):
        assert process.returncode == 0, err.decode()[-2000:]
        claims.append(json.loads(out.decode().strip().splitlines()[-1]))

    counts = Counter(request for claimed in claims for request in claimed)
    async with queue_db.transaction() as session:
        rows = (await session.execute(select(BatchItem.request_id, BatchItem.state))).all()
    assert len(rows) == BATCHES * PER_BATCH
    twice = [request for request, n in counts.items() if n > 1]
    assert not twice, f"{len(twice)} requests claimed by both replicas"
    assert set(counts) == {str(request) for request, _ in rows}, "every request claimed"
    assert {state for _, state in rows} == {COMPLETED}
    assert all(claims), f"both replicas took work: {[len(c) for c in claims]}"


async def test_a_dead_replicas_claims_are_taken_again_after_its_lease(queue_db: Database) -> None:
    items = BatchItemRepository()
    batch_id, signer = uuid.uuid4(), uuid.uuid4()
    async with queue_db.transaction() as session:
        session.add_all(queued(batch_id, signer) for _ in range(3))
    lease = timedelta(seconds=1)
    async with queue_db.transaction() as session:
        dead = {i.request_id for i in await items.claim(session, 10, "dead:1", lease)}
    assert len(dead) == 3
    async with queue_db.transaction() as session:
        assert await items.claim(session, 10, "alive:2", lease) == [], "held while the lease runs"
    async with queue_db.transaction() as session:
        # The same replica after an interrupted run (or restarted under the same name) goes on.
        assert {i.request_id for i in await items.claim(session, 10, "dead:1", lease)} == dead
    await asyncio.sleep(1.2)
    async with queue_db.transaction() as session:
        taken = await items.claim(session, 10, "alive:2", lease)
        assert {i.request_id for i in taken} == dead
        assert {i.claimed_by for i in taken} == {"alive:2"}
    # A live replica renews: its claims outlast the first lease.
    async with queue_db.transaction() as session:
        await items.renew_claims(session, "alive:2", timedelta(minutes=5))
    await asyncio.sleep(1.2)
    async with queue_db.transaction() as session:
        assert await items.claim(session, 10, "other:3", lease) == []
