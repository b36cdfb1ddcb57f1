"""All SQL on signed documents and signing requests."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from hbs_signing.models import SignedDocument, SigningRequest


class DocumentRepository:
    async def get(self, session: AsyncSession, document_id: uuid.UUID) -> SignedDocument | None:
        return await session.get(SignedDocument, document_id)

    def add(self, session: AsyncSession, document: SignedDocument) -> None:
        session.add(document)


class SigningRequestRepository:
    async def get(self, session: AsyncSession, request_id: uuid.UUID) -> SigningRequest | None:
        return await session.get(SigningRequest, request_id)

    def add(self, session: AsyncSession, request: SigningRequest) -> None:
        session.add(request)
