"""The walking skeleton, end to end through the real broker, SoftHSM2 and the four services.

A teacher signs in on the portal, sets a signing PIN and signs a score sheet with it; grades
writes the state and an outbox event; signing consumes it, checks the activation, signs a PDF
with the teacher's key in the token, stores it and emits signing.completed; grades advances;
the portal offers the signed PDF, which validates with pyHanko and with poppler's pdfsig.
"""

from __future__ import annotations

import datetime as dt
import re
import subprocess
import uuid
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any

import httpx
import pytest
from asn1crypto import pem
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext

from hbs_devtools.drive import SIGNING_PIN, SystemClient, sign_in_portal

from .factories import Person, SchoolClass, SchoolFactory, password_of

pytestmark = [pytest.mark.db, pytest.mark.broker, pytest.mark.hsm]


@dataclass(frozen=True)
class Skeleton:
    """This module's own two classes: A (Toán, Ngữ văn) and B (Toán, the same teacher)."""

    a: SchoolClass
    b: SchoolClass
    toan: Person
    van: Person


@pytest.fixture(scope="module")
def own(system: SystemClient, school: SchoolFactory) -> Skeleton:
    a = school.school_class(students=3, subjects=("TOAN", "NGU_VAN"))
    b = school.school_class(students=2, subjects=("TOAN",), teachers={"TOAN": a.teachers["TOAN"]})
    toan, van = a.teachers["TOAN"], a.teachers["NGU_VAN"]
    for teacher in (toan, van):
        for sheet in system.sheets(system.token(teacher.username)):
            if sheet["class_name"] in (a.name, b.name):
                school.fill_scores(teacher, sheet["id"])
    return Skeleton(a, b, toan, van)


def validate(pdf: bytes, root_pem: bytes) -> Any:
    _, _, der = pem.unarmor(root_pem)
    context = ValidationContext(trust_roots=[asn1_x509.Certificate.load(der)], allow_fetching=False)
    signatures = PdfFileReader(BytesIO(pdf)).embedded_regular_signatures
    assert len(signatures) == 1
    return validate_pdf_signature(signatures[0], context)


def form_value(page: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]+)"', page)
    assert found is not None, page
    return found.group(1)


def test_teacher_signs_a_sheet_through_the_portal_and_gets_a_valid_signed_pdf(
    system: SystemClient, own: Skeleton, tmp_path: Path
) -> None:
    stack = system.stack
    teacher = system.token(own.toan.username)
    with httpx.Client(base_url=stack.url("portal"), timeout=30) as browser:
        assert "Đăng nhập" in browser.get("/login").text
        signed_in = sign_in_portal(browser, own.toan.username, password_of(own.toan.username))
        assert signed_in.status_code == 303
        assert signed_in.headers["location"] == "/sheets"

        pin_page = browser.get("/signing-pin").text
        csrf = form_value(pin_page, "csrf")
        current = {"current_pin": SIGNING_PIN} if "Mã PIN hiện tại" in pin_page else {}
        mismatch = browser.post(
            "/signing-pin", data={"csrf": csrf, "pin": "135790", "pin_again": "135791", **current}
        )
        assert mismatch.status_code == 422
        assert "không khớp" in mismatch.text
        saved = browser.post(
            "/signing-pin",
            data={"csrf": csrf, "pin": SIGNING_PIN, "pin_again": SIGNING_PIN, **current},
        )
        assert saved.status_code == 200, saved.text
        assert "Đã lưu mã PIN ký số" in saved.text

        page = browser.get("/sheets").text
        assert own.b.name in page
        assert "Nộp và ký số" in page
        row = re.search(
            r'<tr data-sheet="([0-9a-f-]{36})">\s*<td>' + own.a.name + r"</td><td>Toán</td>.*?"
            r'name="csrf" value="([^"]+)".*?name="version" value="(\d+)"',
            page,
            re.S,
        )
        assert row is not None, page
        sheet_id, csrf, version = row.groups()
        form = {"csrf": csrf, "version": version}

        no_pin = browser.post(f"/sheets/{sheet_id}/sign", data=form)
        assert no_pin.status_code == 422
        assert "Mã PIN ký số: chưa nhập." in no_pin.text
        wrong_pin = browser.post(f"/sheets/{sheet_id}/sign", data={**form, "pin": "000000"})
        assert wrong_pin.status_code == 403
        assert "Mã PIN ký số không đúng" in wrong_pin.text
        forged = browser.post(f"/sheets/{sheet_id}/sign", data={**form, "csrf": "x" * 20, "pin": SIGNING_PIN})
        assert forged.status_code == 403
        with system.client("grades", teacher) as grades:
            assert grades.get(f"/sheets/{sheet_id}").json()["state"] == "open"

        started = browser.post(f"/sheets/{sheet_id}/sign", data={**form, "pin": SIGNING_PIN})
        assert started.status_code == 303

        sheet = system.wait_for_state(teacher, sheet_id, "signed")
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
    assert own.toan.full_name in status.signing_cert.subject.human_friendly

    # An independent validator sees one signature over the whole file, intact.
    path = tmp_path / "signed.pdf"
    path.write_bytes(pdf.content)
    report = subprocess.run(["pdfsig", str(path)], capture_output=True, text=True, check=False)
    assert "Signature #1" in report.stdout
    assert "Signature is Valid" in report.stdout
    assert "Total document signed" in report.stdout


