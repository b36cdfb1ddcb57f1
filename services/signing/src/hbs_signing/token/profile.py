"""What a signature is made of: its profile, long-term data, per-signature options, and the
key facts and prepared signer the token hands out."""

from __future__ import annotations

from dataclasses import dataclass

from asn1crypto import crl as asn1_crl
from asn1crypto import x509 as asn1_x509
from pyhanko.sign import fields
from pyhanko.sign.pkcs11 import PKCS11Signer
from pyhanko.sign.timestamps.api import TimeStamper


@dataclass(frozen=True)
class LongTermData:
    """What makes a signature B-T / B-LT / B-LTA (DESIGN.md Signing; architecture.md).

    ``certificates`` and ``crls`` (DER) go into the document's DSS *in the same incremental
    update as the signature*, so the signature covers its own validation data and the last
    signature still covers the whole file (poppler's pdfsig: "Total document signed").
    """

    timestamper: TimeStamper | None = None
    certificates: tuple[bytes, ...] = ()
    crls: tuple[bytes, ...] = ()
    archive_timestamp: bool = False
    """Add a document timestamp after the signature (B-LTA)."""


@dataclass(frozen=True)
class SignatureOptions:
    """Per-signature choices: where the visible stamp goes and whether the document is closed."""

    stamp_box: tuple[int, int, int, int] | None = None
    stamp_page: int = -1
    lock_document: bool = False
    """After this signature no change at all is allowed (the field's /Lock with /P 1)."""


@dataclass(frozen=True)
class KeyInfo:
    """What the token reports about a private key: proof that it cannot leave the token."""

    label: str
    key_type: str
    bits: int
    sensitive: bool
    always_sensitive: bool
    extractable: bool
    never_extractable: bool
    local: bool  # generated inside the token, not imported
    persistent: bool  # a token object, kept after the session ends
    private_value_readable: bool


@dataclass(frozen=True)
class SignatureProfile:
    """Everything about how a signature is made; B-LT/B-LTA extend this one place."""

    subfilter: fields.SigSeedSubFilter = fields.SigSeedSubFilter.PADES
    md_algorithm: str = "sha256"
    # Reserving the space up front skips pyHanko's size-estimating dry run (about half the time).
    # Enough for the signer's chain and a timestamp token with the TSA's chain (B-T and up).
    bytes_reserved: int = 16384
    # Lower right of the last page, under the signer's caption on the placeholder sheet.
    stamp_box: tuple[int, int, int, int] = (326, 86, 539, 170)
    stamp_font_size: int = 9
    stamp_text: str = "Ký bởi: %(signer)s\nLý do: %(reason)s\nNơi ký: %(location)s\nThời gian: %(ts)s"
    # ISO with the offset: SchoolTimeStampStyle shows it in Vietnam's time (dd/mm/yyyy HH:mm).
    stamp_timestamp_format: str = "%Y-%m-%dT%H:%M:%S%z"


SIGNATURE_PROFILE = SignatureProfile()


@dataclass(frozen=True)
class PreparedSigner:
    """A checked key + certificate and parsed validation data, reusable for many signatures."""

    key_label: str
    signer: PKCS11Signer
    long_term: LongTermData
    dss_certificates: tuple[asn1_x509.Certificate, ...]
    dss_crls: tuple[asn1_crl.CertificateList, ...]


@dataclass(frozen=True)
class SignatureText:
    signer_name: str
    reason: str
    location: str
