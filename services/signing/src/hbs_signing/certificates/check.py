"""The check before every signature (Đ2): within validity, chained to a trusted root, not revoked.

Hard-fail: when the revocation status cannot be had (no CRL, a CRL not signed by the issuer,
an out-of-date CRL), the signature is refused, never made "without revocation data".
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec, rsa


class CertificateRefused(Exception):
    """The certificate may not sign now; the message names the reason (it goes into signing.failed)."""


@dataclass(frozen=True)
class CertificateCheck:
    """What was checked and found: kept with the signature (Nghị định 23/2025: status at signing time)."""

    subject: str
    serial_number: int
    issuer: str
    not_before: datetime
    not_after: datetime
    checked_at: datetime
    revocation: str  # "good" (the only outcome that lets a signature go ahead)
    crl_this_update: datetime


CrlSource = Callable[[x509.Certificate], bytes | None]
"""The current CRL (DER) of the given issuing certificate, or None when none can be had."""


def check_certificate(
    certificate_der: bytes,
    trust_roots: Sequence[x509.Certificate],
    crl_for: CrlSource,
    *,
    at: datetime | None = None,
) -> CertificateCheck:
    now = at or datetime.now(UTC)
    try:
        certificate = x509.load_der_x509_certificate(certificate_der)
    except ValueError as error:
        raise CertificateRefused("the signing certificate is not a valid DER certificate") from error
    subject = certificate.subject.rfc4514_string()
    if now < certificate.not_valid_before_utc:
        raise CertificateRefused(
            f"certificate {subject} is not valid yet (valid from "
            f"{certificate.not_valid_before_utc:%Y-%m-%d %H:%M} UTC)"
        )
    if now >= certificate.not_valid_after_utc:
        raise CertificateRefused(
            f"certificate {subject} expired on {certificate.not_valid_after_utc:%Y-%m-%d %H:%M} UTC"
        )
    issuer = _trusted_issuer(certificate, trust_roots)
    if issuer is None:
        raise CertificateRefused(
            f"certificate {subject} does not chain to the configured trusted root "
            f"(issuer {certificate.issuer.rfc4514_string()})"
        )
    if now >= issuer.not_valid_after_utc or now < issuer.not_valid_before_utc:
        raise CertificateRefused(
            f"the issuing CA certificate {issuer.subject.rfc4514_string()} is not valid now"
        )
    crl_der = crl_for(issuer)
    if crl_der is None:
        raise CertificateRefused(f"revocation status of certificate {subject} cannot be obtained (no CRL)")
    try:
        crl = x509.load_der_x509_crl(crl_der)
    except ValueError as error:
        raise CertificateRefused("revocation status cannot be obtained (the CRL is malformed)") from error
    issuer_key = issuer.public_key()
    if not isinstance(issuer_key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey) or not crl.is_signature_valid(
        issuer_key
    ):
        raise CertificateRefused("revocation status cannot be obtained (the CRL is not signed by the issuer)")
    next_update = crl.next_update_utc
    if next_update is None or now >= next_update:
        raise CertificateRefused("revocation status cannot be obtained (the CRL is out of date)")
    revoked = crl.get_revoked_certificate_by_serial_number(certificate.serial_number)
    if revoked is not None:
        raise CertificateRefused(
            f"certificate {subject} was revoked on {revoked.revocation_date_utc:%Y-%m-%d %H:%M} UTC"
        )
    return CertificateCheck(
        subject=subject,
        serial_number=certificate.serial_number,
        issuer=issuer.subject.rfc4514_string(),
        not_before=certificate.not_valid_before_utc,
        not_after=certificate.not_valid_after_utc,
        checked_at=now,
        revocation="good",
        crl_this_update=crl.last_update_utc,
    )


def _trusted_issuer(
    certificate: x509.Certificate, trust_roots: Sequence[x509.Certificate]
) -> x509.Certificate | None:
    for root in trust_roots:
        if root.subject != certificate.issuer:
            continue
        try:
            certificate.verify_directly_issued_by(root)
        except (InvalidSignature, ValueError, TypeError):
            continue
        return root
    return None