def test_signed_pdf_fails_validation_against_another_root(system: SystemClient, own: Skeleton) -> None:
    teacher = system.token(own.van.username)
    sheet = system.sheet(teacher, own.a.name, "Ngữ văn", state="open")
    system.submit_and_sign(teacher, sheet)
    done = system.wait_for_state(teacher, sheet["id"], "signed")
    with system.client("signing", teacher) as signing:
        pdf = signing.get(f"/documents/{done['document_id']}/pdf").content

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


def test_correlation_id_travels_from_the_request_to_the_signing_handler(
    system: SystemClient, own: Skeleton
) -> None:
    teacher = system.token(own.toan.username)
    correlation = f"e2e-{uuid.uuid4().hex}"
    sheet = system.sheet(teacher, own.b.name, "Toán", state="open")
    submitted = system.submit_and_sign(teacher, sheet, **{"x-correlation-id": correlation})
    assert submitted.headers["x-correlation-id"] == correlation
    system.wait_for_state(teacher, sheet["id"], "signed")
    signing_log = (system.stack.data_dir / "logs" / "signing.log").read_text()
    assert any(correlation in line and "document signed" in line for line in signing_log.splitlines())


def test_a_login_token_alone_never_signs(system: SystemClient, own: Skeleton) -> None:
    teacher = system.token(own.toan.username)
    sheet = system.sheet(teacher, own.a.name, "Toán", state="open")
    other_teacher = system.token(own.van.username)
    foreign_activation = system.activate(other_teacher, sheet["id"])
    with system.client("grades", teacher) as grades:
        submitted = grades.post(
            f"/sheets/{sheet['id']}/submit", json={"expected_version": sheet["version"]}
        ).json()
        no_activation = grades.post(
            f"/sheets/{sheet['id']}/sign", json={"expected_version": submitted["version"]}
        )
        assert no_activation.status_code == 422
        assert no_activation.json()["field"] == "activation_id"
        grades.post(
            f"/sheets/{sheet['id']}/sign",
            json={"expected_version": submitted["version"], "activation_id": foreign_activation},
        )
    failed = system.wait_for_state(teacher, sheet["id"], "submitted")
    assert failed["last_error"]
    assert failed["document_id"] is None


def test_a_teacher_cannot_see_or_act_on_a_colleagues_sheet(system: SystemClient, own: Skeleton) -> None:
    owner = system.token(own.toan.username)
    colleague = system.token(own.van.username)
    sheet = system.sheet(owner, own.b.name, "Toán")
    with system.client("grades", colleague) as grades:
        mine = own.van.id
        assert all(s["teacher_id"] == mine for s in grades.get("/sheets").json())
        seen = grades.get(f"/sheets/{sheet['id']}")
        assert seen.status_code == 404
        assert seen.headers["content-type"] == "application/problem+json"
        acted = grades.post(f"/sheets/{sheet['id']}/submit", json={"expected_version": 1})
        assert acted.status_code == 404


