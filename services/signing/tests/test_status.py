"""Public status for outsiders (issue 13 §5): a record the board revoked verifies as revoked, by
code and by file; the school's status list, signed with the seal, is checked offline with
openssl; a batch of codes and files gets one answer each, bounded, and refusals name the field."""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from hbs_shared.events.contracts import RecordRevoked, RecordSigningRequested
from hbs_shared.messaging.consumer import Outcome
from hbs_signing.models import Certificate, DocumentRevocation, SignedDocument
from hbs_signing.samples import year_record_content
from hbs_signing.verification.service import RateLimiter

from .test_http import Harness, signing  # noqa: F401 — the signing app over HTTP, for this module

pytestmark = [pytest.mark.db, pytest.mark.broker, pytest.mark.hsm]
SCHOOL = "thpt-http"
REASON = "Hồ sơ của học sinh Trần Thị Bí Mật không hợp lệ"
PDF = {"content-type": "application/pdf"}


@pytest.fixture
def harness(signing: Harness) -> Harness:  # noqa: F811
    signing.app.state.rate_limiter = RateLimiter(10_000)  # these tests count answers, not the limit
    return signing


async def sealed(h: Harness, name: str) -> list[tuple[SignedDocument, bytes]]:
    """A year record signed by the homeroom teacher, the vice-principal and the principal (with the
    seal and the document timestamp), through the consumer as grades asks for it."""
    record = year_record_content(name=name)
    base = None
    versions = []
    for signer, role in (
        ("Phạm Quốc Dũng", "homeroom_teacher"),
        ("Lê Thị Thu Hà", "vice_principal"),
        ("Trần Văn Minh", "principal"),
    ):
        user = uuid.uuid4()
        headers = h.headers(user, (role,))
        assert (
            await h.client.put("/signing-pin", json={"pin": "246810"}, headers=headers)
        ).status_code == 204
        activation = await h.client.post(
            "/activations", json={"pin": "246810", "subject_ids": [str(record.record_id)]}, headers=headers
        )
        assert activation.status_code == 201, activation.text
        request = RecordSigningRequested(
            request_id=uuid.uuid4(),
            activation_id=uuid.UUID(activation.json()["activation_id"]),
            signer_user_id=user,
            signer_name=signer,
            signer_role=role,
            base_document_id=base,
            record=record,
        )
        assert await h.feed(request) is Outcome.applied
        handled = await h.handled(request.request_id, timeout=60)
        assert handled.outcome == "completed", handled.reason
        async with h.app.state.runtime.db.transaction() as session:
            document = await session.get(SignedDocument, handled.document_id)
        assert document is not None
        versions.append((document, h.app.state.document_store.get(document.sha256)))
        base = document.id
    return versions


def revoked(record_id: uuid.UUID, document_id: uuid.UUID) -> RecordRevoked:
    return RecordRevoked(
        record_id=record_id,
        document_id=document_id,
        minutes_number="12/BB-HĐ",
        minutes_date=date(2026, 11, 25),
        reason=REASON,
        revoked_by=uuid.uuid4(),
        revoked_by_role="principal",
        revoked_at=datetime.now(UTC),
    )


