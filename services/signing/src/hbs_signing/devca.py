"""A DEVELOPMENT certificate authority: software keys on disk, NOT FOR PRODUCTION.

It exists so that the embedded default and the tests exercise real certificate chains; a
production deployment uses a licensed CA and never loads this module's root.
"""

from __future__ import annotations

import json
import os
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from asn1crypto import keys as asn1_keys
from asn1crypto import tsp as asn1_tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper

ROOT_COMMON_NAME = "HBS Development Root CA — NOT FOR PRODUCTION"
ROOT_ORGANISATION = "HBS development (not for production)"
_KEY_FILE = "root-key.pem"
_CERT_FILE = "root-cert.pem"
_TSA_KEY_FILE = "tsa-key.pem"
_TSA_CERT_FILE = "tsa-cert.pem"
_REVOKED_FILE = "revoked.json"
TSA_COMMON_NAME = "HBS Development Timestamp Authority — NOT FOR PRODUCTION"
# A CRL is re-issued at least this often, and says so in its nextUpdate.
_CRL_REISSUE = timedelta(hours=1)
_CRL_VALIDITY = timedelta(days=1)
_ROOT_VALIDITY = timedelta(days=3650)
# Certificates start a little in the past so a signer's clock skew does not make them "not yet valid".
_BACKDATE = timedelta(minutes=5)


class InProcessTimeStamper(DummyTimeStamper):
    """pyHanko's in-process TSA, with its RSA key parsed once instead of on every timestamp.

    (pyHanko re-parses the PKCS#8 key per token; with RSA key validation that was ~50 ms a time.)
    """

    def __init__(self, tsa_cert: asn1_x509.Certificate, key: rsa.RSAPrivateKey) -> None:
        der = key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        super().__init__(tsa_cert=tsa_cert, tsa_key=asn1_keys.PrivateKeyInfo.load(der))
        self._key = key
        self._fixed_attributes: list[Any] | None = None
        self._tsa_name: Any = None

    def _sign_tst_info(self, tst_info_data: bytes, md_algorithm: str, dt: datetime) -> Any:
        from asn1crypto import cms, core
        from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
        from pyhanko.sign import general
        from pyhanko.sign.general import simple_cms_attribute as untyped_attribute
        from pyhanko_certvalidator.util import get_pyca_cryptography_hash

        simple_cms_attribute: Any = untyped_attribute
        digest = hashes.Hash(get_pyca_cryptography_hash(md_algorithm))
        digest.update(tst_info_data)
        if self._fixed_attributes is None:
            # Re-encoding the TSA's ESSCertID on every timestamp costs ~3 ms; it never changes.
            fixed = [
                simple_cms_attribute("content_type", "tst_info"),
                simple_cms_attribute("signing_certificate", general.as_signing_certificate(self.tsa_cert)),
            ]
            self._fixed_attributes = [cms.CMSAttribute.load(attribute.dump()) for attribute in fixed]
        content_type, signing_certificate = self._fixed_attributes
        signed_attrs = cms.CMSAttributes(
            [
                content_type,
                simple_cms_attribute("signing_time", cms.Time({"utc_time": core.UTCTime(dt)})),
                signing_certificate,
                simple_cms_attribute("message_digest", digest.finalize()),
            ]
        )
        signature = self._key.sign(
            signed_attrs.dump(), PKCS1v15(), get_pyca_cryptography_hash(md_algorithm.upper())
        )
        return signature, signed_attrs

    def _build_tst_info(self, message_imprint: Any, dt: datetime, req: Any) -> Any:
        from asn1crypto import x509 as x509_types

        if self._tsa_name is None:
            # The TSA's name, re-read from its DER: asn1crypto copies and re-encodes a
            # certificate's parsed name on every token otherwise (~2 ms each).
            name = x509_types.GeneralName(name="directory_name", value=self.tsa_cert.subject)
            self._tsa_name = x509_types.GeneralName.load(name.dump())
        info = super()._build_tst_info(message_imprint, dt, req)
        info["tsa"] = self._tsa_name
        return info

    def _build_signed_data(
        self, tst_info_data: bytes, md_algorithm: str, signature: bytes, signed_attrs: Any
    ) -> dict[str, Any]:
        from asn1crypto import cms

        # Tagged into the SignerInfo from its DER (encoded once), not deep-copied and re-encoded.
        loaded = cms.CMSAttributes.load(signed_attrs.dump())
        return dict(super()._build_signed_data(tst_info_data, md_algorithm, signature, loaded))

    def request_tsa_response(self, req: Any) -> Any:
        # Encoded once here and read back: every later dump (the signature's CMS) reuses the bytes.
        return asn1_tsp.TimeStampResp.load(super().request_tsa_response(req).dump())

    @classmethod
    def from_der(cls, tsa_cert_der: bytes, tsa_key_der: bytes) -> InProcessTimeStamper:
        key = serialization.load_der_private_key(tsa_key_der, password=None)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise DevelopmentCAError("the TSA key must be RSA")
        return cls(asn1_x509.Certificate.load(tsa_cert_der), key)


