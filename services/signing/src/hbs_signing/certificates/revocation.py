"""CRLs over HTTP for a production CA: from each certificate's CRL distribution point.

Async (httpx) on the service's event loop; parsing and the signature check run in a thread (a
national CA's CRL can be megabytes). A CRL is kept until its nextUpdate and only after its
signature verified with the issuer's key. Hard-fail: when no current CRL signed by the issuer can
be had, the certificate is refused with the reason, never treated as good.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from hbs_signing.certificates.check import CertificateRefused

MAX_CRL_BYTES = 20_000_000


@dataclass(frozen=True)
class _Cached:
    der: bytes
    issuer_fingerprint: bytes
    next_update: datetime


class CrlFetcher:
    def __init__(
        self, *, timeout_seconds: float = 10.0, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self._timeout = timeout_seconds
        self._transport = transport
        self._cache: dict[str, _Cached] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self.downloads = 0
        """CRLs downloaded (not answered from the cache) since start: a metric, and for tests."""

    async def crl_for(
        self, certificate: x509.Certificate, issuer: x509.Certificate, *, at: datetime | None = None
    ) -> bytes:
        """The current CRL (DER) for ``certificate``, signed by ``issuer``; CertificateRefused if none."""
        now = at or datetime.now(UTC)
        subject = certificate.subject.rfc4514_string()
        urls = distribution_points(certificate)
        if not urls:
            raise CertificateRefused(
                f"revocation status of certificate {subject} cannot be obtained "
                "(no HTTP CRL distribution point in the certificate)"
            )
        fingerprint = issuer.fingerprint(hashes.SHA256())
        problems = []
        for url in urls:
            # One download per URL at a time: a batch's first documents must not all fetch it.
            async with self._locks.setdefault(url, asyncio.Lock()):
                cached = self._cache.get(url)
                if (
                    cached is not None
                    and cached.issuer_fingerprint == fingerprint
                    and now < cached.next_update
                ):
                    return cached.der
                try:
                    der = await self._download(url)
                    next_update = await asyncio.to_thread(_verified_next_update, der, issuer, now)
                except _Unusable as problem:
                    problems.append(f"{url}: {problem}")
                    continue
                self._cache[url] = _Cached(der, fingerprint, next_update)
                return der
        raise CertificateRefused(
            f"revocation status of certificate {subject} cannot be obtained ({'; '.join(problems)})"
        )

    async def _download(self, url: str) -> bytes:
        try:
            async with (
                httpx.AsyncClient(timeout=self._timeout, transport=self._transport) as client,
                client.stream("GET", url) as response,
            ):
                if response.status_code != 200:
                    raise _Unusable(f"HTTP {response.status_code}")
                body = bytearray()
                async for part in response.aiter_bytes():
                    body += part
                    if len(body) > MAX_CRL_BYTES:
                        raise _Unusable(f"larger than {MAX_CRL_BYTES} bytes")
        except httpx.HTTPError as error:
            raise _Unusable(f"cannot be fetched ({type(error).__name__}: {error})") from error
        self.downloads += 1
        return bytes(body)


class _Unusable(Exception):
    """This distribution point gave no usable CRL; the message says why."""


def distribution_points(certificate: x509.Certificate) -> list[str]:
    """The certificate's HTTP(S) CRL URLs, in its order (LDAP and others are not fetched)."""
    try:
        points = certificate.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    except x509.ExtensionNotFound:
        return []
    return [
        name.value
        for point in points
        for name in point.full_name or []
        if isinstance(name, x509.UniformResourceIdentifier)
        and name.value.lower().startswith(("http://", "https://"))
    ]


def _verified_next_update(der: bytes, issuer: x509.Certificate, now: datetime) -> datetime:
    try:
        crl = x509.load_der_x509_crl(der)
    except ValueError as error:
        raise _Unusable("not a DER CRL") from error
    key = issuer.public_key()
    if (
        crl.issuer != issuer.subject
        or not isinstance(key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey)
        or not crl.is_signature_valid(key)
    ):
        raise _Unusable("not signed by the issuer")
    next_update = crl.next_update_utc
    if next_update is None or now >= next_update:
        raise _Unusable("out of date")
    return next_update
