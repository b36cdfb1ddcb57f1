"""All SQL on certificates."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hbs_signing.models import Certificate


class CertificateRepository:
    async def current_for(
        self, session: AsyncSession, school_id: str, user_id: uuid.UUID, role: str, at: datetime
    ) -> Certificate | None:
        """The newest certificate of this user and role that is valid at `at`."""
        result = await session.execute(
            select(Certificate)
            .where(
                Certificate.school_id == school_id,
                Certificate.user_id == user_id,
                Certificate.role == role,
                Certificate.not_before <= at,
                Certificate.not_after > at,
            )
            .order_by(Certificate.not_after.desc())
            .limit(1)
        )
        return result.scalar_one_or_none()

    async def held_elsewhere(self, session: AsyncSession, school_id: str, user_id: uuid.UUID) -> bool:
        """Whether another school holds a certificate of this user id (whose key is in the token)."""
        result = await session.execute(
            select(Certificate.id)
            .where(Certificate.user_id == user_id, Certificate.school_id != school_id)
            .limit(1)
        )
        return result.first() is not None

    def add(self, session: AsyncSession, certificate: Certificate) -> None:
        session.add(certificate)

    async def get(
        self, session: AsyncSession, school_id: str, certificate_id: uuid.UUID
    ) -> Certificate | None:
        """The school's certificate: an id of another school's is not found."""
        result = await session.execute(
            select(Certificate).where(Certificate.id == certificate_id, Certificate.school_id == school_id)
        )
        return result.scalar_one_or_none()

    async def digests_for_role(self, session: AsyncSession, school_id: str, role: str) -> set[str]:
        """SHA-256 of every certificate the school holds for a role (the seal's, for verification)."""
        result = await session.execute(
            select(Certificate.sha256).where(Certificate.school_id == school_id, Certificate.role == role)
        )
        return set(result.scalars())

    async def by_sha256(self, session: AsyncSession, sha256: str) -> Certificate | None:
        return (await session.execute(select(Certificate).where(Certificate.sha256 == sha256))).scalar()

    async def for_school(
        self, session: AsyncSession, school_id: str, user_id: uuid.UUID | None = None
    ) -> list[Certificate]:
        """The school's certificates (one user's, when given), oldest first."""
        query = select(Certificate).where(Certificate.school_id == school_id)
        if user_id is not None:
            query = query.where(Certificate.user_id == user_id)
        return list((await session.execute(query.order_by(Certificate.created_at))).scalars())