async def test_a_revoked_record_verifies_as_revoked_by_code_and_by_file_without_the_reason(
    harness: Harness,
) -> None:
    """The board annulled the sealed record (grades' event): every version now says revoked, with
    the minutes' number and date; the verdict is never "valid"; the reason stays with the school."""
    versions = await sealed(harness, "Vũ Minh Thu")
    (_, first_pdf), _, (final, final_pdf) = versions
    code = final.printed_code
    before = (await harness.client.get(f"/verify/{code}")).json()
    assert (before["verdict"], before["document"]["status"]) == ("valid", "current")
    assert before["document"]["revocation"] is None
    earlier = (await harness.client.post("/verify", content=first_pdf, headers=PDF)).json()
    assert earlier["document"]["status"] == "superseded"
    assert earlier["document"]["superseded_by"]["version_sha256"] == final.sha256

    assert await harness.feed(revoked(final.subject_id, final.id)) is Outcome.applied
    assert await harness.feed(revoked(final.subject_id, final.id)) is Outcome.applied  # sent again
    async with harness.app.state.runtime.db.transaction() as session:
        rows = await session.execute(
            select(func.count()).where(DocumentRevocation.subject_id == final.subject_id)
        )
        assert rows.scalar_one() == 1

    for answer in (
        (await harness.client.get(f"/verify/{code}")).json(),
        (await harness.client.post("/verify", content=final_pdf, headers=PDF)).json(),
        (await harness.client.post("/verify", content=first_pdf, headers=PDF)).json(),
    ):
        assert answer["verdict"] == "invalid", answer
        assert answer["document"]["status"] == "revoked"
        assert answer["document"]["revocation"] == {
            "minutes_number": "12/BB-HĐ",
            "minutes_date": "2026-11-25",
            "revoked_at": answer["document"]["revocation"]["revoked_at"],
            "revoked_by_role": "principal",
        }
        assert any(
            "revoked this record under minutes 12/BB-HĐ of 25/11/2026" in p for p in answer["problems"]
        )
        assert "Bí Mật" not in json.dumps(answer, ensure_ascii=False)
    # The signatures themselves are still intact: only the status changed.
    final_answer = (await harness.client.post("/verify", content=final_pdf, headers=PDF)).json()
    assert {s["verdict"] for s in final_answer["signatures"]} == {"valid"}


def _openssl_verify(p7m: Path, root: Path, out: Path, signer: Path) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [
            "openssl", "cms", "-verify", "-inform", "DER", "-in", str(p7m), "-CAfile", str(root),
            "-purpose", "any", "-out", str(out), "-signer", str(signer),
        ],
        capture_output=True,
        check=False,
    )  # fmt: skip


async def test_the_status_list_is_signed_by_the_school_seal_and_checks_offline_with_openssl(
    harness: Harness, tmp_path: Path
) -> None:
    """Every issued version by SHA-256 with its status, no personal data, dated, and the same bytes
    signed with the school seal (CMS): `openssl cms -verify` checks it against the root alone."""
    (first, _), _, (final, _) = await sealed(harness, "Đặng Thị Lan Hương")
    listed = await harness.client.get(f"/status/{SCHOOL}/list.json")
    assert listed.status_code == 200, listed.text
    content = listed.json()
    assert (content["type"], content["school_id"]) == ("hbs-status-list", SCHOOL)
    assert datetime.fromisoformat(content["next_update"]) > datetime.fromisoformat(content["issued_at"])
    entries = {e["sha256"]: e for e in content["entries"]}
    assert entries[final.sha256]["status"] == "current"
    assert (entries[first.sha256]["status"], entries[first.sha256]["superseded_by"]) == (
        "superseded",
        final.sha256,
    )
    assert "Đặng Thị Lan Hương" not in listed.text
    assert set().union(*(e.keys() for e in content["entries"])) <= {
        "sha256",
        "kind",
        "status",
        "superseded_by",
        "revocation",
    }

    assert await harness.feed(revoked(final.subject_id, final.id)) is Outcome.applied
    signed = await harness.client.get(f"/status/{SCHOOL}/list.p7m")
    assert signed.status_code == 200
    assert signed.headers["content-type"] == "application/pkcs7-mime"
    root = tmp_path / "root.pem"
    root.write_bytes((await harness.client.get("/dev-ca/root.pem")).content)
    p7m = tmp_path / "status.p7m"
    p7m.write_bytes(signed.content)
    checked = _openssl_verify(p7m, root, tmp_path / "status.json", tmp_path / "signer.pem")
    assert checked.returncode == 0, checked.stderr.decode()
    inside = json.loads((tmp_path / "status.json").read_bytes())
    assert (
        inside["entries"]
        == json.loads((await harness.client.get(f"/status/{SCHOOL}/list.json")).content)["entries"]
    )
    now = {e["sha256"]: e for e in inside["entries"]}
    assert now[final.sha256]["status"] == "revoked"
    assert now[final.sha256]["revocation"]["minutes_number"] == "12/BB-HĐ"
    assert now[first.sha256]["status"] == "revoked"
    assert REASON not in json.dumps(inside, ensure_ascii=False)

    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    signer = x509.load_pem_x509_certificate((tmp_path / "signer.pem").read_bytes())
    async with harness.app.state.runtime.db.transaction() as session:
        seals = (
            (
                await session.execute(
                    select(Certificate.sha256).where(
                        Certificate.school_id == SCHOOL, Certificate.role == "seal"
                    )
                )
            )
            .scalars()
            .all()
        )
    assert hashlib.sha256(signer.public_bytes(Encoding.DER)).hexdigest() in seals

    # One changed byte in the signed list: openssl refuses it.
    at = signed.content.index(final.sha256.encode())
    tampered = bytearray(signed.content)
    tampered[at] ^= 0x01
    p7m.write_bytes(bytes(tampered))
    refused = _openssl_verify(p7m, root, tmp_path / "bad.json", tmp_path / "bad.pem")
    assert refused.returncode != 0

    unknown = await harness.client.get("/status/no-such-school/list.json")
    assert (unknown.status_code, unknown.json()["field"]) == (404, "school_id")
    malformed = await harness.client.get("/status/..%2Fetc/list.json")
    assert malformed.status_code in (404, 422)


