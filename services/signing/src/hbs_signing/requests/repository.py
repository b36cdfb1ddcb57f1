"""All SQL on the queue of signing requests waiting for their signature (``signing_queue``)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hbs_signing.models import QueuedRequest


class QueueRepository:
    async def get(self, session: AsyncSession, request_id: uuid.UUID) -> QueuedRequest | None:
        return await session.get(QueuedRequest, request_id)

    def add(self, session: AsyncSession, item: QueuedRequest) -> None:
        session.add(item)

    async def count(self, session: AsyncSession) -> int:
        """Requests waiting for their signature (the queue's depth)."""
        return int((await session.execute(select(func.count()).select_from(QueuedRequest))).scalar_one())

    async def claim(
        self, session: AsyncSession, limit: int, now: datetime, lease: timedelta
    ) -> list[QueuedRequest]:
        """Up to `limit` requests no one holds (or whose holder's lease ran out), oldest first,
        each leased to the caller and counted; a request another replica just took is skipped."""
        free = or_(QueuedRequest.claimed_until.is_(None), QueuedRequest.claimed_until < now)
        candidates = (
            await session.execute(
                select(QueuedRequest.request_id)
                .where(free)
                .order_by(QueuedRequest.created_at, QueuedRequest.request_id)
                .limit(limit)
            )
        ).scalars()
        taken: list[uuid.UUID] = []
        for request_id in list(candidates):
            result = await session.execute(
                update(QueuedRequest)
                .where(QueuedRequest.request_id == request_id, free)
                .values(claimed_until=now + lease, attempts=QueuedRequest.attempts + 1)
                .execution_options(synchronize_session=False)
            )
            if getattr(result, "rowcount", 0) == 1:
                taken.append(request_id)
        if not taken:
            return []
        rows = await session.execute(
            select(QueuedRequest)
            .where(QueuedRequest.request_id.in_(taken))
            .order_by(QueuedRequest.created_at, QueuedRequest.request_id)
            .execution_options(populate_existing=True)
        )
        return list(rows.scalars())

    async def settle(self, session: AsyncSession, request_id: uuid.UUID) -> bool:
        """Take the request off the queue; False when it already was (settled by another run)."""
        result = await session.execute(
            delete(QueuedRequest)
            .where(QueuedRequest.request_id == request_id)
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0) == 1)

    async def release(self, session: AsyncSession, request_id: uuid.UUID) -> None:
        """Give the lease back (a retryable error): the next run takes it at once."""
        await session.execute(
            update(QueuedRequest)
            .where(QueuedRequest.request_id == request_id)
            .values(claimed_until=None)
            .execution_options(synchronize_session=False)
        )
