"""Transfer and graduation packages between two installations (issue 13 §2–3, Đ7.3).

The sending school is the session's stack; the receiving school a SECOND stack started here, with
its own databases, broker, SoftHSM2 token and development CA, which trusts the sender's root
(`HBS_SIGNING_TRUSTED_ROOTS_FILE`) as a real school trusts the national CAs. A small class of the
sender went through the year end (hbs_devtools.yearend: the `sealed` class of tests/conftest.py),
its office exports two students' sealed records as sealed packages, the receiver's office imports
them: every signature is valid there, a receipt sealed by the receiver comes back. Four broken
packages are each refused with the reason naming the file: one flipped byte, a missing file, an
extra file, an untrusted seal.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from hbs_devtools.broker import free_port
from hbs_devtools.drive import SystemClient
from hbs_devtools.stack import Stack
from hbs_signing.exchange.package import PACKAGE_FIELD, attachments
from hbs_signing.verification.service import VALID, Verifier

from .sealed import SealedClass

pytestmark = [pytest.mark.db, pytest.mark.broker, pytest.mark.hsm, pytest.mark.timeout(420)]

OFFICE = "quantri"
PERSONAL = ("national_id", "full_name", "date_of_birth", "birthplace", "gender", "ethnicity", "nationality")


@dataclass
class Receiving:
    """The second installation, started in the background while the sender exports."""

    stack: Stack
    started: threading.Event = field(default_factory=threading.Event)
    errors: list[BaseException] = field(default_factory=list)

    def ready(self) -> Stack:
        self.started.wait()
        if self.errors:
            raise self.errors[0]
        return self.stack


@pytest.fixture(scope="module")
def receiving(
    tmp_path_factory: pytest.TempPathFactory, databases: Any, system: SystemClient
) -> Iterator[Receiving]:
    folder = tmp_path_factory.mktemp("receiving")
    sender_root = httpx.get(system.stack.url("signing") + "/dev-ca/root.pem", timeout=30)
    assert sender_root.status_code == 200
    trusted = folder / "trusted-roots.pem"
    trusted.write_bytes(sender_root.content)
    names = ("identity", "grades", "signing", "portal")
    stack = Stack(
        folder / "data",
        ports={name: free_port() for name in names},
        database_urls={name: databases.new(f"rx{name}") for name in names},
        environment="test",
        extra_env={"HBS_IDENTITY_DEMO_SIZE": "small", "HBS_SIGNING_TRUSTED_ROOTS_FILE": str(trusted)},
    )
    handle, done = Receiving(stack), threading.Event()

    def run() -> None:
        # The services die with the thread that started them (PR_SET_PDEATHSIG): this one lives
        # until the module ends. (It used to end after the start: every service was killed, then
        # started again by the stack's supervisor, a second start-up while the sender sealed.)
        try:
            stack.start(timeout=240)
        except BaseException as error:  # reported by ready()
            handle.errors.append(error)
        finally:
            handle.started.set()
        done.wait()
        stack.stop()

    thread = threading.Thread(target=run, name="receiving-stack")
    thread.start()
    try:
        yield handle
    finally:
        done.set()
        thread.join()


@pytest.fixture(scope="module")
def sealed_students(sealed: SealedClass, receiving: Receiving) -> list[str]:
    """Two students of a class of the sender whose year records are sealed (steps 1–4): the
    `sealed` class's (tests/conftest.py) that leave it here, with their packages."""
    assert sealed.invariants.problems == []
    return list(sealed.exchanged)


def signing_audit(stack: Stack) -> list[Any]:
    """Signing's audit trail, read from the installation's database; its hash chain must be intact."""
    from hbs_shared.audit.store import stored_entries, verify_stored
    from hbs_shared.db import Database
    from hbs_signing.audit import LAYOUT

    found: list[Any] = []

    async def read() -> None:
        db = Database(stack.database_urls["signing"])
        try:
            async with db.transaction() as session:
                report = await verify_stored(session, LAYOUT)
                assert report.intact, report
                found.extend([entry async for entry in stored_entries(session, LAYOUT)])
        finally:
            await db.dispose()

    worker = threading.Thread(target=lambda: asyncio.run(read()))
    worker.start()
    worker.join()
    return found


def office(stack: Stack, service: str) -> httpx.Client:
    token = SystemClient(stack).token(OFFICE)
    return httpx.Client(
        base_url=stack.url(service), headers={"authorization": f"Bearer {token}"}, timeout=120
    )


def import_package(stack: Stack, pdf: bytes) -> httpx.Response:
    with office(stack, "signing") as signing:
        return signing.post("/exchange/imports", content=pdf, headers={"content-type": "application/pdf"})


def codes(answer: httpx.Response) -> set[tuple[str, str]]:
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    body = answer.json()
    assert body["field"] == "file"
    return {(f["file"], f["code"]) for f in body["files"]}


