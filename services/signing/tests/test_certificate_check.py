"""The check before every signature: validity, trusted root, revocation (hard-fail), named reasons."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from hbs_signing.activations.service import ActivationScope
from hbs_signing.certificates.check import CertificateRefused, check_certificate
from hbs_signing.devca import DevelopmentCA


@pytest.fixture(scope="module")
def spki() -> bytes:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _issue(ca: DevelopmentCA, spki: bytes, **kw: object) -> bytes:
    return ca.issue(spki, common_name="Nguyễn Thị Hoa", organisation="Trường", role="subject_teacher", **kw)  # type: ignore[arg-type]


def test_a_good_certificate_passes_and_the_check_is_recorded(tmp_path: Path, spki: bytes) -> None:
    ca = DevelopmentCA.load_or_create(tmp_path / "ca", "http://127.0.0.1:9")
    der = _issue(ca, spki)
    result = check_certificate(der, [ca.root_certificate], lambda _certificate, _issuer: ca.crl_der())
    assert result.revocation == "good"
    points = x509.load_der_x509_certificate(der).extensions.get_extension_for_class(
        x509.CRLDistributionPoints
    )
    assert points.value[0].full_name[0].value == "http://127.0.0.1:9/dev-ca/crl"


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("expired", "expired on"),
        ("not_yet", "not valid yet"),
        ("foreign", "does not chain to the configured trusted root"),
        ("no_crl", "cannot be obtained (no CRL)"),
        ("stale_crl", "CRL is out of date"),
        ("forged_crl", "not signed by the issuer"),
        ("revoked", "was revoked on"),
    ],
)
def test_refusals_name_the_reason(tmp_path: Path, spki: bytes, case: str, reason: str) -> None:
    ca = DevelopmentCA.load_or_create(tmp_path / "ca")
    other = DevelopmentCA.load_or_create(tmp_path / "other")
    now = datetime.now(UTC)
    der = _issue(ca, spki)
    crl_for = lambda _certificate, _issuer: ca.crl_der()  # noqa: E731
    at = None
    if case == "expired":
        der = _issue(ca, spki, valid_from=now - timedelta(days=10), days=5)
    elif case == "not_yet":
        at = now - timedelta(days=1)
    elif case == "foreign":
        der = _issue(other, spki)
    elif case == "no_crl":
        crl_for = lambda _certificate, _issuer: None  # noqa: E731
    elif case == "stale_crl":
        at = now + timedelta(days=2)
    elif case == "forged_crl":
        crl_for = lambda _certificate, _issuer: other.crl_der()  # noqa: E731
    elif case == "revoked":
        ca.revoke(x509.load_der_x509_certificate(der).serial_number, "keyCompromise")
    with pytest.raises(CertificateRefused, match=re.escape(reason)):
        check_certificate(der, [ca.root_certificate], crl_for, at=at)


def test_revocations_survive_a_restart(tmp_path: Path, spki: bytes) -> None:
    ca = DevelopmentCA.load_or_create(tmp_path / "ca")
    serial = x509.load_der_x509_certificate(_issue(ca, spki)).serial_number
    ca.revoke(serial, "superseded")
    again = DevelopmentCA.load_or_create(tmp_path / "ca")
    assert again.revocation(serial) is not None
    assert x509.load_der_x509_crl(again.crl_der()).get_revoked_certificate_by_serial_number(serial)


def test_an_activation_covers_its_subjects_or_its_batch_only() -> None:
    subject, batch = uuid.uuid4(), uuid.uuid4()
    by_subject = ActivationScope(frozenset([subject]), None)
    by_batch = ActivationScope(frozenset(), batch)
    assert by_subject.covers(subject, None)
    assert not by_subject.covers(uuid.uuid4(), None)
    assert not by_subject.covers(uuid.uuid4(), batch)
    assert by_batch.covers(uuid.uuid4(), batch)
    assert not by_batch.covers(uuid.uuid4(), None)
    assert not by_batch.covers(subject, uuid.uuid4())


def _crls_of(*cas: DevelopmentCA) -> Any:
    """The CRL source of a PKI: each certificate's CRL comes from the CA that issued it."""
    by_subject = {ca.root_certificate.subject: ca for ca in cas}

    def crl_for(_certificate: x509.Certificate, issuer: x509.Certificate) -> bytes | None:
        ca = by_subject.get(issuer.subject)
        return ca.crl_der() if ca is not None and ca.root_certificate == issuer else None

    return crl_for


