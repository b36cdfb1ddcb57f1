"""The school's status list, signed with the school seal (CMS SignedData, the JSON encapsulated).

Built when asked and kept until a version is stored or a record revoked (a cheap count tells), or
until half its validity passed; signed on the token thread like every other signature, with no
transaction open while the seal's CRLs are checked or the token signs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from hbs_shared.db import Database
from hbs_signing.certificates.service import NoUsableCertificate
from hbs_signing.requests.service import SEAL_ROLE, SigningRequestService, seal_user_id
from hbs_signing.status.service import DocumentStatuses
from hbs_signing.token import Token


class SealUnavailable(Exception):
    """The school's seal cannot sign now (the school not announced, no valid certificate, a CRL)."""


@dataclass(frozen=True)
class SignedList:
    content: bytes
    """The list as JSON (UTF-8): exactly what the signature encapsulates."""
    signed: bytes
    """CMS SignedData (DER) with the content inside, the seal's certificate and chain."""
    issued_at: datetime
    fingerprint: tuple[object, ...]


class StatusLists:
    def __init__(
        self,
        db: Database,
        statuses: DocumentStatuses,
        requests: SigningRequestService,
        token: Token,
        max_age: timedelta,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.db, self.statuses, self.requests, self.token = db, statuses, requests, token
        self.max_age = max_age
        self.clock = clock
        self._cache: dict[str, SignedList] = {}
        self._lock = asyncio.Lock()

    async def _fingerprint(self, school_id: str) -> tuple[object, ...]:
        async with self.db.transaction() as session:
            return await self.statuses.repository.fingerprint(session, school_id)

    def _fresh(self, cached: SignedList | None, fingerprint: tuple[object, ...]) -> bool:
        return (
            cached is not None
            and cached.fingerprint == fingerprint
            and self.clock() < cached.issued_at + self.max_age / 2
        )

    async def get(self, school_id: str) -> SignedList | None:
        """The school's current signed list, or None when it has issued nothing."""
        fingerprint = await self._fingerprint(school_id)
        if self._fresh(self._cache.get(school_id), fingerprint):
            return self._cache[school_id]
        async with self._lock:  # one build at a time; a caller that waited takes the fresh one
            fingerprint = await self._fingerprint(school_id)
            if self._fresh(self._cache.get(school_id), fingerprint):
                return self._cache[school_id]
            issued_at = self.clock().replace(microsecond=0)
            async with self.db.transaction() as session:
                content = await self.statuses.status_list(session, school_id, issued_at, self.max_age)
                if content is None:
                    return None
                school = await self.requests.school.get(session, school_id)
                if school is None:
                    raise SealUnavailable("the school's facts are not known yet")
                try:
                    seal = await self.requests.certificates.for_signer(
                        session, school_id, seal_user_id(school_id), school.name, SEAL_ROLE, school.name
                    )
                except NoUsableCertificate as error:
                    raise SealUnavailable(str(error)) from error
            try:
                validation = await self.requests.check(seal)  # hard-fail, as before any signature
            except Exception as error:
                raise SealUnavailable(str(error)) from error
            signed = await self.token.sign_data(
                content, key_label=seal.key_label, signing_cert_der=seal.der, chain_der=list(validation.chain)
            )
            made = SignedList(content, signed, issued_at, fingerprint)
            self._cache[school_id] = made
            return made
