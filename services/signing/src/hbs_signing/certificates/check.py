"""The check before every signature (Đ2): within validity, chained to a trusted root, not revoked.

The chain may run through intermediate CAs (from the imported chain); each link's CRL is checked.

Hard-fail: when the revocation status cannot be had (no CRL, a CRL not signed by the issuer,
an out-of-date CRL), the signature is refused, never made "without revocation data".
"""

from __future__ import annotations

import itertools
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


CrlSource = Callable[[x509.Certificate, x509.Certificate], bytes | None]
"""The current CRL (DER) covering a certificate, given it and its issuer, or None when none can be had."""

MAX_CHAIN = 6  # leaf, intermediates, root: real Vietnamese chains have one or two intermediates


def check_certificate(
    certificate_der: bytes,
    trust_roots: Sequence[x509.Certificate],
    crl_for: CrlSource,
    *,
    intermediates: Sequence[x509.Certificate] = (),
    at: datetime | None = None,
) -> CertificateCheck:
    """Refuse (CertificateRefused, naming the reason) unless the certificate may sign now.

    The chain is built from the certificate through ``intermediates`` (the imported chain) to one
    of ``trust_roots``; every certificate on it must be valid now and every one but the root not
    revoked according to its issuer's current CRL.
    """
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
    path = build_path(certificate, intermediates, trust_roots)
    for ca_certificate in path[1:]:
        if now >= ca_certificate.not_valid_after_utc or now < ca_certificate.not_valid_before_utc:
            raise CertificateRefused(
                f"the issuing CA certificate {ca_certificate.subject.rfc4514_string()} is not valid now"
            )
    this_update = now
    for child, issuer in itertools.pairwise(path):
        this_update = min(this_update, _not_revoked(child, issuer, crl_for(child, issuer), now))
    return CertificateCheck(
        subject=subject,
        serial_number=certificate.serial_number,
        issuer=path[1].subject.rfc4514_string(),
        not_before=certificate.not_valid_before_utc,
        not_after=certificate.not_valid_after_utc,
        checked_at=now,
        revocation="good",
        crl_this_update=this_update,
    )


def build_path(
    certificate: x509.Certificate,
    intermediates: Sequence[x509.Certificate],
    trust_roots: Sequence[x509.Certificate],
) -> list[x509.Certificate]:
    """[certificate, intermediate..., root]: each issued (signature checked) by the next."""
    path = [certificate]
    current = certificate
    for _ in range(MAX_CHAIN):
        root = _issued_by(current, trust_roots)
        if root is not None:
            return [*path, root]
        named = [c for c in intermediates if c.subject == current.issuer and c not in path]
        if not named:
            if current is certificate:
                raise CertificateRefused(
                    f"certificate {certificate.subject.rfc4514_string()} does not chain to the configured "
                    f"trusted root (issuer {current.issuer.rfc4514_string()})"
                )
            raise CertificateRefused(
                f"the certificate chain is broken: no trusted root or imported CA certificate for "
                f"{current.issuer.rfc4514_string()}, the issuer of {current.subject.rfc4514_string()}"
            )
        issuer = _issued_by(current, named)
        if issuer is None:
            raise CertificateRefused(
                f"the certificate chain is broken: the signature on {current.subject.rfc4514_string()} "
                f"does not verify with the imported CA certificate {named[0].subject.rfc4514_string()}"
            )
        name = issuer.subject.rfc4514_string()
        try:
            constraints = issuer.extensions.get_extension_for_class(x509.BasicConstraints).value
        except x509.ExtensionNotFound:
            constraints = None
        if constraints is None or not constraints.ca:
            raise CertificateRefused(f"the certificate chain is broken: {name} is not a CA certificate")
        below = len(path) - 1  # intermediates already under this one
        if constraints.path_length is not None and below > constraints.path_length:
            raise CertificateRefused(
                f"the certificate chain is broken: {name} allows {constraints.path_length} CA certificates "
                f"below it, the chain has {below}"
            )
        path.append(issuer)
        current = issuer
    raise CertificateRefused(f"the certificate chain is longer than {MAX_CHAIN} certificates")


def _not_revoked(
    certificate: x509.Certificate, issuer: x509.Certificate, crl_der: bytes | None, now: datetime
) -> datetime:
    """The CRL's thisUpdate, after checking it is the issuer's, current, and does not list the certificate."""
    subject = certificate.subject.rfc4514_string()
    if crl_der is None:
        raise CertificateRefused(f"revocation status of certificate {subject} cannot be obtained (no CRL)")
    try:
        crl = x509.load_der_x509_crl(crl_der)
    except ValueError as error:
        raise CertificateRefused("revocation status cannot be obtained (the CRL is malformed)") from error
    issuer_key = issuer.public_key()
    if (
        crl.issuer != issuer.subject
        or not isinstance(issuer_key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey)
        or not crl.is_signature_valid(issuer_key)
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
    return crl.last_update_utc


def _issued_by(
    certificate: x509.Certificate, candidates: Sequence[x509.Certificate]
) -> x509.Certificate | None:
    for candidate in candidates:
        if candidate.subject != certificate.issuer:
            continue
        try:
            certificate.verify_directly_issued_by(candidate)
        except (InvalidSignature, ValueError, TypeError):
            continue
        return candidate
    return None
