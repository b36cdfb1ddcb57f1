"""All SQL of documents' public status: revocations, and what the status list reads."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hbs_signing.models import DocumentRevocation, SignedDocument


@dataclass(frozen=True)
class IssuedVersion:
    """One stored version as the status list sees it: no personal data."""

    sha256: str
    kind: str
    subject_id: uuid.UUID
    created_at: datetime


class StatusRepository:
    async def revocation_for(
        self, session: AsyncSession, school_id: str, subject_id: uuid.UUID
    ) -> DocumentRevocation | None:
        result = await session.execute(
            select(DocumentRevocation).where(
                DocumentRevocation.school_id == school_id, DocumentRevocation.subject_id == subject_id
            )
        )
        return result.scalar_one_or_none()

    def add_revocation(self, session: AsyncSession, revocation: DocumentRevocation) -> None:
        session.add(revocation)

    async def revocations(self, session: AsyncSession, school_id: str) -> list[DocumentRevocation]:
        result = await session.execute(
            select(DocumentRevocation).where(DocumentRevocation.school_id == school_id)
        )
        return list(result.scalars())

    async def versions(self, session: AsyncSession, school_id: str) -> list[IssuedVersion]:
        """Every stored version of the school, oldest first."""
        result = await session.execute(
            select(
                SignedDocument.sha256,
                SignedDocument.kind,
                SignedDocument.subject_id,
                SignedDocument.created_at,
            )
            .where(SignedDocument.school_id == school_id)
            .order_by(SignedDocument.created_at, SignedDocument.id)
        )
        return [IssuedVersion(*row) for row in result.all()]

    async def fingerprint(self, session: AsyncSession, school_id: str) -> tuple[object, ...]:
        """Changes whenever a version is stored or a record revoked: a cached list is then stale."""
        documents = (
            await session.execute(
                select(func.count(SignedDocument.id), func.max(SignedDocument.created_at)).where(
                    SignedDocument.school_id == school_id
                )
            )
        ).one()
        revoked = (
            await session.execute(
                select(func.count(DocumentRevocation.id)).where(DocumentRevocation.school_id == school_id)
            )
        ).scalar_one()
        return (*documents, revoked)