@pytest.fixture(scope="module")
def exported(system: SystemClient, sealed_students: list[str]) -> list[dict[str, Any]]:
    with office(system.stack, "signing") as signing:
        answer = signing.post(
            "/exchange/packages", json={"student_ids": sealed_students, "reason": "transferred"}
        )
    assert answer.status_code == 201, answer.text
    return list(answer.json()["exported"])


def package_bytes(system: SystemClient, package_id: str) -> bytes:
    with office(system.stack, "signing") as signing:
        answer = signing.get(f"/exchange/packages/{package_id}/pdf")
    assert answer.status_code == 200, answer.text
    return answer.content


def test_the_export_seals_every_record_and_marks_the_student_as_transferred(
    system: SystemClient, sealed_students: list[str], exported: list[dict[str, Any]], tmp_path: Path
) -> None:
    assert [e["package"]["student_id"] for e in exported] == sealed_students
    sender_root = x509.load_pem_x509_certificate(
        httpx.get(system.stack.url("signing") + "/dev-ca/root.pem", timeout=30).content
    )
    offline = Verifier(None, [sender_root], None)
    for item in exported:
        package = item["package"]
        assert item["student_left"] is True
        assert package["direction"] == "exported"
        assert package["records"] == 1
        kinds = sorted(f["kind"] for f in package["files"])
        assert kinds == ["identity", "record_json", "record_pdf", "record_xml"]
        pdf = package_bytes(system, package["id"])
        assert hashlib.sha256(pdf).hexdigest() == package["sha256"]
        # Offline, from the file alone: the seal (and its document timestamp) verify with the root.
        examination = offline.examine(pdf)
        assert [s.field_name for s in examination.signatures if s.kind == "signature"] == [PACKAGE_FIELD]
        assert examination.signatures[-1].kind == "document_timestamp"
        assert {s.verdict for s in examination.signatures} == {VALID}, examination
        # poppler's pdfsig, another validator: the seal intact, the document timestamp covering the file.
        path = tmp_path / f"{package['id']}.pdf"
        path.write_bytes(pdf)
        report = subprocess.run(["pdfsig", str(path)], capture_output=True, text=True, check=False).stdout
        assert f"Signature Field Name: {PACKAGE_FIELD}" in report, report
        assert report.count("Signature is Valid") == 1, report
        assert "Total document signed" in report.split("Signature #2:")[1], report
        files, twice = attachments(pdf)
        assert not twice
        listed = {f["name"]: f["sha256"] for f in package["files"]}
        assert {
            name: hashlib.sha256(data).hexdigest() for name, data in files.items() if name in listed
        } == listed
        assert set(files) == {*listed, "manifest.json"}
    logged = {
        (e.subject_id, e.details["sha256"])
        for e in signing_audit(system.stack)
        if e.action == "package_exported"
    }
    assert {(e["package"]["student_id"], e["package"]["sha256"]) for e in exported} <= logged
    with office(system.stack, "identity") as identity:
        for student_id in sealed_students:
            student = identity.get(f"/students/{student_id}").json()
            assert student["current_class_id"] is None
            enrolments = identity.get(f"/students/{student_id}/enrolments").json()
            assert any(e.get("leave_reason") == "transferred" for e in enrolments), enrolments


def test_only_the_office_exports(system: SystemClient, sealed_students: list[str]) -> None:
    token = system.token("hieutruong")
    with system.client("signing", token) as signing:
        answer = signing.post(
            "/exchange/packages", json={"student_ids": sealed_students, "reason": "graduated"}
        )
        assert answer.status_code == 403
        assert answer.headers["content-type"].startswith("application/problem+json")
    with office(system.stack, "signing") as signing:
        twice = signing.post(
            "/exchange/packages", json={"student_ids": [sealed_students[0]] * 2, "reason": "graduated"}
        )
        assert twice.status_code == 422
        assert twice.json()["field"] == "student_ids[1]"
        bad = signing.post("/exchange/packages", json={"student_ids": sealed_students, "reason": "expelled"})
        assert bad.status_code == 422
        assert bad.json()["field"] == "reason"


