"""All SQL on batch items: queued record signing requests, taken a batch at a time, settled once."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hbs_signing.models import BatchItem, SigningRequest

PENDING, COMPLETED, FAILED = "pending", "completed", "failed"

CLAIM_LEASE = timedelta(seconds=30)
"""How long a claim outlives its replica's last renewal (renewed every third of it)."""


def this_replica() -> str:
    """A name no other live process has: two replicas on one host differ by their pid."""
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass(frozen=True)
class BatchProgress:
    batch_id: uuid.UUID
    signer_user_id: uuid.UUID
    total: int
    done: int
    failed: int


class BatchItemRepository:
    async def get(self, session: AsyncSession, request_id: uuid.UUID) -> BatchItem | None:
        return await session.get(BatchItem, request_id)

    def add(self, session: AsyncSession, item: BatchItem) -> None:
        session.add(item)

    async def known(self, session: AsyncSession, request_ids: Collection[uuid.UUID]) -> set[uuid.UUID]:
        """Which of these requests are queued in a batch already or were handled (signed or refused)."""
        ids = list(request_ids)
        batched = await session.execute(select(BatchItem.request_id).where(BatchItem.request_id.in_(ids)))
        handled = await session.execute(
            select(SigningRequest.request_id).where(SigningRequest.request_id.in_(ids))
        )
        return {row[0] for row in batched} | {row[0] for row in handled}

    async def count_pending(self, session: AsyncSession) -> int:
        """Batch items not yet signed or failed, every batch together (the batch queue's depth)."""
        query = select(func.count()).select_from(BatchItem).where(BatchItem.state == PENDING)
        return int((await session.execute(query)).scalar_one())

    async def claim(
        self, session: AsyncSession, limit: int, replica: str, lease: timedelta
    ) -> list[BatchItem]:
        """Claim for `replica` up to `limit` pending requests of the oldest batch no live replica
        holds (one signer's), oldest first, until now + `lease`.

        FOR UPDATE SKIP LOCKED: a replica claiming at the same moment skips these rows (PostgreSQL
        re-checks a row it waited for, so it never sees them unclaimed); the lease keeps them after
        the commit. A replica's own expired or earlier claims stay its own (an interrupted run).
        SQLite ignores the row lock: its transactions take the write lock at BEGIN (hbs_shared.db)."""
        now = datetime.now(UTC)
        claimable = and_(
            BatchItem.state == PENDING,
            or_(
                BatchItem.claimed_until.is_(None),
                BatchItem.claimed_until < now,
                BatchItem.claimed_by == replica,
            ),
        )
        first = (
            await session.execute(
                select(BatchItem.school_id, BatchItem.batch_id, BatchItem.signer_user_id)
                .where(claimable)
                .order_by(BatchItem.created_at)
                .limit(1)
                .with_for_update(skip_locked=True)
            )
        ).first()
        if first is None:
            return []
        school_id, batch_id, signer_user_id = first
        result = await session.execute(
            select(BatchItem)
            .where(
                claimable,
                BatchItem.school_id == school_id,
                BatchItem.batch_id == batch_id,
                BatchItem.signer_user_id == signer_user_id,
            )
            .order_by(BatchItem.created_at, BatchItem.request_id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        items = list(result.scalars())
        for item in items:
            item.claimed_by, item.claimed_until = replica, now + lease
        return items

    async def renew_claims(self, session: AsyncSession, replica: str, lease: timedelta) -> None:
        """Extend the lease of every pending request `replica` holds (it is alive and working)."""
        await session.execute(
            update(BatchItem)
            .where(BatchItem.claimed_by == replica, BatchItem.state == PENDING)
            .values(claimed_until=datetime.now(UTC) + lease)
            .execution_options(synchronize_session=False)
        )

    async def settle(self, session: AsyncSession, request_id: uuid.UUID, state: str) -> bool:
        """Move one request out of pending; False when it already was (by a crash's earlier run)."""
        result = await session.execute(
            update(BatchItem)
            .where(BatchItem.request_id == request_id, BatchItem.state == PENDING)
            .values(state=state)
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0) == 1)

    async def settle_many(
        self, session: AsyncSession, outcomes: Sequence[tuple[uuid.UUID, str]]
    ) -> set[uuid.UUID]:
        """``settle`` for several requests, one UPDATE per state; returns those still pending."""
        moved: set[uuid.UUID] = set()
        for state in sorted({state for _, state in outcomes}):
            ids = [request_id for request_id, wanted in outcomes if wanted == state]
            result = await session.execute(
                update(BatchItem)
                .where(BatchItem.request_id.in_(ids), BatchItem.state == PENDING)
                .values(state=state)
                .returning(BatchItem.request_id)
                .execution_options(synchronize_session=False)
            )
            moved.update(result.scalars())
        return moved

    async def progress(
        self,
        session: AsyncSession,
        school_id: str,
        batch_id: uuid.UUID,
        signer_user_id: uuid.UUID | None = None,
    ) -> BatchProgress | None:
        """Counts of one batch's requests (of one signer, when given); None when there are none."""
        query = (
            select(BatchItem.signer_user_id, BatchItem.state, func.count())
            .where(BatchItem.school_id == school_id, BatchItem.batch_id == batch_id)
            .group_by(BatchItem.signer_user_id, BatchItem.state)
        )
        if signer_user_id is not None:
            query = query.where(BatchItem.signer_user_id == signer_user_id)
        rows = (await session.execute(query)).all()
        if not rows:
            return None
        counts: dict[str, int] = {}
        for _, state, count in rows:
            counts[state] = counts.get(state, 0) + int(count)
        return BatchProgress(
            batch_id=batch_id,
            signer_user_id=rows[0][0],
            total=sum(counts.values()),
            done=counts.get(COMPLETED, 0),
            failed=counts.get(FAILED, 0),
        )
