"""`examples/verify_offline.py` (issue 13 §6) against the running stack: a teacher's signed score
sheet verifies offline from the PDF alone with the school's CA as the only trust root, and its
status online with a client-credentials token the office registered; a changed byte, a foreign
trust root and a revoked client each make it say no."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from hbs_devtools.drive import SystemClient

from .factories import SchoolFactory

# Not rerun on PostgreSQL (no `db` marker): it tests the example client, whose checks read no
# database; what it needs of the stack runs on PostgreSQL in the walking skeleton (a signed sheet),
# identity's test_clients (client credentials) and signing's test_machine_access (/v1/status by a
# client's token).
pytestmark = [pytest.mark.broker, pytest.mark.hsm, pytest.mark.timeout(300)]
EXAMPLE = Path(__file__).parent.parent / "examples" / "verify_offline.py"


def _run(
    system: SystemClient, pdf: Path, ca: Path, client: dict[str, Any], *extra: str
) -> tuple[int, dict[str, Any]]:
    done = subprocess.run(
        [
            sys.executable,
            str(EXAMPLE),
            str(pdf),
            "--ca",
            str(ca),
            "--identity",
            system.stack.url("identity"),
            "--signing",
            system.stack.url("signing"),
            "--client-id",
            client["client_id"],
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "HBS_CLIENT_SECRET": client["client_secret"]},
        check=False,
    )
    assert done.stdout.startswith("{"), done.stderr
    return done.returncode, json.loads(done.stdout)


def _foreign_root(path: Path) -> Path:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Không phải CA của trường")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return path


def test_an_outside_system_verifies_a_signed_sheet_offline_and_checks_its_status(
    system: SystemClient, school: SchoolFactory, tmp_path: Path
) -> None:
    made = school.school_class(students=2, subjects=("TOAN",), homeroom=False)
    teacher = made.teachers["TOAN"]
    token = system.token(teacher.username)
    sheet = next(s for s in system.sheets(token) if s["class_name"] == made.name)
    school.fill_scores(teacher, sheet["id"])
    sheet = next(s for s in system.sheets(token) if s["id"] == sheet["id"])
    system.submit_and_sign(token, sheet)
    signed = system.wait_for_state(token, sheet["id"], "signed")
    with system.client("signing", token) as signing:
        pdf = tmp_path / "so-diem.pdf"
        pdf.write_bytes(signing.get(f"/documents/{signed['document_id']}/pdf").content)
        ca = tmp_path / "school-ca.pem"
        ca.write_bytes(signing.get("/dev-ca/root.pem").content)
    admin = system.token("quantri")
    with system.client("identity", admin) as identity:
        made_client = identity.post("/oauth/clients", json={"name": "Trường nhận", "scopes": ["verify"]})
        assert made_client.status_code == 201, made_client.text
        client: dict[str, Any] = made_client.json()

        code, report = _run(system, pdf, ca, client)
        assert code == 0, report
        assert report["offline"]["valid"] is True
        assert report["offline"]["signature_count"] == 1
        (one,) = report["offline"]["signatures"]
        assert one["trusted"] is True
        assert one["time"] is not None
        assert report["online"]["status"] == "current"
        assert report["online"]["sha256"] == report["sha256"]

        # Offline alone decides a changed file: one flipped byte inside the signed content.
        changed = bytearray(pdf.read_bytes())
        found = re.search(rb"/ByteRange\s*\[\s*0\s+(\d+)", changed)
        assert found is not None
        changed[int(found.group(1)) // 2] ^= 0x01  # in the first range the signature covers
        tampered = tmp_path / "changed.pdf"
        tampered.write_bytes(bytes(changed))
        code, report = _run(system, tampered, ca, client, "--offline-only")
        assert code == 1
        assert report["offline"]["valid"] is False

        # The trust root is the school's CA: another root trusts nothing in the file.
        code, report = _run(system, pdf, _foreign_root(tmp_path / "other.pem"), client, "--offline-only")
        assert code == 1
        assert report["offline"]["signatures"][0]["trusted"] is False

        # A revoked client gets no token any more.
        assert identity.post(f"/oauth/clients/{client['id']}/revoke").status_code == 200
    refused = subprocess.run(
        [
            sys.executable,
            str(EXAMPLE),
            str(pdf),
            "--ca",
            str(ca),
            "--identity",
            system.stack.url("identity"),
            "--signing",
            system.stack.url("signing"),
            "--client-id",
            client["client_id"],
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "HBS_CLIENT_SECRET": client["client_secret"]},
        check=False,
    )
    assert refused.returncode != 0
    assert "invalid_client" in refused.stderr