def test_the_receiving_school_imports_verifies_and_returns_a_sealed_receipt(
    system: SystemClient, receiving: Receiving, exported: list[dict[str, Any]]
) -> None:
    receiver = receiving.ready()
    first, second = (package_bytes(system, e["package"]["id"]) for e in exported)
    # The second student is already known at the receiving school: linked by mã định danh.
    with office(system.stack, "identity") as sender_identity:
        known = sender_identity.get(f"/students/{exported[1]['package']['student_id']}").json()
    with office(receiver, "identity") as identity:
        made = identity.post("/students", json={name: known[name] for name in PERSONAL})
        assert made.status_code == 201, made.text
        existing_id = made.json()["id"]

    with SystemClient(receiver).client("signing", SystemClient(receiver).token("hieutruong")) as board:
        refused = board.post("/exchange/imports", content=first, headers={"content-type": "application/pdf"})
        assert refused.status_code == 403

    created = import_package(receiver, first)
    assert created.status_code == 201, created.text
    linked = import_package(receiver, second)
    assert linked.status_code == 201, linked.text
    assert created.json()["student_created"] is True
    assert linked.json()["student_created"] is False
    assert linked.json()["package"]["student_id"] == existing_id
    assert import_package(receiver, first).status_code == 409

    receiver_root = x509.load_pem_x509_certificate(
        httpx.get(receiver.url("signing") + "/dev-ca/root.pem", timeout=30).content
    )
    receipts: list[bytes] = []
    with office(receiver, "signing") as signing:
        for answer in (created, linked):
            package = answer.json()["package"]
            assert package["direction"] == "imported"
            assert package["records"] == 1
            # Every signature valid there, checked again at any time against the receiver's roots.
            again = signing.post(f"/exchange/packages/{package['id']}/verify")
            assert again.status_code == 200
            assert again.json() == {
                "sha256": package["sha256"],
                "valid": True,
                "problems": [],
            }
            history = signing.get(f"/exchange/students/{package['student_id']}/packages").json()
            assert [p["id"] for p in history] == [package["id"]]
            record = next(f for f in package["files"] if f["kind"] == "record_pdf")
            kept = signing.get(f"/exchange/packages/{package['id']}/files/{record['name']}")
            assert hashlib.sha256(kept.content).hexdigest() == record["sha256"]
            receipt = signing.get(answer.json()["receipt_url"])
            assert receipt.status_code == 200
            assert hashlib.sha256(receipt.content).hexdigest() == package["receipt_sha256"]
            examination = Verifier(None, [receiver_root], None).examine(receipt.content)
            assert {s.verdict for s in examination.signatures} == {VALID}
            assert package["sha256"].encode() in attachments(receipt.content)[0]["bien-nhan.json"]
            receipts.append(receipt.content)
    # The sender checks a receipt against ITS OWN roots: it does not trust the receiver's CA.
    with office(system.stack, "signing") as sender:
        refused = sender.post(
            f"/exchange/packages/{exported[0]['package']['id']}/receipt",
            content=receipts[0],
            headers={"content-type": "application/pdf"},
        )
    assert codes(refused) == {("receipt", "seal_untrusted")}
    imported = {e.details["import_id"] for e in signing_audit(receiver) if e.action == "package_imported"}
    assert imported == {created.json()["package"]["id"], linked.json()["package"]["id"]}
    with office(receiver, "identity") as identity:
        student = identity.get(f"/students/{created.json()['package']['student_id']}").json()
        assert student["national_id"] == created.json()["national_id"]


def test_the_sender_takes_back_a_receipt_it_trusts(
    system: SystemClient, exported: list[dict[str, Any]]
) -> None:
    """A receipt sealed by a CA the sender trusts (here the sender's own, which imports its own
    package): kept with the package it names, and only with that one."""
    first, second = (e["package"] for e in exported)
    returned = import_package(system.stack, package_bytes(system, second["id"]))
    assert returned.status_code == 201, returned.text
    assert returned.json()["student_created"] is False
    with office(system.stack, "signing") as signing:
        receipt = signing.get(returned.json()["receipt_url"]).content
        pdf = {"content": receipt, "headers": {"content-type": "application/pdf"}}
        other = signing.post(f"/exchange/packages/{first['id']}/receipt", **pdf)  # type: ignore[arg-type]
        assert codes(other) == {("bien-nhan.json", "other_package")}
        taken = signing.post(f"/exchange/packages/{second['id']}/receipt", **pdf)  # type: ignore[arg-type]
        assert taken.status_code == 200, taken.text
        assert taken.json()["receipt_sha256"] == hashlib.sha256(receipt).hexdigest()
        assert signing.get(f"/exchange/packages/{second['id']}/receipt").content == receipt
        again = signing.post(f"/exchange/packages/{second['id']}/receipt", **pdf)  # type: ignore[arg-type]
        assert again.status_code == 409
    logged = [e for e in signing_audit(system.stack) if e.action == "receipt_registered"]
    assert [e.details["package_id"] for e in logged] == [second["id"]]


def _unsealed(pdf: bytes) -> bytes:
    """The package as rendered, before the seal's incremental update: the file up to the last
    `%%EOF` before the seal's signature (the attached records carry `%%EOF`s of their own)."""
    from pyhanko.pdf_utils.reader import PdfFileReader

    seal = PdfFileReader(BytesIO(pdf)).embedded_signatures[0]
    contents_at = int(seal.sig_object["/ByteRange"][1])
    end = pdf.rindex(b"%%EOF", 0, contents_at) + len(b"%%EOF")
    return pdf[:end] + b"\n"