def test_the_principal_sees_every_sheet_but_cannot_submit_a_teachers_sheet(
    system: SystemClient, own: Skeleton
) -> None:
    principal = system.token("hieutruong")
    sheets = system.sheets(principal)
    assert {s["class_name"] for s in sheets} >= {"10A1", own.a.name, own.b.name}
    target = next(s for s in sheets if s["class_name"] == own.b.name and s["subject"] == "Toán")
    with system.client("grades", principal) as grades:
        refused = grades.post(f"/sheets/{target['id']}/submit", json={"expected_version": target["version"]})
        assert refused.status_code == 403


def test_stale_version_is_a_conflict_naming_the_field(system: SystemClient, own: Skeleton) -> None:
    teacher = system.token(own.toan.username)
    sheet = system.sheets(teacher)[0]
    with system.client("grades", teacher) as grades:
        stale = grades.post(f"/sheets/{sheet['id']}/submit", json={"expected_version": sheet["version"] + 5})
        assert stale.status_code == 409
        assert stale.json()["field"] == "expected_version"


def test_requests_without_a_valid_token_are_refused_everywhere(system: SystemClient) -> None:
    for service, path in (
        ("grades", "/sheets"),
        ("signing", f"/documents/{uuid.uuid4()}"),
        ("identity", "/me"),
    ):
        with system.client(service) as client:
            assert client.get(path).status_code == 401
        with system.client(service, "not.a.token") as client:
            refused = client.get(path)
            assert refused.status_code == 401
            assert refused.headers["content-type"] == "application/problem+json"


def test_bad_input_is_a_problem_naming_the_field(system: SystemClient, own: Skeleton) -> None:
    teacher = system.token(own.toan.username)
    sheet = system.sheets(teacher)[0]
    with system.client("grades", teacher) as grades:
        bad = grades.post(f"/sheets/{sheet['id']}/submit", json={"expected_version": "many"})
        assert bad.status_code == 422
        assert bad.json()["field"] == "expected_version"
        assert grades.get("/sheets/not-a-uuid").json()["field"] == "sheet_id"


def test_every_service_is_ready_and_exposes_metrics(system: SystemClient) -> None:
    for service in ("identity", "grades", "signing", "portal"):
        with system.client(service) as client:
            ready = client.get("/readyz").json()
            assert ready["checks"] == {"database": "ok", "broker": "ok"}
            metrics = client.get("/metrics").text
            assert f'service="{service}"' in metrics
            assert "hbs_http_requests_total" in metrics
    with system.client("grades") as client:
        assert "faststream_received_messages_total" in client.get("/metrics").text


def test_portal_sign_in_refusals_are_clear_and_in_vietnamese(system: SystemClient, own: Skeleton) -> None:
    with httpx.Client(base_url=system.stack.url("portal"), timeout=30) as browser:
        assert browser.get("/sheets").headers["location"] == "/login"
        wrong = sign_in_portal(browser, own.toan.username, "sai-mat-khau")
        assert wrong.status_code == 401
        assert "Sai tên đăng nhập hoặc mật khẩu" in wrong.text
        assert f'value="{own.toan.username}"' in wrong.text
        empty = sign_in_portal(browser, " ", "x")
        assert empty.status_code == 422
        assert "Tên đăng nhập: chưa nhập." in empty.text
        assert "hbs_session" not in browser.cookies
        signed_in = sign_in_portal(browser, own.van.username, password_of(own.van.username))
        assert signed_in.status_code == 303
        cookie = signed_in.headers["set-cookie"].lower()
        assert "httponly" in cookie
        assert "samesite=lax" in cookie
        assert browser.post("/logout").headers["location"] == "/login"
        assert browser.get("/sheets").headers["location"] == "/login"


