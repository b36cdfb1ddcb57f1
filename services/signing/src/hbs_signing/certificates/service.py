"""Which certificate signs for a user; in development the local CA issues one on first use."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime

from cryptography import x509
from sqlalchemy.ext.asyncio import AsyncSession

from hbs_signing.certificates.repository import CertificateRepository
from hbs_signing.devca import DevelopmentCA
from hbs_signing.models import Certificate
from hbs_signing.token import Token


class NoUsableCertificate(Exception):
    """The signer has no certificate valid now; the request fails with this reason."""


def key_label_for(user_id: uuid.UUID) -> str:
    # PKCS#11 labels are short; the user id's hex fits and stays unique.
    return f"u-{user_id.hex}"


class CertificateService:
    def __init__(
        self,
        token: Token,
        development_ca: DevelopmentCA | None,
        repository: CertificateRepository | None = None,
    ) -> None:
        self.token = token
        self.ca = development_ca
        self.repository = repository or CertificateRepository()

    async def imported(self, session: AsyncSession, certificate: Certificate) -> Certificate:
        """Store an imported certificate once: importing the same one again returns the stored one."""
        existing = await self.repository.by_sha256(session, certificate.sha256)
        if existing is not None:
            return existing
        self.repository.add(session, certificate)
        return certificate

    async def listed(
        self, session: AsyncSession, school_id: str, user_id: uuid.UUID | None = None
    ) -> list[Certificate]:
        return await self.repository.for_school(session, school_id, user_id)

    async def of_school(
        self, session: AsyncSession, school_id: str, certificate_id: uuid.UUID
    ) -> Certificate | None:
        return await self.repository.get(session, school_id, certificate_id)

    async def prepare_key(self, user_id: uuid.UUID) -> None:
        """In development, make the signer's key now (their PIN is being set): an RSA generation
        takes ~0.25 s of the token thread, which a first signature, and every signature queued
        behind it, would otherwise wait for. A production signer's key comes with its certificate."""
        if self.ca is not None:
            await self.token.ensure_rsa_key(key_label_for(user_id))

    async def for_signer(
        self,
        session: AsyncSession,
        school_id: str,
        user_id: uuid.UUID,
        name: str,
        role: str,
        organisation: str,
    ) -> Certificate:
        """The signer's current certificate; `organisation` (the school's name, as identity
        announced it) goes into one the development CA issues."""
        now = datetime.now(UTC)
        found = await self.repository.current_for(session, school_id, user_id, role, now)
        if found is not None:
            return found
        if self.ca is None:
            raise NoUsableCertificate(f"no valid certificate for this signer in role {role}")
        if await self.repository.held_elsewhere(session, school_id, user_id):
            # The token's key is named by the user alone: another school's signer's key is never used.
            raise NoUsableCertificate("the signer's id holds a key of another school")
        label = key_label_for(user_id)
        public_key = await self.token.ensure_rsa_key(label)
        der = self.ca.issue(public_key, common_name=name, organisation=organisation, role=role)
        parsed = x509.load_der_x509_certificate(der)
        certificate = Certificate(
            school_id=school_id,
            user_id=user_id,
            key_label=label,
            subject_name=name,
            role=role,
            sha256=hashlib.sha256(der).hexdigest(),
            der=der,
            not_before=parsed.not_valid_before_utc,
            not_after=parsed.not_valid_after_utc,
        )
        self.repository.add(session, certificate)
        return certificate
