"""The walking skeleton, end to end through the real broker, SoftHSM2 and the four services.

A teacher signs in on the portal and signs a score sheet; grades writes the state and an outbox
event; signing consumes it, signs a PDF with the teacher's key in the token, stores it and emits
signing.completed; grades advances; the portal offers the signed PDF, which validates.
"""

from __future__ import annotations

import re
import subprocess
import time
import uuid
from io import BytesIO
from pathlib import Path
from typing import Any

import httpx
import pytest
from asn1crypto import pem
from asn1crypto import x509 as asn1_x509
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext

from hbs_shared.demo import DEMO_PASSWORD, demo_person
from hbs_shared.devstack.stack import Stack

pytestmark = [pytest.mark.db, pytest.mark.broker, pytest.mark.hsm]


def token_for(stack: Stack, username: str) -> str:
    response = httpx.post(
        stack.url("identity") + "/auth/token",
        json={"username": username, "password": DEMO_PASSWORD},
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def api(stack: Stack, service: str, token: str | None = None, **headers: str) -> httpx.Client:
    if token:
        headers["authorization"] = f"Bearer {token}"
    return httpx.Client(base_url=stack.url(service), headers=headers, timeout=30)


def sheet_named(sheets: list[dict[str, Any]], class_name: str, subject: str) -> dict[str, Any]:
    return next(s for s in sheets if s["class_name"] == class_name and s["subject"] == subject)


def wait_for_state(stack: Stack, token: str, sheet_id: str, state: str) -> dict[str, Any]:
    deadline = time.monotonic() + 90
    with api(stack, "grades", token) as grades:
        while True:
            sheet: dict[str, Any] = grades.get(f"/sheets/{sheet_id}").json()
            if sheet["state"] == state:
                return sheet
            assert time.monotonic() < deadline, f"sheet still {sheet['state']}: {sheet}"
            time.sleep(0.3)


def validate(pdf: bytes, root_pem: bytes) -> Any:
    _, _, der = pem.unarmor(root_pem)
    context = ValidationContext(trust_roots=[asn1_x509.Certificate.load(der)])
    signatures = PdfFileReader(BytesIO(pdf)).embedded_signatures
    assert len(signatures) == 1
    return validate_pdf_signature(signatures[0], context)


def test_teacher_signs_a_sheet_through_the_portal_and_gets_a_valid_signed_pdf(
    stack: Stack, tmp_path: Path
) -> None:
    with httpx.Client(base_url=stack.url("portal"), timeout=30) as browser:
        assert "Đăng nhập" in browser.get("/login").text
        signed_in = browser.post("/login", data={"username": "gv.toan", "password": DEMO_PASSWORD})
        assert signed_in.status_code == 303
        assert signed_in.headers["location"] == "/sheets"
        page = browser.get("/sheets").text
        assert "11 Toán chuyên" in page
        assert "Nộp và ký số" in page
        row = re.search(
            r'<tr data-sheet="([0-9a-f-]{36})">\s*<td>10A1</td><td>Toán</td>.*?'
            r'name="csrf" value="([^"]+)".*?name="version" value="(\d+)"',
            page,
            re.S,
        )
        assert row is not None, page
        sheet_id, csrf, version = row.groups()

        forged = browser.post(f"/sheets/{sheet_id}/sign", data={"csrf": "x" * 20, "version": version})
        assert forged.status_code == 403

        started = browser.post(f"/sheets/{sheet_id}/sign", data={"csrf": csrf, "version": version})
        assert started.status_code == 303

        teacher = token_for(stack, "gv.toan")
        sheet = wait_for_state(stack, teacher, sheet_id, "signed")
        assert sheet["document_id"]
        assert re.fullmatch(r"[0-9a-f]{64}", sheet["document_sha256"])

        page = browser.get("/sheets").text
        assert f"/sheets/{sheet_id}/document" in page
        assert "đã ký" in page
        pdf = browser.get(f"/sheets/{sheet_id}/document")
        assert pdf.status_code == 200
        assert pdf.headers["content-type"] == "application/pdf"

    root_pem = httpx.get(stack.url("signing") + "/dev-ca/root.pem").content
    status = validate(pdf.content, root_pem)
    details = status.pretty_print_details()
    assert (status.intact, status.valid, status.trusted) == (True, True, True), details
    assert "Nguyễn Thị Hoa" in status.signing_cert.subject.human_friendly

    # An independent validator sees one signature over the whole file, intact.
    path = tmp_path / "signed.pdf"
    path.write_bytes(pdf.content)
    report = subprocess.run(["pdfsig", str(path)], capture_output=True, text=True, check=False)
    assert "Signature #1" in report.stdout
    assert "Signature is Valid" in report.stdout
    assert "Total document signed" in report.stdout


def test_signed_pdf_fails_validation_against_another_root(stack: Stack) -> None:
    teacher = token_for(stack, "gv.van")
    with api(stack, "grades", teacher) as grades:
        sheet = sheet_named(grades.get("/sheets").json(), "10A1", "Ngữ văn")
        grades.post(f"/sheets/{sheet['id']}/submit", json={"expected_version": sheet["version"]})
        current = grades.get(f"/sheets/{sheet['id']}").json()
        grades.post(f"/sheets/{sheet['id']}/sign", json={"expected_version": current["version"]})
    done = wait_for_state(stack, teacher, sheet["id"], "signed")
    with api(stack, "signing", teacher) as signing:
        pdf = signing.get(f"/documents/{done['document_id']}/pdf").content
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, "Some other root")])
    now = dt.datetime.now(dt.UTC)
    other = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    status = validate(pdf, other.public_bytes(serialization.Encoding.PEM))
    assert status.intact
    assert not status.trusted


