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

    def add(self, session: AsyncSession, certificate: Certificate) -> None:
        session.add(certificate)
