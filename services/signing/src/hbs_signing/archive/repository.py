"""All SQL of archive renewals (B-LTA)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hbs_signing.models import ArchiveRenewal, SignedDocument


@dataclass(frozen=True)
class Archive:
    """A sealed version and the newest file that carries it (itself, or its latest renewal)."""

    document_id: uuid.UUID
    school_id: str
    sha256: str
    renewal: ArchiveRenewal | None


class ArchiveRepository:
    async def sealed(self, session: AsyncSession, after: uuid.UUID | None, limit: int) -> list[Archive]:
        """Sealed versions in id order after ``after`` (a run walks them in pages), each with its
        newest renewal."""
        query = select(SignedDocument.id, SignedDocument.school_id, SignedDocument.sha256).where(
            SignedDocument.sealed.is_(True)
        )
        if after is not None:
            query = query.where(SignedDocument.id > after)
        rows = (await session.execute(query.order_by(SignedDocument.id).limit(limit))).all()
        if not rows:
            return []
        renewals = (
            await session.execute(
                select(ArchiveRenewal)
                .where(ArchiveRenewal.document_id.in_([row.id for row in rows]))
                .order_by(ArchiveRenewal.timestamp_at)
            )
        ).scalars()
        newest: dict[uuid.UUID, ArchiveRenewal] = {}
        for renewal in renewals:
            newest[renewal.document_id] = renewal
        return [
            Archive(
                row.id,
                row.school_id,
                newest[row.id].sha256 if row.id in newest else row.sha256,
                newest.get(row.id),
            )
            for row in rows
        ]

    def add(self, session: AsyncSession, renewal: ArchiveRenewal) -> None:
        session.add(renewal)

    async def of(self, session: AsyncSession, document_id: uuid.UUID) -> list[ArchiveRenewal]:
        result = await session.execute(
            select(ArchiveRenewal)
            .where(ArchiveRenewal.document_id == document_id)
            .order_by(ArchiveRenewal.timestamp_at)
        )
        return list(result.scalars())