async def test_batch_verification_answers_each_code_and_file_in_order_and_names_the_field_it_refuses(
    harness: Harness,
) -> None:
    """A university checks an intake at once: codes and files, one answer each; the bounds (how many,
    how large) refuse the request naming the field."""
    _, (middle, middle_pdf), (final, final_pdf) = await sealed(harness, "Ngô Bảo Châu")
    assert final.printed_code is not None
    body: dict[str, Any] = {
        "codes": [final.printed_code, "zzzzzzzzzz", final.printed_code.lower()],
        "files": [
            {"name": "ho-so-1.pdf", "content_base64": base64.b64encode(final_pdf).decode()},
            {"name": "cu.pdf", "content_base64": base64.b64encode(middle_pdf).decode()},
            {"name": "rac.pdf", "content_base64": base64.b64encode(b"%PDF-1.7 not really").decode()},
        ],
    }
    answered = await harness.client.post("/verify/batch", json=body)
    assert answered.status_code == 200, answered.text
    results = answered.json()["results"]
    assert [r["item"] for r in results] == ["codes.0", "codes.1", "codes.2", "files.0", "files.1", "files.2"]
    good, unknown, lower, file_good, file_old, junk = results
    assert (good["found"], good["verdict"], good["document"]["status"]) == (True, "valid", "current")
    assert good["document"]["version_sha256"] == final.sha256
    assert (unknown["found"], unknown["verdict"]) == (False, "invalid")
    assert lower["document"]["version_sha256"] == final.sha256
    assert (file_good["name"], file_good["verdict"], file_good["document"]["relation"]) == (
        "ho-so-1.pdf",
        "valid",
        "exact",
    )
    assert file_good["file"] == {"signatures": 4, "document_timestamps": 1}
    assert (file_old["document"]["status"], file_old["document"]["superseded_by"]["version_sha256"]) == (
        "superseded",
        final.sha256,
    )
    assert middle.sha256 == file_old["document"]["version_sha256"]
    assert (junk["found"], junk["verdict"]) == (False, "invalid")

    # Revoked: the batch says so too.
    assert await harness.feed(revoked(final.subject_id, final.id)) is Outcome.applied
    again = (await harness.client.post("/verify/batch", json={"codes": [final.printed_code]})).json()
    assert (again["results"][0]["verdict"], again["results"][0]["document"]["status"]) == (
        "invalid",
        "revoked",
    )

    async def refused(payload: Any, **kwargs: Any) -> tuple[int, str | None]:
        answer = await harness.client.post("/verify/batch", json=payload, **kwargs)
        return answer.status_code, answer.json().get("field")

    limits = harness.app.state
    assert await refused({"codes": ["ABCDEF"] * (limits.verify_batch_max_codes + 1)}) == (422, "codes")
    assert await refused({"codes": []}) == (422, "codes")
    assert await refused({"codes": ["A" * 41]}) == (422, "codes.0")
    assert await refused({"codes": [7]}) == (422, "codes.0")
    assert await refused({"files": [{"content_base64": "not base64!"}]}) == (422, "files.0.content_base64")
    assert await refused({"files": [{"content_base64": "QUJD"}] * (limits.verify_batch_max_files + 1)}) == (
        422,
        "files",
    )
    assert await refused({"codes": ["ABCDEF"], "extra": 1}) == (422, "extra")
    big = base64.b64encode(b"%PDF" + b" " * limits.verify_max_upload).decode()
    assert await refused({"files": [{"content_base64": big}]}) == (413, "files.0.content_base64")
    wrong_type = await harness.client.post("/verify/batch", content=b"{}", headers=PDF)
    assert (wrong_type.status_code, wrong_type.json()["field"]) == (415, "body")


