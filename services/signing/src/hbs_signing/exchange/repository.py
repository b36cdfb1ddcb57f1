"""All SQL on transfer and graduation packages."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hbs_signing.models import ExchangeFile, ExchangePackage, SignedDocument


class ExchangeRepository:
    def add(self, session: AsyncSession, package: ExchangePackage, files: list[ExchangeFile]) -> None:
        session.add(package)
        session.add_all(files)

    async def get(
        self, session: AsyncSession, school_id: str, package_id: uuid.UUID
    ) -> ExchangePackage | None:
        result = await session.execute(
            select(ExchangePackage).where(
                ExchangePackage.id == package_id, ExchangePackage.school_id == school_id
            )
        )
        return result.scalar_one_or_none()

    async def files(self, session: AsyncSession, package_id: uuid.UUID) -> list[ExchangeFile]:
        result = await session.execute(
            select(ExchangeFile).where(ExchangeFile.package_id == package_id).order_by(ExchangeFile.name)
        )
        return list(result.scalars())

    async def imported_sha256(
        self, session: AsyncSession, school_id: str, sha256: str
    ) -> ExchangePackage | None:
        result = await session.execute(
            select(ExchangePackage)
            .where(
                ExchangePackage.school_id == school_id,
                ExchangePackage.direction == "imported",
                ExchangePackage.sha256 == sha256,
            )
            .limit(1)
        )
        return result.scalar_one_or_none()

    async def of_student(
        self, session: AsyncSession, school_id: str, student_id: uuid.UUID
    ) -> list[ExchangePackage]:
        result = await session.execute(
            select(ExchangePackage)
            .where(ExchangePackage.school_id == school_id, ExchangePackage.student_id == student_id)
            .order_by(ExchangePackage.created_at.desc())
        )
        return list(result.scalars())

    async def sealed_records(
        self, session: AsyncSession, school_id: str, student_id: uuid.UUID
    ) -> list[SignedDocument]:
        """The newest version of each of a student's year records, when that version is sealed."""
        result = await session.execute(
            select(SignedDocument)
            .where(
                SignedDocument.school_id == school_id,
                SignedDocument.student_id == student_id,
                SignedDocument.kind == "year_record",
            )
            .order_by(SignedDocument.created_at.desc())
        )
        newest: dict[uuid.UUID, SignedDocument] = {}
        for document in result.scalars():
            newest.setdefault(document.subject_id, document)
        return [d for d in newest.values() if d.sealed]