class DevelopmentCAError(Exception):
    """The development CA's files are missing, inconsistent or the request is unusable."""


class DevelopmentCA:
    """Root, CRL issuer and RFC 3161 timestamp authority of the development PKI.

    Revocations are the CA's own records (``revoked.json`` in its folder), as a real CA keeps
    its own database; the CRL is re-signed whenever one is added and at least hourly.
    """

    def __init__(
        self,
        key: ec.EllipticCurvePrivateKey,
        certificate: x509.Certificate,
        directory: Path | None = None,
        public_url: str = "",
    ) -> None:
        self._key = key
        self._certificate = certificate
        self._directory = directory
        self.public_url = public_url.rstrip("/")
        self._lock = threading.Lock()
        self._tsa_lock = threading.Lock()
        self._revoked: dict[int, tuple[datetime, str]] = self._read_revoked()
        self._crl: tuple[datetime, bytes] | None = None
        self._tsa: tuple[rsa.RSAPrivateKey, x509.Certificate] | None = None
        self._timestamper: InProcessTimeStamper | None = None

    @property
    def directory(self) -> Path | None:
        """Where its key, certificate and revocations are kept (None: in memory only)."""
        return self._directory

    @property
    def crl_url(self) -> str:
        return f"{self.public_url}/dev-ca/crl" if self.public_url else ""

    @property
    def tsa_url(self) -> str:
        return f"{self.public_url}/dev-ca/tsa" if self.public_url else ""

    @classmethod
    def load_or_create(cls, directory: Path, public_url: str = "") -> DevelopmentCA:
        key_path, cert_path = directory / _KEY_FILE, directory / _CERT_FILE
        if key_path.exists() and cert_path.exists():
            key, certificate = cls._load(key_path, cert_path)
            return cls(key, certificate, directory, public_url)
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
        return cls(key, certificate, directory, public_url)

    @staticmethod
    def _load(key_path: Path, cert_path: Path) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        certificate = x509.load_pem_x509_certificate(cert_path.read_bytes())
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise DevelopmentCAError(f"{key_path} does not hold an EC private key")
        if key.public_key() != certificate.public_key():
            raise DevelopmentCAError(f"{key_path} does not belong to {cert_path}")
        return key, certificate

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
        valid_from: datetime | None = None,
        timestamping: bool = False,
    ) -> bytes:
        """A DER end-entity certificate for document signing with the given public key (SPKI DER).

        ``valid_from`` backdates the certificate (tests make expired ones with it);
        ``timestamping`` makes a TSA certificate (extended key usage timeStamping, critical).
        """
        if days < 1:
            raise DevelopmentCAError("a certificate must be valid for at least one day")
        try:
            public_key = serialization.load_der_public_key(public_key_der)
        except ValueError as error:
            raise DevelopmentCAError("the public key is not a DER SubjectPublicKeyInfo") from error
        if not isinstance(public_key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey):
            raise DevelopmentCAError("only RSA and EC public keys can be certified")
        now = valid_from or datetime.now(UTC)
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
        builder = (
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
        )
        if timestamping:
            builder = builder.add_extension(
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True
            )
        if self.crl_url:
            builder = builder.add_extension(_crl_distribution_point(self.crl_url), critical=False)
        certificate = builder.sign(self._key, hashes.SHA256())
        return certificate.public_bytes(serialization.Encoding.DER)

    def issue_intermediate(
        self,
        directory: Path | None,
        *,
        common_name: str,
        public_url: str = "",
        path_length: int | None = 0,
        days: int = 5 * 365,
    ) -> DevelopmentCA:
        """A DEVELOPMENT intermediate CA under this one (tests of chains), with its own CRL.

        Its certificate names this CA's CRL (where its own revocation is published); the
        certificates it issues name ``{public_url}/dev-ca/crl``.
        """
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.now(UTC)
        issuer_ski = self._certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        builder = (
            x509.CertificateBuilder()
            .subject_name(
                x509.Name(
                    [
                        x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
                        x509.NameAttribute(NameOID.ORGANIZATION_NAME, ROOT_ORGANISATION),
                        x509.NameAttribute(NameOID.COMMON_NAME, common_name),
                    ]
                )
            )
            .issuer_name(self._certificate.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - _BACKDATE)
            .not_valid_after(min(now + timedelta(days=days), self._certificate.not_valid_after_utc))
            .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
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
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(issuer_ski), critical=False
            )
        )
        if self.crl_url:
            builder = builder.add_extension(_crl_distribution_point(self.crl_url), critical=False)
        if directory is not None:
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        return DevelopmentCA(key, builder.sign(self._key, hashes.SHA256()), directory, public_url)

    # --- revocation -------------------------------------------------------------------------

    def revoke(self, serial_number: int, reason: str = "unspecified") -> None:
        """Revoke a certificate this CA issued; the next CRL lists it. Revoking twice is a no-op."""
        with self._lock:
            if serial_number in self._revoked:
                return
            self._revoked[serial_number] = (datetime.now(UTC), reason)
            self._write_revoked()
            self._crl = None

    def revocation(self, serial_number: int) -> tuple[datetime, str] | None:
        with self._lock:
            return self._revoked.get(serial_number)

    def crl_der(self) -> bytes:
        """The current CRL (DER), re-signed when a revocation is added or it is an hour old."""
        now = datetime.now(UTC)
        with self._lock:
            if self._crl is not None and now - self._crl[0] < _CRL_REISSUE:
                return self._crl[1]
            builder = (
                x509.CertificateRevocationListBuilder()
                .issuer_name(self._certificate.subject)
                .last_update(now - _BACKDATE)
                .next_update(now + _CRL_VALIDITY)
                .add_extension(x509.CRLNumber(int(now.timestamp() * 1000)), critical=False)
                .add_extension(
                    x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(
                        self._certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
                    ),
                    critical=False,
                )
            )
            for serial, (when, _reason) in sorted(self._revoked.items()):
                builder = builder.add_revoked_certificate(
                    x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(when).build()
                )
            der = builder.sign(self._key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)
            self._crl = (now, der)
            return der

    def _read_revoked(self) -> dict[int, tuple[datetime, str]]:
        if self._directory is None or not (self._directory / _REVOKED_FILE).exists():
            return {}
        raw = json.loads((self._directory / _REVOKED_FILE).read_text())
        return {
            int(serial, 16): (datetime.fromisoformat(entry["revoked_at"]), str(entry["reason"]))
            for serial, entry in raw.items()
        }

    def _write_revoked(self) -> None:
        if self._directory is None:
            return
        data = {
            format(serial, "x"): {"revoked_at": when.isoformat(), "reason": reason}
            for serial, (when, reason) in self._revoked.items()
        }
        path = self._directory / _REVOKED_FILE
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=1))
        os.replace(tmp, path)

    # --- timestamp authority ----------------------------------------------------------------

    def _tsa_material(self) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
        """The TSA's software RSA key and certificate, created on first use (not at start-up)."""
        with self._tsa_lock:  # one creator at a time: key and certificate must stay a pair
            if self._tsa is not None:
                return self._tsa
            directory = self._directory
            key_path = directory / _TSA_KEY_FILE if directory is not None else None
            cert_path = directory / _TSA_CERT_FILE if directory is not None else None
            if key_path is not None and cert_path is not None and key_path.exists() and cert_path.exists():
                key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
                certificate = x509.load_pem_x509_certificate(cert_path.read_bytes())
                if not isinstance(key, rsa.RSAPrivateKey):
                    raise DevelopmentCAError(f"{key_path} does not hold an RSA private key")
                if key.public_key() != certificate.public_key():
                    raise DevelopmentCAError(f"{key_path} does not belong to {cert_path}")
            else:
                key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
                spki = key.public_key().public_bytes(
                    serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
                )
                certificate = x509.load_der_x509_certificate(
                    self.issue(
                        spki,
                        common_name=TSA_COMMON_NAME,
                        organisation=ROOT_ORGANISATION,
                        role="Timestamp authority",
                        days=3 * 365,
                        timestamping=True,
                    )
                )
                if key_path is not None and cert_path is not None:
                    key_pem = key.private_bytes(
                        serialization.Encoding.PEM,
                        serialization.PrivateFormat.PKCS8,
                        serialization.NoEncryption(),
                    )
                    # A half pair left by a crash is replaced (it was never used to sign).
                    key_path.unlink(missing_ok=True)
                    cert_path.unlink(missing_ok=True)
                    _write_new(key_path, key_pem, 0o600)
                    _write_new(cert_path, certificate.public_bytes(serialization.Encoding.PEM), 0o644)
            self._tsa = (key, certificate)
            return self._tsa

    @property
    def tsa_certificate_der(self) -> bytes:
        return self._tsa_material()[1].public_bytes(serialization.Encoding.DER)

    @property
    def tsa_key_der(self) -> bytes:
        """The TSA's software key (PKCS#8 DER), for batch workers' in-process TSA. DEVELOPMENT ONLY."""
        return self._tsa_material()[0].private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    def timestamper(self) -> InProcessTimeStamper:
        """An in-process RFC 3161 client+server: signing never makes an HTTP call to itself."""
        with self._lock:
            cached = self._timestamper
        if cached is not None:
            return cached
        key, certificate = self._tsa_material()
        stamper = InProcessTimeStamper(
            asn1_x509.Certificate.load(certificate.public_bytes(serialization.Encoding.DER)), key
        )
        with self._lock:
            self._timestamper = stamper
        return stamper

    def timestamp_reply(self, request_der: bytes) -> bytes:
        """Answer an RFC 3161 TimeStampReq (DER) with a TimeStampResp (DER)."""
        try:
            request = asn1_tsp.TimeStampReq.load(request_der)
            request.native  # noqa: B018 - parse the whole structure now, not lazily later
        except ValueError as error:
            raise DevelopmentCAError("not an RFC 3161 timestamp request") from error
        response: asn1_tsp.TimeStampResp = self.timestamper().request_tsa_response(request)
        return bytes(response.dump())


def _crl_distribution_point(url: str) -> x509.CRLDistributionPoints:
    return x509.CRLDistributionPoints(
        [
            x509.DistributionPoint(
                full_name=[x509.UniformResourceIdentifier(url)],
                relative_name=None,
                reasons=None,
                crl_issuer=None,
            )
        ]
    )


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