async def test_b_lta_renewal_adds_a_fresh_archive_timestamp_once_due_and_the_record_still_verifies(
    harness: Harness,
) -> None:
    """Issue 13 §5 (long term): a sealed record whose last archive timestamp reached the renewal age
    gets the validation data of that timestamp and a new document timestamp, stored beside it; the
    renewed file verifies as the same version (`archived`); a renewal that would gain nothing (the
    same authority certificate, due only by the horizon) is not made."""
    from datetime import timedelta

    from cryptography import x509 as crypto_x509

    from hbs_signing.archive.renewal import ArchiveRenewals, RenewalPolicy, last_timestamp

    (_, _), _, (final, final_pdf) = await sealed(harness, "Lý Thị Thanh Tâm")
    state = harness.app.state
    db = state.runtime.db

    def renewals(policy: RenewalPolicy) -> ArchiveRenewals:
        return ArchiveRenewals(db, state.document_store, state.signing_requests, policy)

    async def kept() -> list[Any]:
        async with db.transaction() as session:
            return await state.archive_renewals.repository.of(session, final.id)

    now = datetime.now(UTC)
    short = RenewalPolicy(horizon=timedelta(days=1), max_age=timedelta(days=1))
    assert await renewals(short).run_once(now + timedelta(hours=12)) >= 0
    assert await kept() == []  # not due yet: the seal's timestamp is 12 hours "old"
    await renewals(short).run_once(now + timedelta(days=2))
    [renewal] = await kept()
    renewed = state.document_store.get(renewal.sha256)
    assert renewed.startswith(final_pdf)
    assert len(renewed) > len(final_pdf)
    first, newest = last_timestamp(final_pdf), last_timestamp(renewed)
    assert first is not None
    assert newest is not None
    assert newest.at > first.at

    answer = (await harness.client.post("/verify", content=renewed, headers=PDF)).json()
    assert answer["verdict"] == "valid", (answer["problems"], [s["problems"] for s in answer["signatures"]])
    assert answer["document"]["version_sha256"] == final.sha256
    assert answer["document"]["relation"] == "archived"
    assert answer["file"] == {"signatures": 4, "document_timestamps": 2}
    # The age counts from the new timestamp: not due again before a day after it.
    await renewals(short).run_once(now + timedelta(hours=20))
    assert len(await kept()) == 1

    # Due only by the horizon (the authority's certificate ends within it) with the same authority:
    # a new timestamp would gain nothing, so none is made.
    tsa_ends = crypto_x509.load_der_x509_certificate(
        state.development_ca.tsa_certificate_der
    ).not_valid_after_utc
    near_end = RenewalPolicy(horizon=timedelta(days=30))
    assert await renewals(near_end).run_once(tsa_ends - timedelta(days=10)) == 0
    assert len(await kept()) == 1
