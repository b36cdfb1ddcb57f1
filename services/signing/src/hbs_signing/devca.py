"""A DEVELOPMENT certificate authority: software keys on disk, NOT FOR PRODUCTION.

It exists so that the embedded default and the tests exercise real certificate chains; a
production deployment uses a licensed CA and never loads this module's root.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

ROOT_COMMON_NAME = "HBS Development Root CA — NOT FOR PRODUCTION"
ROOT_ORGANISATION = "HBS development (not for production)"
_KEY_FILE = "root-key.pem"
_CERT_FILE = "root-cert.pem"
_ROOT_VALIDITY = timedelta(days=3650)
# Certificates start a little in the past so a signer's clock skew does not make them "not yet valid".
_BACKDATE = timedelta(minutes=5)


class DevelopmentCAError(Exception):
    """The development CA's files are missing, inconsistent or the request is unusable."""


class DevelopmentCA:
    def __init__(self, key: ec.EllipticCurvePrivateKey, certificate: x509.Certificate) -> None:
        self._key = key
        self._certificate = certificate

    @classmethod
    def load_or_create(cls, directory: Path) -> DevelopmentCA:
        key_path, cert_path = directory / _KEY_FILE, directory / _CERT_FILE
        if key_path.exists() and cert_path.exists():
            return cls._load(key_path, cert_path)
        if key_path.exists() or cert_path.exists():
            raise DevelopmentCAError(
                f"development CA in {directory} has only one of {_KEY_FILE} and {_CERT_FILE}; "
                "remove the folder to start a new CA"
            )
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        key = ec.generate_private_key(ec.SECP256R1())
        certificate = _self_signed_root(key)
        key_pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        _write_new(key_path, key_pem, 0o600)
        _write_new(cert_path, certificate.public_bytes(serialization.Encoding.PEM), 0o644)
        return cls(key, certificate)

    @classmethod
    def _load(cls, key_path: Path, cert_path: Path) -> DevelopmentCA:
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        certificate = x509.load_pem_x509_certificate(cert_path.read_bytes())
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise DevelopmentCAError(f"{key_path} does not hold an EC private key")
        if key.public_key() != certificate.public_key():
            raise DevelopmentCAError(f"{key_path} does not belong to {cert_path}")
        return cls(key, certificate)

    @property
    def root_certificate(self) -> x509.Certificate:
        return self._certificate

    @property
    def root_der(self) -> bytes:
        return self._certificate.public_bytes(serialization.Encoding.DER)

    @property
    def root_pem(self) -> bytes:
        return self._certificate.public_bytes(serialization.Encoding.PEM)

    def issue(
        self,
        public_key_der: bytes,
        *,
        common_name: str,
        organisation: str,
        role: str,
        days: int = 365,
    ) -> bytes:
        """A DER end-entity certificate for document signing with the given public key (SPKI DER)."""
        if days < 1:
            raise DevelopmentCAError("a certificate must be valid for at least one day")
        try:
            public_key = serialization.load_der_public_key(public_key_der)
        except ValueError as error:
            raise DevelopmentCAError("the public key is not a DER SubjectPublicKeyInfo") from error
        if not isinstance(public_key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey):
            raise DevelopmentCAError("only RSA and EC public keys can be certified")
        now = datetime.now(UTC)
        # A certificate must not outlive the root that vouches for it.
        not_after = min(now + timedelta(days=days), self._certificate.not_valid_after_utc)
        issuer_ski = self._certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        subject = x509.Name(
            [
                x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
                x509.NameAttribute(NameOID.TITLE, role),
                x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            ]
        )
        certificate = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(self._certificate.subject)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - _BACKDATE)
            .not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=True,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=False,
                    crl_sign=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(issuer_ski),
                critical=False,
            )
            .sign(self._key, hashes.SHA256())
        )
        return certificate.public_bytes(serialization.Encoding.DER)


def _self_signed_root(key: ec.EllipticCurvePrivateKey) -> x509.Certificate:
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, ROOT_ORGANISATION),
            x509.NameAttribute(NameOID.COMMON_NAME, ROOT_COMMON_NAME),
        ]
    )
    now = datetime.now(UTC)
    public_key = key.public_key()
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _BACKDATE)
        .not_valid_after(now + _ROOT_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .sign(key, hashes.SHA256())
    )


def _write_new(path: Path, data: bytes, mode: int) -> None:
    # O_EXCL: never overwrite a key another process has just written.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
