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
