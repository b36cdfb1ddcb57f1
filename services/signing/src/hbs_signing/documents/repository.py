"""All SQL on signed documents and signing requests."""

from __future__ import annotations

import uuid
from collections.abc import Collection

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from hbs_signing.models import SignedDocument, SigningRequest


class DocumentRepository:
    async def get(
        self, session: AsyncSession, school_id: str, document_id: uuid.UUID
    ) -> SignedDocument | None:
        """The school's document: an id of another school's is not found."""
        result = await session.execute(
            select(SignedDocument).where(
                SignedDocument.id == document_id, SignedDocument.school_id == school_id
            )
        )
        return result.scalar_one_or_none()

    def add(self, session: AsyncSession, document: SignedDocument) -> None:
        session.add(document)

    async def current_for(
        self, session: AsyncSession, school_id: str, subject_id: uuid.UUID
    ) -> SignedDocument | None:
        """The newest version of a sheet's or record's document: every older one is superseded."""
        result = await session.execute(
            select(SignedDocument)
            .where(SignedDocument.school_id == school_id, SignedDocument.subject_id == subject_id)
            .order_by(SignedDocument.created_at.desc())
            .limit(1)
        )
        return result.scalar_one_or_none()

    async def versions_of(
        self, session: AsyncSession, school_id: str, subject_ids: Collection[uuid.UUID]
    ) -> dict[uuid.UUID, list[SignedDocument]]:
        """Every version of each of these subjects' documents (the school's), in one query: a
        batch run's checks ask it once instead of twice a request."""
        found: dict[uuid.UUID, list[SignedDocument]] = {subject: [] for subject in subject_ids}
        if not found:
            return found
        result = await session.execute(
            select(SignedDocument).where(
                SignedDocument.school_id == school_id, SignedDocument.subject_id.in_(list(found))
            )
        )
        for document in result.scalars():
            found[document.subject_id].append(document)
        return found

    async def has_signed(
        self, session: AsyncSession, school_id: str, subject_id: uuid.UUID, user_id: uuid.UUID
    ) -> bool:
        """Whether this person signed any version of this sheet's or record's document."""
        result = await session.execute(
            select(SignedDocument.id)
            .where(
                SignedDocument.school_id == school_id,
                SignedDocument.subject_id == subject_id,
                SignedDocument.signer_user_id == user_id,
            )
            .limit(1)
        )
        return result.first() is not None

    async def records_of_student(
        self, session: AsyncSession, school_id: str, student_id: uuid.UUID
    ) -> list[SignedDocument]:
        """Every version of every year record of a student, newest first."""
        result = await session.execute(
            select(SignedDocument)
            .where(
                SignedDocument.school_id == school_id,
                SignedDocument.student_id == student_id,
                SignedDocument.kind == "year_record",
            )
            .order_by(SignedDocument.created_at.desc())
        )
        return list(result.scalars())

    async def by_sha256(self, session: AsyncSession, sha256: str) -> SignedDocument | None:
        result = await session.execute(
            select(SignedDocument)
            .where(SignedDocument.sha256 == sha256)
            .order_by(SignedDocument.created_at)
            .limit(1)
        )
        return result.scalar_one_or_none()

    async def by_code(self, session: AsyncSession, code: str) -> SignedDocument | None:
        """The newest signed version of the rendering whose pages print this code."""
        result = await session.execute(
            select(SignedDocument)
            .where(or_(SignedDocument.printed_code == code, SignedDocument.verification_code == code))
            .order_by(SignedDocument.created_at.desc())
            .limit(1)
        )
        return result.scalar_one_or_none()


class SigningRequestRepository:
    async def get(self, session: AsyncSession, request_id: uuid.UUID) -> SigningRequest | None:
        return await session.get(SigningRequest, request_id)

    def add(self, session: AsyncSession, request: SigningRequest) -> None:
        session.add(request)