def test_correlation_id_travels_from_the_request_to_the_signing_handler(stack: Stack) -> None:
    teacher = token_for(stack, "gv.toan")
    correlation = f"e2e-{uuid.uuid4().hex}"
    with api(stack, "grades", teacher, **{"x-correlation-id": correlation}) as grades:
        sheet = sheet_named(grades.get("/sheets").json(), "10A2", "Toán")
        submitted = grades.post(f"/sheets/{sheet['id']}/submit", json={"expected_version": sheet["version"]})
        assert submitted.headers["x-correlation-id"] == correlation
        grades.post(f"/sheets/{sheet['id']}/sign", json={"expected_version": submitted.json()["version"]})
    wait_for_state(stack, teacher, sheet["id"], "signed")
    signing_log = (stack.data_dir / "logs" / "signing.log").read_text()
    assert any(correlation in line and "document signed" in line for line in signing_log.splitlines())


def test_a_teacher_cannot_see_or_act_on_a_colleagues_sheet(stack: Stack) -> None:
    owner = token_for(stack, "gv.toan")
    colleague = token_for(stack, "gv.van")
    with api(stack, "grades", owner) as grades:
        sheet = sheet_named(grades.get("/sheets").json(), "11 Toán chuyên", "Toán")
    with api(stack, "grades", colleague) as grades:
        assert all(
            s["teacher_id"] == str(demo_person("gv.van").user_id) for s in grades.get("/sheets").json()
        )
        seen = grades.get(f"/sheets/{sheet['id']}")
        assert seen.status_code == 404
        assert seen.headers["content-type"] == "application/problem+json"
        acted = grades.post(f"/sheets/{sheet['id']}/submit", json={"expected_version": 1})
        assert acted.status_code == 404


def test_the_principal_sees_every_sheet_but_cannot_submit_a_teachers_sheet(stack: Stack) -> None:
    principal = token_for(stack, "hieutruong")
    with api(stack, "grades", principal) as grades:
        sheets = grades.get("/sheets").json()
        assert {s["class_name"] for s in sheets} >= {"10A1", "10A2", "11 Toán chuyên"}
        target = sheet_named(sheets, "11 Toán chuyên", "Toán")
        refused = grades.post(f"/sheets/{target['id']}/submit", json={"expected_version": target["version"]})
        assert refused.status_code == 403


def test_stale_version_is_a_conflict_naming_the_field(stack: Stack) -> None:
    teacher = token_for(stack, "gv.toan")
    with api(stack, "grades", teacher) as grades:
        sheet = sheet_named(grades.get("/sheets").json(), "11 Toán chuyên", "Toán")
        stale = grades.post(f"/sheets/{sheet['id']}/submit", json={"expected_version": sheet["version"] + 5})
        assert stale.status_code == 409
        assert stale.json()["field"] == "expected_version"


def test_requests_without_a_valid_token_are_refused_everywhere(stack: Stack) -> None:
    for service, path in (
        ("grades", "/sheets"),
        ("signing", f"/documents/{uuid.uuid4()}"),
        ("identity", "/me"),
    ):
        with api(stack, service) as client:
            assert client.get(path).status_code == 401
        with api(stack, service, "not.a.token") as client:
            refused = client.get(path)
            assert refused.status_code == 401
            assert refused.headers["content-type"] == "application/problem+json"


def test_bad_input_is_a_problem_naming_the_field(stack: Stack) -> None:
    teacher = token_for(stack, "gv.toan")
    with api(stack, "grades", teacher) as grades:
        sheet = grades.get("/sheets").json()[0]
        bad = grades.post(f"/sheets/{sheet['id']}/submit", json={"expected_version": "many"})
        assert bad.status_code == 422
        assert bad.json()["field"] == "expected_version"
        assert grades.get("/sheets/not-a-uuid").json()["field"] == "sheet_id"


def test_every_service_is_ready_and_exposes_metrics(stack: Stack) -> None:
    for service in ("identity", "grades", "signing", "portal"):
        with api(stack, service) as client:
            ready = client.get("/readyz").json()
            assert ready["checks"] == {"database": "ok", "broker": "ok"}
            metrics = client.get("/metrics").text
            assert f'service="{service}"' in metrics
            assert "hbs_http_requests_total" in metrics
    with api(stack, "grades") as client:
        assert "faststream_received_messages_total" in client.get("/metrics").text


def test_portal_sign_in_refusals_are_clear_and_in_vietnamese(stack: Stack) -> None:
    with httpx.Client(base_url=stack.url("portal"), timeout=30) as browser:
        assert browser.get("/sheets").headers["location"] == "/login"
        wrong = browser.post("/login", data={"username": "gv.toan", "password": "sai-mat-khau"})
        assert wrong.status_code == 401
        assert "Sai tên đăng nhập hoặc mật khẩu" in wrong.text
        assert 'value="gv.toan"' in wrong.text
        empty = browser.post("/login", data={"username": " ", "password": "x"})
        assert empty.status_code == 422
        assert "Tên đăng nhập: chưa nhập." in empty.text
        assert "hbs_session" not in browser.cookies
        signed_in = browser.post("/login", data={"username": "gv.van", "password": DEMO_PASSWORD})
        assert signed_in.status_code == 303
        cookie = signed_in.headers["set-cookie"].lower()
        assert "httponly" in cookie
        assert "samesite=lax" in cookie
        assert browser.post("/logout").headers["location"] == "/login"
        assert browser.get("/sheets").headers["location"] == "/login"
