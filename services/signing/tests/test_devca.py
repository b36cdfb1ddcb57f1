"""The development CA: a clearly labelled root and document-signing end-entity certificates."""

from __future__ import annotations

import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from hbs_signing.devca import DevelopmentCA, DevelopmentCAError


def _spki(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def test_root_is_created_labelled_and_kept_private(tmp_path: Path) -> None:
    ca = DevelopmentCA.load_or_create(tmp_path / "ca")

    root = x509.load_der_x509_certificate(ca.root_der)
    common_name = root.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    assert common_name == "HBS Development Root CA — NOT FOR PRODUCTION"
    assert root.issuer == root.subject
    assert root.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    root.verify_directly_issued_by(root)
    assert x509.load_pem_x509_certificate(ca.root_pem) == root
    key_files = list((tmp_path / "ca").glob("*key*"))
    assert len(key_files) == 1
    assert stat.S_IMODE(key_files[0].stat().st_mode) == 0o600


def test_root_is_reloaded_not_replaced(tmp_path: Path) -> None:
    first = DevelopmentCA.load_or_create(tmp_path / "ca")
    second = DevelopmentCA.load_or_create(tmp_path / "ca")

    assert second.root_der == first.root_der


def test_half_a_ca_is_an_error(tmp_path: Path) -> None:
    DevelopmentCA.load_or_create(tmp_path / "ca")
    (tmp_path / "ca" / "root-cert.pem").unlink()

    with pytest.raises(DevelopmentCAError):
        DevelopmentCA.load_or_create(tmp_path / "ca")


def test_issued_certificate_is_for_document_signing(tmp_path: Path, rsa_key: rsa.RSAPrivateKey) -> None:
    ca = DevelopmentCA.load_or_create(tmp_path / "ca")
    root = x509.load_der_x509_certificate(ca.root_der)

    der = ca.issue(
        _spki(rsa_key),
        common_name="Nguyễn Thị Hằng",
        organisation="Trường THPT Chuyên Thái Bình",
        role="Giáo viên bộ môn",
    )

    cert = x509.load_der_x509_certificate(der)
    cert.verify_directly_issued_by(root)
    assert cert.public_key() == rsa_key.public_key()
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "Nguyễn Thị Hằng"
    assert cert.subject.get_attributes_for_oid(NameOID.TITLE)[0].value == "Giáo viên bộ môn"
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical
    assert usage.value.digital_signature
    assert usage.value.content_commitment
    assert not usage.value.key_cert_sign
    assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    aki = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    root_ski = root.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert aki.key_identifier == root_ski.digest
    ski = cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert ski == x509.SubjectKeyIdentifier.from_public_key(rsa_key.public_key())
    now = datetime.now(UTC)
    assert cert.not_valid_before_utc <= now
    assert abs(cert.not_valid_after_utc - (now + timedelta(days=365))) < timedelta(minutes=1)


def test_serials_are_random(tmp_path: Path, rsa_key: rsa.RSAPrivateKey) -> None:
    ca = DevelopmentCA.load_or_create(tmp_path / "ca")

    serials = {
        x509.load_der_x509_certificate(
            ca.issue(_spki(rsa_key), common_name="A", organisation="B", role="C")
        ).serial_number
        for _ in range(3)
    }

    assert len(serials) == 3


def test_ec_keys_can_be_certified_and_validity_is_honoured(tmp_path: Path) -> None:
    ca = DevelopmentCA.load_or_create(tmp_path / "ca")
    key = ec.generate_private_key(ec.SECP256R1())

    cert = x509.load_der_x509_certificate(
        ca.issue(_spki(key), common_name="Con dấu", organisation="Trường", role="Con dấu", days=30)
    )

    assert cert.not_valid_after_utc - cert.not_valid_before_utc < timedelta(days=31)


def test_garbage_public_key_is_refused(tmp_path: Path) -> None:
    ca = DevelopmentCA.load_or_create(tmp_path / "ca")

    with pytest.raises(DevelopmentCAError, match="SubjectPublicKeyInfo"):
        ca.issue(b"not a key", common_name="A", organisation="B", role="C")