def test_a_certificate_from_an_intermediate_chains_to_the_root_with_every_crl(
    tmp_path: Path, spki: bytes
) -> None:
    root = DevelopmentCA.load_or_create(tmp_path / "root", "http://127.0.0.1:9/root")
    intermediate = root.issue_intermediate(
        tmp_path / "intermediate", common_name="HBS CA cấp dưới", public_url="http://127.0.0.1:9/sub"
    )
    der = _issue(intermediate, spki)
    checked: list[str] = []
    crl_for = _crls_of(root, intermediate)

    def recording(certificate: x509.Certificate, issuer: x509.Certificate) -> bytes | None:
        checked.append(certificate.subject.rfc4514_string())
        return crl_for(certificate, issuer)  # type: ignore[no-any-return]

    result = check_certificate(
        der, [root.root_certificate], recording, intermediates=[intermediate.root_certificate]
    )
    assert result.issuer == intermediate.root_certificate.subject.rfc4514_string()
    # Both links were checked against their issuer's CRL: the teacher's, then the intermediate's.
    assert checked == [
        x509.load_der_x509_certificate(der).subject.rfc4514_string(),
        intermediate.root_certificate.subject.rfc4514_string(),
    ]
    constraints = intermediate.root_certificate.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.value.ca
    assert constraints.value.path_length == 0
    points = intermediate.root_certificate.extensions.get_extension_for_class(x509.CRLDistributionPoints)
    assert points.value[0].full_name[0].value == "http://127.0.0.1:9/root/dev-ca/crl"


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("missing", "does not chain to the configured trusted root"),
        ("missing_upper", "chain is broken: no trusted root or imported CA certificate for"),
        ("impostor", "does not verify with the imported CA certificate"),
        ("not_a_ca", "is not a CA certificate"),
        ("too_deep", "allows 0 CA certificates below it, the chain has 1"),
        ("intermediate_revoked", "was revoked on"),
        ("intermediate_without_crl", "cannot be obtained (no CRL)"),
    ],
)
def test_a_broken_chain_is_refused_naming_the_reason(
    tmp_path: Path, spki: bytes, case: str, reason: str
) -> None:
    from cryptography.hazmat.primitives.asymmetric import ec

    root = DevelopmentCA.load_or_create(tmp_path / "root")
    intermediate = root.issue_intermediate(tmp_path / "intermediate", common_name="HBS CA cấp dưới")
    issuer = intermediate
    imported = [intermediate.root_certificate]
    crl_for = _crls_of(root, intermediate)
    if case == "missing":
        imported = []
    elif case == "missing_upper":
        # Issued by a CA under the intermediate; the intermediate itself was not imported.
        issuer = intermediate.issue_intermediate(tmp_path / "lower", common_name="HBS CA tầng ba")
        imported = [issuer.root_certificate]
    elif case == "impostor":
        # Same name as the real intermediate, but another key (issued by another root).
        other = DevelopmentCA.load_or_create(tmp_path / "other")
        imported = [
            other.issue_intermediate(tmp_path / "fake", common_name="HBS CA cấp dưới").root_certificate
        ]
    elif case == "not_a_ca":
        key = ec.generate_private_key(ec.SECP256R1())
        spki_ec = key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        end_entity = x509.load_der_x509_certificate(
            root.issue(spki_ec, common_name="Không phải CA", organisation="Trường", role="GV")
        )
        issuer = DevelopmentCA(key, end_entity)
        imported = [end_entity]
    elif case == "too_deep":
        issuer = intermediate.issue_intermediate(tmp_path / "lower", common_name="HBS CA tầng ba")
        imported = [issuer.root_certificate, intermediate.root_certificate]
        crl_for = _crls_of(root, intermediate, issuer)
    elif case == "intermediate_revoked":
        root.revoke(intermediate.root_certificate.serial_number, "cACompromise")
    elif case == "intermediate_without_crl":
        crl_for = _crls_of(intermediate)
    der = _issue(issuer, spki)
    with pytest.raises(CertificateRefused, match=re.escape(reason)):
        check_certificate(der, [root.root_certificate], crl_for, intermediates=imported)
