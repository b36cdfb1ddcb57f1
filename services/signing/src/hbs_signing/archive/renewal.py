"""B-LTA renewal (issue 13 §5): before the certificate of a sealed record's last archive timestamp
expires (or once that timestamp reaches a configured age), a scheduled job appends the validation
data of that timestamp (its chain and CRLs, in the DSS) and a fresh document timestamp, so the
chain of timestamps keeps the record verifiable for decades (ETSI EN 319 142-1, B-LTA).

The renewed file is stored beside the sealed version (`archive_renewals`); the version itself is
unchanged, so every copy already handed out still verifies byte for byte, and the renewed file
verifies as that version, `archived` (`verification/identify.py`). No key of the token is used.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from io import BytesIO
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from hbs_shared.db import Database
from hbs_shared.logging import get_logger
from hbs_signing.archive.repository import Archive, ArchiveRepository
from hbs_signing.documents.store import DocumentStore
from hbs_signing.models import ArchiveRenewal
from hbs_signing.requests.service import SigningRequestService
from hbs_signing.timestamps import HttpTimeStamper

log = get_logger(__name__)
PAGE = 200


@dataclass(frozen=True)
class RenewalPolicy:
    horizon: timedelta
    """Renew when the last archive timestamp's authority certificate ends within this."""
    max_age: timedelta | None = None
    """Renew also when the last archive timestamp is older than this (None: only by the horizon)."""


@dataclass(frozen=True)
class LastTimestamp:
    at: datetime
    tsa_not_after: datetime


def last_timestamp(pdf: bytes) -> LastTimestamp | None:
    """The time and the authority certificate's end of the file's last document timestamp."""
    from pyhanko.pdf_utils.reader import PdfFileReader

    reader = PdfFileReader(BytesIO(pdf), strict=False)
    stamps = reader.embedded_timestamp_signatures
    if not stamps:
        return None
    last = stamps[-1]
    info = last.signed_data["encap_content_info"]["content"].parsed
    at: datetime = info["gen_time"].native
    signer = last.signer_cert
    return LastTimestamp(at=at, tsa_not_after=signer["tbs_certificate"]["validity"]["not_after"].native)


def _renew(
    pdf: bytes,
    timestamper: Any,
    roots_der: list[bytes],
    certs_der: list[bytes],
    crls_der: list[bytes],
    fetch: bool,
) -> bytes:
    from asn1crypto import crl as asn1_crl
    from asn1crypto import x509 as asn1_x509
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.signers import PdfTimeStamper
    from pyhanko_certvalidator import ValidationContext

    context = ValidationContext(
        trust_roots=[asn1_x509.Certificate.load(der) for der in roots_der],
        other_certs=[asn1_x509.Certificate.load(der) for der in certs_der],
        crls=[asn1_crl.CertificateList.load(der) for der in crls_der],
        allow_fetching=fetch,
        revocation_mode="require",
    )
    out = BytesIO()
    reader = PdfFileReader(BytesIO(pdf), strict=False)
    asyncio.run(
        PdfTimeStamper(timestamper).async_update_archival_timestamp_chain(
            reader, context, in_place=False, output=out
        )
    )
    return out.getvalue()


class ArchiveRenewals:
    def __init__(
        self,
        db: Database,
        store: DocumentStore,
        requests: SigningRequestService,
        policy: RenewalPolicy,
        repository: ArchiveRepository | None = None,
    ) -> None:
        self.db, self.store, self.requests, self.policy = db, store, requests, policy
        self.repository = repository or ArchiveRepository()
        self._authority_ends: datetime | None = None
        """When the timestamp authority's certificate ends, once known."""

    def due(self, last: LastTimestamp, now: datetime) -> tuple[bool, bool]:
        """(by age, by horizon)."""
        by_age = self.policy.max_age is not None and now - last.at >= self.policy.max_age
        return by_age, last.tsa_not_after - self.policy.horizon <= now

    def _no_gain(self, last: LastTimestamp) -> bool:
        """A new timestamp from an authority whose certificate ends no later gains nothing: its
        certificate must be renewed first."""
        ends = self._authority_ends
        if ends is None and self.requests.ca is not None:
            ends = self._authority_ends = x509.load_der_x509_certificate(
                self.requests.ca.tsa_certificate_der
            ).not_valid_after_utc
        return ends is not None and ends <= last.tsa_not_after

    async def run_once(self, now: datetime | None = None) -> int:
        """Renew every sealed version that is due; how many were renewed. One failure is logged and
        the run goes on (the next run tries it again)."""
        now = now or datetime.now(UTC)
        renewed = 0
        after: uuid.UUID | None = None
        while True:
            async with self.db.transaction() as session:
                page = await self.repository.sealed(session, after, PAGE)
            if not page:
                return renewed
            after = page[-1].document_id
            for archive in page:
                try:
                    renewed += await self._one(archive, now)
                except Exception as error:
                    log.warning(
                        "archive renewal failed", document_id=str(archive.document_id), error=str(error)[:300]
                    )

    async def _one(self, archive: Archive, now: datetime) -> int:
        if archive.renewal is not None:
            last: LastTimestamp | None = LastTimestamp(
                archive.renewal.timestamp_at, archive.renewal.tsa_not_after
            )
        else:
            pdf = await asyncio.to_thread(self.store.get, archive.sha256)
            last = await asyncio.to_thread(last_timestamp, pdf)
        if last is None:
            return 0
        by_age, by_horizon = self.due(last, now)
        if not by_age and not (by_horizon and not self._no_gain(last)):
            if by_horizon:
                log.warning("the timestamp authority's certificate ends within the renewal horizon: renew it")
            return 0
        pdf = await asyncio.to_thread(self.store.get, archive.sha256)
        renewed = await asyncio.to_thread(self._renew, pdf)
        stamp = await asyncio.to_thread(last_timestamp, renewed)
        assert stamp is not None
        if not by_age and stamp.tsa_not_after <= last.tsa_not_after:
            self._authority_ends = stamp.tsa_not_after  # nothing gained: not kept, not tried again
            log.warning("the timestamp authority's certificate ends within the renewal horizon: renew it")
            return 0
        digest = await asyncio.to_thread(self.store.put, renewed)
        async with self.db.transaction() as session:
            self.repository.add(
                session,
                ArchiveRenewal(
                    id=uuid.uuid4(),
                    document_id=archive.document_id,
                    sha256=digest,
                    size=len(renewed),
                    timestamp_at=stamp.at,
                    tsa_not_after=stamp.tsa_not_after,
                ),
            )
        log.info("archive timestamp renewed", document_id=str(archive.document_id))
        return 1

    def _renew(self, pdf: bytes) -> bytes:
        roots = [root.public_bytes(Encoding.DER) for root in self.requests.trust_roots]
        ca = self.requests.ca
        if ca is not None:
            return _renew(pdf, ca.timestamper(), roots, [ca.tsa_certificate_der], [ca.crl_der()], False)
        if self.requests.tsa_url is None:
            raise RuntimeError("no timestamp authority is configured (HBS_SIGNING_TSA_URL)")
        # A production authority: its chain comes in the tokens, its CRLs from their distribution points.
        return _renew(pdf, HttpTimeStamper(self.requests.tsa_url), roots, [], [], True)

    async def run_forever(self, interval: timedelta) -> None:
        await asyncio.sleep(30)
        while True:
            try:
                await self.run_once()
            except Exception as error:  # the job must never stop the service
                log.warning("archive renewal run failed", error=str(error)[:300])
            await asyncio.sleep(interval.total_seconds())
