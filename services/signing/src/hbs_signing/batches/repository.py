"""All SQL on batch items: queued record signing requests, taken a batch at a time, settled once."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hbs_signing.models import BatchItem

PENDING, COMPLETED, FAILED = "pending", "completed", "failed"


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

    async def next_pending(self, session: AsyncSession, limit: int) -> list[BatchItem]:
        """Up to `limit` pending requests of the oldest batch with any (one signer's), oldest first."""
        first = (
            await session.execute(
                select(BatchItem).where(BatchItem.state == PENDING).order_by(BatchItem.created_at).limit(1)
            )
        ).scalar_one_or_none()
        if first is None:
            return []
        result = await session.execute(
            select(BatchItem)
            .where(
                BatchItem.state == PENDING,
                BatchItem.school_id == first.school_id,
                BatchItem.batch_id == first.batch_id,
                BatchItem.signer_user_id == first.signer_user_id,
            )
            .order_by(BatchItem.created_at, BatchItem.request_id)
            .limit(limit)
        )
        return list(result.scalars())

    async def settle(self, session: AsyncSession, request_id: uuid.UUID, state: str) -> bool:
        """Move one request out of pending; False when it already was (by a crash's earlier run)."""
        result = await session.execute(
            update(BatchItem)
            .where(BatchItem.request_id == request_id, BatchItem.state == PENDING)
            .values(state=state)
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0) == 1)

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