def _without_attachment(pdf: bytes, name: str) -> bytes:
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    writer = IncrementalPdfFileWriter(BytesIO(pdf))
    names_ref = writer.root.raw_get("/Names")
    names = names_ref.get_object()
    tree_ref = names.raw_get("/EmbeddedFiles")
    tree = tree_ref.get_object()
    flat = list(tree["/Names"])
    kept = generic.ArrayObject()
    for index in range(0, len(flat), 2):
        if str(flat[index]) != name:
            kept.extend(flat[index : index + 2])
    assert len(kept) == len(flat) - 2
    tree["/Names"] = kept
    for ref in (tree_ref, names_ref):
        if isinstance(ref, generic.IndirectObject):
            writer.mark_update(ref)
    writer.update_root()  # type: ignore[no-untyped-call]
    out = BytesIO()
    writer.write(out)  # type: ignore[no-untyped-call]
    return out.getvalue()


def _with_attachment(pdf: bytes, name: str, data: bytes) -> bytes:
    from pyhanko.pdf_utils.embed import EmbeddedFileObject, FileSpec, embed_file
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    writer = IncrementalPdfFileWriter(BytesIO(pdf))
    spec = FileSpec(
        file_spec_string=name,
        embedded_data=EmbeddedFileObject.from_file_data(writer, data=data, mime_type="text/plain"),
    )
    embed_file(writer, spec)
    out = BytesIO()
    writer.write(out)  # type: ignore[no-untyped-call]
    return out.getvalue()


def _sealed_by_an_unknown_ca(pdf: bytes, folder: Path) -> bytes:
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import signers

    now = dt.datetime.now(dt.UTC)
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "CA không được tin cậy")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Trường giả mạo")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .sign(ca_key, hashes.SHA256())
    )
    (folder / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    (folder / "leaf.pem").write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    (folder / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    signer = signers.SimpleSigner.load(  # type: ignore[no-untyped-call]
        str(folder / "key.pem"), str(folder / "leaf.pem"), ca_chain_files=(str(folder / "ca.pem"),)
    )
    assert signer is not None
    out = signers.sign_pdf(
        IncrementalPdfFileWriter(BytesIO(_unsealed(pdf))),
        signers.PdfSignatureMetadata(field_name=PACKAGE_FIELD),
        signer=signer,
    )
    return bytes(out.getvalue())


def test_broken_packages_are_refused_naming_each_file(
    system: SystemClient,
    receiving: Receiving,
    exported: list[dict[str, Any]],
    tmp_path: Path,
) -> None:
    receiver = receiving.ready()
    package = exported[0]["package"]
    pdf = package_bytes(system, package["id"])
    files = {f["kind"]: f["name"] for f in package["files"]}
    record_name, json_name = files["record_pdf"], files["record_json"]
    record = attachments(pdf)[0][record_name]

    # One flipped byte inside the embedded record.
    at = pdf.index(record) + len(record) // 2
    flipped = pdf[:at] + bytes([pdf[at] ^ 0x01]) + pdf[at + 1 :]
    found = codes(import_package(receiver, flipped))
    assert (record_name, "digest_mismatch") in found
    assert ("package", "seal_broken") in found

    # A file of the manifest taken out.
    found = codes(import_package(receiver, _without_attachment(pdf, json_name)))
    assert (json_name, "missing") in found

    # A file the manifest does not list.
    found = codes(import_package(receiver, _with_attachment(pdf, "ghi-chu.txt", b"them vao sau")))
    assert ("ghi-chu.txt", "extra") in found

    # The same files, sealed by a CA the receiving school does not trust: only the seal is wrong.
    found = codes(import_package(receiver, _sealed_by_an_unknown_ca(pdf, tmp_path)))
    assert found == {("package", "seal_untrusted")}

    refusals = [e for e in signing_audit(receiver) if e.action == "package_refused"]
    assert {p["code"] for e in refusals for p in e.details["problems"]} >= {
        "digest_mismatch",
        "missing",
        "extra",
        "seal_untrusted",
    }

    # Nothing of a refused package is kept: the student has at most the one good import (if the
    # test above ran first), never a refused one.
    national_id = next(f["name"] for f in package["files"] if f["kind"] == "identity").split("-")[0]
    with office(receiver, "identity") as identity:
        items = identity.post("/students/search", json={"q": national_id}).json()["items"]
    with office(receiver, "signing") as signing:
        for item in items:
            listed = signing.get(f"/exchange/students/{item['id']}/packages").json()
            assert [p["sha256"] for p in listed] in ([], [package["sha256"]])