def test_anyone_verifies_a_signed_sheet_by_its_code_or_its_file(system: SystemClient, own: Skeleton) -> None:
    teacher = system.token(own.toan.username)
    sheet = system.sheet(teacher, own.b.name, "Toán")
    if sheet["state"] != "signed":
        system.submit_and_sign(teacher, sheet)
        sheet = system.wait_for_state(teacher, sheet["id"], "signed")
    with system.client("signing", teacher) as signing:
        info = signing.get(f"/documents/{sheet['document_id']}").json()
        pdf = signing.get(f"/documents/{sheet['document_id']}/pdf").content
    with httpx.Client(base_url=system.stack.url("portal"), timeout=60) as public:
        by_code = public.get(f"/verify/{info['verification_code']}")
        assert by_code.status_code == 200
        assert "Kết quả: Hợp lệ" in by_code.text
        assert own.toan.full_name in by_code.text
        assert "phiên bản hiện hành" in by_code.text
        by_file = public.post("/verify", files={"file": ("so-diem.pdf", pdf, "application/pdf")})
        assert "Kết quả: Hợp lệ" in by_file.text
        tampered = bytearray(pdf)
        tampered[len(tampered) // 3] ^= 0x01
        refused = public.post("/verify", files={"file": ("so-diem.pdf", bytes(tampered), "application/pdf")})
        assert "Kết quả: Không hợp lệ" in refused.text
        assert public.get("/verify/KHONGCOMA99").status_code == 404


def test_first_sign_in_on_the_portal_forces_a_new_password(system: SystemClient, own: Skeleton) -> None:
    admin = system.token("quantri")
    with system.client("identity", admin) as identity:
        issued = identity.post(f"/accounts/{own.b.students[0].id}/password")
        assert issued.status_code == 200, issued.text
        login, initial = issued.json()["login"], issued.json()["initial_password"]
    with httpx.Client(base_url=system.stack.url("portal"), timeout=30) as browser:
        first = sign_in_portal(browser, login, initial)
        assert first.status_code == 303
        assert first.headers["location"] == "/password"
        assert browser.get("/sheets").headers["location"] == "/password"
        page = browser.get("/password").text
        assert "lần đăng nhập đầu tiên" in page
        csrf = form_value(page, "csrf")
        mismatch = browser.post(
            "/password",
            data={
                "csrf": csrf,
                "current_password": initial,
                "new_password": "Mat-khau-moi-2026",
                "new_password_again": "Mat-khau-khac",
            },
        )
        assert mismatch.status_code == 422
        assert "không khớp" in mismatch.text
        changed = browser.post(
            "/password",
            data={
                "csrf": csrf,
                "current_password": initial,
                "new_password": "Mat-khau-moi-2026",
                "new_password_again": "Mat-khau-moi-2026",
            },
        )
        assert changed.status_code == 303
        # A student has no score sheets: they land on the first page of their own menu.
        home, _, notice = changed.headers["location"].partition("?")
        assert home != "/sheets"
        assert notice == "notice=password"
        assert "Đã đổi mật khẩu" in browser.get(changed.headers["location"]).text
        browser.post("/logout")
        again = sign_in_portal(browser, login, "Mat-khau-moi-2026")
        assert again.headers["location"] == home
        old = sign_in_portal(browser, login, initial)
        assert old.status_code == 401


def test_the_portal_keeps_a_session_alive_by_refreshing_its_token(
    system: SystemClient, own: Skeleton
) -> None:
    # The test stack refreshes on every request (margin 3600 s > the 5-minute token lifetime),
    # so each page below is served with a newly rotated token.
    teacher_id = own.van.id

    def rotations() -> int:
        with system.client("identity", system.token("quantri")) as identity:
            entries = identity.get(
                "/audit",
                params={"action": "refresh.rotated", "object_id": teacher_id, "limit": 1000},
            ).json()
        # The trail names the person whose session it is (it said "refresh" before).
        assert {(e["actor_id"], e["actor_name"]) for e in entries} <= {(teacher_id, own.van.full_name)}
        return len(entries)

    before = rotations()
    with httpx.Client(base_url=system.stack.url("portal"), timeout=30) as browser:
        sign_in_portal(browser, own.van.username, password_of(own.van.username))
        for _ in range(3):
            page = browser.get("/sheets")
            assert page.status_code == 200
            assert "Ngữ văn" in page.text
    assert rotations() >= before + 3
