"""Inbox: a consumer records each processed event id in the same transaction as its effect."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from hbs_shared.messaging.tables import inbox


class InboxRepository:
    async def claim(self, session: AsyncSession, consumer: str, event_id: uuid.UUID, event_type: str) -> bool:
        """True if this consumer has not processed the event yet; records it as processed.

        The primary key makes a concurrent second claim fail at commit, rolling back its effect.
        """
        seen = await session.execute(
            select(inbox.c.event_id).where(inbox.c.consumer == consumer, inbox.c.event_id == event_id)
        )
        if seen.first() is not None:
            return False
        await session.execute(
            insert(inbox).values(consumer=consumer, event_id=event_id, event_type=event_type)
        )
        return True

    async def seen(
        self, session: AsyncSession, consumer: str, event_ids: Sequence[uuid.UUID]
    ) -> set[uuid.UUID]:
        """Which of these events this consumer has processed already (a batch's, in one query)."""
        if not event_ids:
            return set()
        found = await session.execute(
            select(inbox.c.event_id).where(
                inbox.c.consumer == consumer, inbox.c.event_id.in_(list(event_ids))
            )
        )
        return set(found.scalars())

    async def record(
        self, session: AsyncSession, consumer: str, event_id: uuid.UUID, event_type: str
    ) -> None:
        """Records the event as processed, after ``seen`` said it was not (a concurrent second
        record fails on the primary key, rolling back its effect)."""
        await session.execute(
            insert(inbox).values(consumer=consumer, event_id=event_id, event_type=event_type)
        )
