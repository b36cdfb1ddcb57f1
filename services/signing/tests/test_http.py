"""The signing app over HTTP, in-process: development CA endpoints, PIN and activation, public
verification (rate-limited), certificates and revocation, and the consumers."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from asn1crypto import algos, tsp
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import FastAPI
from faststream.kafka import KafkaBroker
from sqlalchemy import select

from hbs_identity.models import Account
from hbs_identity.tokens.keys import TokenIssuer
from hbs_shared.auth import JwksVerifier
from hbs_shared.authz import AuthzClient
from hbs_shared.events.contracts import SheetSigningRequested, SheetSigningRequestedV2
from hbs_shared.events.envelope import EventPayload, make_envelope
from hbs_shared.events.identity import AccountFactorReset
from hbs_shared.messaging.consumer import Outcome
from hbs_signing.app import create_app
from hbs_signing.models import PinAudit, SignedDocument, SigningRequest
from hbs_signing.samples import score_sheet_content
from hbs_signing.settings import SigningSettings
from hbs_signing.token import TokenConfig
from hbs_signing.verification.bounded import BoundedExaminer, Budget
from hbs_signing.verification.service import RateLimiter

from .conftest import school_changed

pytestmark = [pytest.mark.db, pytest.mark.broker, pytest.mark.hsm]
SCHOOL = "thpt-http"


@dataclass
class Harness:
    app: FastAPI
    client: httpx.AsyncClient
    issuer: TokenIssuer
    accounts: dict[uuid.UUID, list[str]]
    """Staff roles identity's double answers for `GET /accounts/{id}` (who may be keyed is pinned
    with the real identity in test_security_holes.py; these tests are about CSRs and imports)."""
    bootstrap: str

    def headers(self, user: uuid.UUID, roles: tuple[str, ...] = ("subject_teacher",)) -> dict[str, str]:
        account = Account(
            id=user,
            school_id=SCHOOL,
            username=f"u{user.hex[:8]}",
            full_name="Nguyễn Thị Hoa",
            password_hash="x",
            roles=list(roles),
        )
        return {"authorization": f"Bearer {self.issuer.issue(account)}"}

    async def feed(self, payload: EventPayload) -> Outcome:
        raw = json.dumps(make_envelope(payload, SCHOOL).model_dump(mode="json")).encode()
        consumer = next(c for c in self.app.state.runtime.consumers if c.topic == payload.topic)
        outcome: Outcome = await consumer.process(raw)
        return outcome

    async def handled(self, request_id: uuid.UUID, timeout: float = 30.0) -> SigningRequest:
        """The request's outcome, once the runner settled it (the consumer only queues it)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            async with self.app.state.runtime.db.transaction() as session:
                found = await session.get(SigningRequest, request_id)
            if found is not None or asyncio.get_running_loop().time() > deadline:
                break
            await asyncio.sleep(0.05)
        assert found is not None, "the request was not settled in time"
        return found


@pytest.fixture(scope="module")
async def signing(
    databases: Any, kafka: Any, token_config: TokenConfig, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Harness]:
    settings = SigningSettings(
        database_url=databases.new("signing"),
        kafka_bootstrap=kafka.bootstrap,
        data_dir=tmp_path_factory.mktemp("signing-app"),
        environment="test",
        school_id=SCHOOL,
        softhsm_dir=token_config.softhsm_dir,
        token_label=token_config.token_label,
        token_pin=token_config.pin,
        verify_requests_per_minute=12,
    )
    assert os.environ.get("SOFTHSM2_CONF")
    app = create_app(settings)
    issuer = TokenIssuer(Ed25519PrivateKey.generate(), 300)
    app.state.verifier = JwksVerifier("http://identity", static_jwks=issuer.jwks())
    async with (
        LifespanManager(app, startup_timeout=90, shutdown_timeout=30),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://signing") as client,
    ):
        accounts: dict[uuid.UUID, list[str]] = {}

        def identity_accounts(request: httpx.Request) -> httpx.Response:
            user = uuid.UUID(request.url.path.rsplit("/", 1)[-1])
            if user not in accounts:
                return httpx.Response(404, json={"title": "Không tìm thấy", "status": 404})
            body = {"id": str(user), "kind": "staff", "roles": accounts[user], "disabled": False}
            return httpx.Response(200, json=body)

        identity = httpx.AsyncClient(
            transport=httpx.MockTransport(identity_accounts), base_url="http://identity"
        )
        app.state.authz = AuthzClient("http://identity", client=identity)
        harness = Harness(app, client, issuer, accounts, kafka.bootstrap)
        assert await harness.feed(school_changed(SCHOOL)) is Outcome.applied
        yield harness


async def test_development_ca_publishes_root_crl_and_answers_timestamps(signing: Harness) -> None:
    root = x509.load_pem_x509_certificate((await signing.client.get("/dev-ca/root.pem")).content)
    response = await signing.client.get("/dev-ca/crl")
    assert response.headers["content-type"] == "application/pkix-crl"
    crl = x509.load_der_x509_crl(response.content)
    public_key = root.public_key()
    assert isinstance(public_key, ec.EllipticCurvePublicKey)
    assert crl.is_signature_valid(public_key)
    assert crl.next_update_utc is not None

    digest = hashlib.sha256(b"hoc ba").digest()
    query = tsp.TimeStampReq(
        {
            "version": 1,
            "message_imprint": tsp.MessageImprint(
                {"hash_algorithm": algos.DigestAlgorithm({"algorithm": "sha256"}), "hashed_message": digest}
            ),
            "nonce": 12345,
            "cert_req": True,
        }
    )
    reply = await signing.client.post(
        "/dev-ca/tsa", content=query.dump(), headers={"content-type": "application/timestamp-query"}
    )
    assert reply.status_code == 200
    answer = tsp.TimeStampResp.load(reply.content)
    assert answer["status"]["status"].native == "granted"
    info = answer["time_stamp_token"]["content"]["encap_content_info"]["content"].parsed
    assert info["message_imprint"]["hashed_message"].native == digest
    assert info["nonce"].native == 12345
    wrong = await signing.client.post("/dev-ca/tsa", content=b"x", headers={"content-type": "text/plain"})
    assert wrong.status_code == 415


async def test_pin_locks_after_five_wrong_tries_and_only_an_approved_reset_unlocks_it(
    signing: Harness,
) -> None:
    user, admin, board = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    headers = signing.headers(user)
    assert (
        await signing.client.post(
            "/activations", json={"pin": "123456", "subject_ids": [str(uuid.uuid4())]}, headers=headers
        )
    ).status_code == 409
    assert (await signing.client.put("/signing-pin", json={"pin": "12"}, headers=headers)).status_code == 422
    assert (
        await signing.client.put("/signing-pin", json={"pin": "482916"}, headers=headers)
    ).status_code == 204
    scope = {"subject_ids": [str(uuid.uuid4())]}
    for left in (4, 3, 2, 1):
        wrong = await signing.client.post("/activations", json={"pin": "000000", **scope}, headers=headers)
        assert wrong.status_code == 403
        assert wrong.json()["attempts_left"] == str(left)
    locked = await signing.client.post("/activations", json={"pin": "000000", **scope}, headers=headers)
    assert locked.status_code == 423
    # Locked: even the right PIN is refused.
    assert (
        await signing.client.post("/activations", json={"pin": "482916", **scope}, headers=headers)
    ).status_code == 423
    # One admin alone no longer resets it (issue 9, hole 2): identity's two-person reset does.
    alone = await signing.client.post(
        f"/signing-pin/{user}/reset",
        json={"reason": "Giáo viên quên mã PIN"},
        headers=signing.headers(admin, ("system_admin",)),
    )
    assert (alone.status_code, alone.json()["code"]) == (409, "approval_required")
    assert "factor-resets" in alone.json()["detail"]
    assert (await signing.client.get("/signing-pin", headers=headers)).json()["locked"] is True
    assert await signing.feed(_reset(user, "signing_pin", admin, board)) == Outcome.applied
    status = (await signing.client.get("/signing-pin", headers=headers)).json()
    assert status == {"set": False, "locked": False, "attempts_left": 5, "reset_required": True}
    assert (
        await signing.client.put("/signing-pin", json={"pin": "739182"}, headers=headers)
    ).status_code == 204
    made = await signing.client.post("/activations", json={"pin": "739182", **scope}, headers=headers)
    assert made.status_code == 201, made.text
    assert uuid.UUID(made.json()["activation_id"])
    async with signing.app.state.runtime.db.transaction() as session:
        audit = (
            (await session.execute(select(PinAudit).where(PinAudit.user_id == user).order_by(PinAudit.at)))
            .scalars()
            .all()
        )
    actions = [a.action for a in audit]
    assert actions.count("wrong_pin") == 5
    assert "pin_locked" in actions
    reset_row = next(a for a in audit if a.action == "pin_reset")
    assert reset_row.actor_user_id == board  # the approving board member
    assert str(admin) in reset_row.reason  # and the requester
    assert "pin_set_after_reset" in actions


async def test_v2_request_through_the_consumer_then_public_verification(signing: Harness) -> None:
    teacher = uuid.uuid4()
    headers = signing.headers(teacher)
    sheet = score_sheet_content(8)
    assert (
        await signing.client.put("/signing-pin", json={"pin": "551122"}, headers=headers)
    ).status_code == 204
    activation = (
        await signing.client.post(
            "/activations", json={"pin": "551122", "subject_ids": [str(sheet.sheet_id)]}, headers=headers
        )
    ).json()["activation_id"]
    request = SheetSigningRequestedV2(
        request_id=uuid.uuid4(),
        activation_id=uuid.UUID(activation),
        signer_user_id=teacher,
        signer_name="Nguyễn Thị Hoa",
        signer_role="subject_teacher",
        sheet=sheet,
    )
    assert await signing.feed(request) == Outcome.applied
    handled = await signing.handled(request.request_id)
    assert handled.outcome == "completed", handled.reason
    # v1 carries no activation: refused through the same consumer, nothing signed.
    v1 = SheetSigningRequested(
        request_id=uuid.uuid4(),
        sheet_id=uuid.uuid4(),
        sheet_version=1,
        signer_user_id=teacher,
        signer_name="Nguyễn Thị Hoa",
        signer_role="subject_teacher",
        class_name="10A2",
        subject="Toán",
        term="Học kỳ I",
        school_year="2025-2026",
    )
    assert await signing.feed(v1) == Outcome.applied
    refused_v1 = await signing.handled(v1.request_id)
    assert refused_v1.outcome == "failed"
    assert refused_v1.reason is not None
    assert "activation" in refused_v1.reason
    assert refused_v1.document_id is None

    async with signing.app.state.runtime.db.transaction() as session:
        document = await session.get(SignedDocument, handled.document_id)
    assert document is not None
    pdf = (await signing.client.get(f"/documents/{document.id}/pdf", headers=headers)).content
    by_code = await signing.client.get(f"/verify/{document.printed_code}")
    assert by_code.status_code == 200
    report = by_code.json()
    assert report["verdict"] == "valid", report
    assert report["document"]["status"] == "current"
    assert "Trần Thị Ngọc Ánh" not in json.dumps(report, ensure_ascii=False), (
        "no student data in public reports"
    )
    uploaded = await signing.client.post("/verify", content=pdf, headers={"content-type": "application/pdf"})
    assert uploaded.json()["verdict"] == "valid"
    tampered = pdf.replace(b"/Producer (", b"/Producer [", 1) if b"/Producer (" in pdf else pdf[:-10]
    assert (
        await signing.client.post("/verify", content=tampered, headers={"content-type": "application/pdf"})
    ).json()["verdict"] != "valid"
    assert (await signing.client.get("/verify/ZZZZZZZZZZ")).status_code == 404
    statuses = [(await signing.client.get("/verify/ZZZZZZZZZZ")).status_code for _ in range(12)]
    assert 429 in statuses


def _reset(
    user: uuid.UUID, factor: str, requested_by: uuid.UUID, approved_by: uuid.UUID
) -> AccountFactorReset:
    return AccountFactorReset(
        user_id=user,
        factor=factor,
        reset_id=uuid.uuid4(),
        requested_by=requested_by,
        approved_by=approved_by,
        approved_at=datetime.now(UTC),
    )


async def _publish(bootstrap: str, payload: EventPayload) -> None:
    """Onto the real broker, as identity's outbox relay does."""
    broker = KafkaBroker(bootstrap)
    await broker.start()
    try:
        body = json.dumps(make_envelope(payload, SCHOOL).model_dump(mode="json")).encode()
        await broker.publish(body, topic=payload.topic, key=payload.partition_key().encode())
    finally:
        await broker.stop()


async def test_an_upload_is_examined_within_a_cpu_budget_and_a_size_limit(signing: Harness) -> None:
    """A 20 MB file padded with spaces cost 6–14 s of CPU per request on the public endpoint and
    was refused only at the end (issue 13); now the child examining it is stopped at its budget."""
    state = signing.app.state
    saved = (state.rate_limiter, state.upload_examiner, state.verify_max_upload)
    state.rate_limiter = RateLimiter(1000)
    pdf_header = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"
    padded = pdf_header + b" " * (20 * 1024 * 1024) + b"\n%%EOF\n"
    headers = {"content-type": "application/pdf"}
    try:
        over = await signing.client.post(
            "/verify", content=b"%PDF" + b" " * (5 * 1024 * 1024), headers=headers
        )
        assert over.status_code == 413
        assert over.json()["field"] == "file"
        assert "tối đa 5 MB" in over.json()["title"]

        state.verify_max_upload = 30 * 1024 * 1024  # let it in, to meet the CPU budget
        state.upload_examiner = BoundedExaminer(state.verifier_service.roots_der, Budget(cpu_seconds=1))
        costly = await signing.client.post("/verify", content=padded, headers=headers)
        assert costly.status_code == 422, costly.text
        assert costly.json()["field"] == "file"

        # One slot, taken by a costly file: another upload waits its turn, then is turned away.
        state.upload_examiner = BoundedExaminer(
            state.verifier_service.roots_der, Budget(cpu_seconds=1, concurrency=1, queue_seconds=0.2)
        )
        answers = await asyncio.gather(
            signing.client.post("/verify", content=padded, headers=headers),
            signing.client.post("/verify", content=padded, headers=headers),
        )
        assert sorted(a.status_code for a in answers) == [422, 503]
    finally:
        state.rate_limiter, state.upload_examiner, state.verify_max_upload = saved


async def test_an_approved_reset_blocks_signing_until_the_owner_sets_a_new_pin(signing: Harness) -> None:
    """Issue 9, hole 2: after identity publishes an approved password reset (two people), the
    old PIN no longer activates, an activation made before the reset no longer signs, and only
    a new PIN the owner sets in their own session (no current PIN needed) lets them sign again."""
    teacher, office, board = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    headers = signing.headers(teacher)
    before = await activated_sheet_request(signing, teacher, "Nguyễn Thị Hoa")
    assert (await signing.client.get("/signing-pin", headers=headers)).json()["reset_required"] is False

    await _publish(signing.bootstrap, _reset(teacher, "password", office, board))
    deadline = asyncio.get_running_loop().time() + 60
    while not (await signing.client.get("/signing-pin", headers=headers)).json()["reset_required"]:
        assert asyncio.get_running_loop().time() < deadline, "the reset never reached signing"
        await asyncio.sleep(0.3)
    status = (await signing.client.get("/signing-pin", headers=headers)).json()
    assert status["set"] is True  # a password reset keeps the PIN, but it no longer activates

    refused = await signing.client.post(
        "/activations", json={"pin": "662244", "subject_ids": [str(uuid.uuid4())]}, headers=headers
    )
    assert (refused.status_code, refused.json()["code"]) == (409, "pin_reset_required")
    assert refused.json()["title"] == (
        "Tài khoản của bạn vừa được đặt lại; hãy tự đặt mã PIN ký số mới trước khi ký"
    )
    assert await signing.feed(before) == Outcome.applied
    old = await signing.handled(before.request_id)
    assert (old.outcome, old.document_id) == ("failed", None)
    assert "reset" in (old.reason or "")

    # The owner sets a new PIN in their own session; signing works again, the old activation not.
    assert (
        await signing.client.put("/signing-pin", json={"pin": "918273"}, headers=headers)
    ).status_code == 204
    assert (await signing.client.get("/signing-pin", headers=headers)).json()["reset_required"] is False
    changing = await signing.client.put("/signing-pin", json={"pin": "111222"}, headers=headers)
    assert changing.status_code == 422  # an ordinary change needs the current PIN again
    sheet = score_sheet_content(3)
    activation = await signing.client.post(
        "/activations", json={"pin": "918273", "subject_ids": [str(sheet.sheet_id)]}, headers=headers
    )
    assert activation.status_code == 201, activation.text
    after = SheetSigningRequestedV2(
        request_id=uuid.uuid4(),
        activation_id=uuid.UUID(activation.json()["activation_id"]),
        signer_user_id=teacher,
        signer_name="Nguyễn Thị Hoa",
        signer_role="subject_teacher",
        sheet=sheet,
    )
    assert await signing.feed(after) == Outcome.applied
    assert (await signing.handled(after.request_id)).outcome == "completed"
    replay = before.model_copy(update={"request_id": uuid.uuid4()})
    assert await signing.feed(replay) == Outcome.applied
    assert (await signing.handled(replay.request_id)).outcome == "failed"

    async with signing.app.state.runtime.db.transaction() as session:
        audit = (await session.execute(select(PinAudit).where(PinAudit.user_id == teacher))).scalars().all()
    required = next(a for a in audit if a.action == "reset_required")
    assert required.actor_user_id == board
    assert "password" in required.reason


async def test_a_reset_of_someone_without_a_pin_still_requires_one_of_their_own(signing: Harness) -> None:
    teacher = uuid.uuid4()
    headers = signing.headers(teacher)
    assert await signing.feed(_reset(teacher, "totp", uuid.uuid4(), uuid.uuid4())) == Outcome.applied
    status = (await signing.client.get("/signing-pin", headers=headers)).json()
    assert (status["set"], status["reset_required"]) == (False, True)
    refused = await signing.client.post(
        "/activations", json={"pin": "123456", "subject_ids": [str(uuid.uuid4())]}, headers=headers
    )
    assert refused.json()["code"] == "pin_reset_required"
    assert (
        await signing.client.put("/signing-pin", json={"pin": "564738"}, headers=headers)
    ).status_code == 204
    made = await signing.client.post(
        "/activations", json={"pin": "564738", "subject_ids": [str(uuid.uuid4())]}, headers=headers
    )
    assert made.status_code == 201, made.text


async def activated_sheet_request(signing: Harness, teacher: uuid.UUID, name: str) -> SheetSigningRequestedV2:
    """A v2 request for a new sheet, activated with the teacher's PIN (set on first use)."""
    headers = signing.headers(teacher)
    if not (await signing.client.get("/signing-pin", headers=headers)).json()["set"]:
        await signing.client.put("/signing-pin", json={"pin": "662244"}, headers=headers)
    sheet = score_sheet_content(3)
    activation = (
        await signing.client.post(
            "/activations", json={"pin": "662244", "subject_ids": [str(sheet.sheet_id)]}, headers=headers
        )
    ).json()["activation_id"]
    return SheetSigningRequestedV2(
        request_id=uuid.uuid4(),
        activation_id=uuid.UUID(activation),
        signer_user_id=teacher,
        signer_name=name,
        signer_role="subject_teacher",
        sheet=sheet,
    )


async def test_revoking_a_certificate_stops_its_signatures(signing: Harness) -> None:
    teacher, admin = uuid.uuid4(), uuid.uuid4()
    first = await activated_sheet_request(signing, teacher, "Nguyễn Văn An")
    assert await signing.feed(first) == Outcome.applied
    assert (await signing.handled(first.request_id)).outcome == "completed"
    own = (await signing.client.get("/certificates", headers=signing.headers(teacher))).json()
    assert len(own) == 1
    assert own[0]["status"] == "valid"
    assert not own[0]["expiring_soon"]
    admin_headers = signing.headers(admin, ("system_admin",))
    refused = await signing.client.post(
        f"/certificates/{own[0]['id']}/revoke",
        json={"reason": "mất thiết bị"},
        headers=signing.headers(teacher),
    )
    assert refused.status_code == 403
    revoked = await signing.client.post(
        f"/certificates/{own[0]['id']}/revoke", json={"reason": "mất thiết bị"}, headers=admin_headers
    )
    assert revoked.json()["status"] == "revoked"
    second = await activated_sheet_request(signing, teacher, "Nguyễn Văn An")
    assert await signing.feed(second) == Outcome.applied
    handled = await signing.handled(second.request_id)
    assert handled.outcome == "failed"
    assert handled.reason is not None
    assert "revoked" in handled.reason


async def test_csr_from_the_token_key_then_import_refusing_a_mismatch(
    signing: Harness, tmp_path: Any
) -> None:
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    from hbs_signing.devca import DevelopmentCA

    teacher, admin = uuid.uuid4(), uuid.uuid4()
    admin_headers = signing.headers(admin, ("system_admin",))

    signing.accounts[teacher] = ["homeroom_teacher"]
    response = await signing.client.post(
        "/certificates/requests",
        json={"user_id": str(teacher), "role": "homeroom_teacher", "common_name": "Phạm Quốc Dũng"},
        headers=admin_headers,
    )
    assert response.status_code == 200, response.text
    csr = x509.load_pem_x509_csr(response.content)
    assert csr.is_signature_valid
    assert csr.subject.get_attributes_for_oid(x509.oid.NameOID.COMMON_NAME)[0].value == "Phạm Quốc Dũng"
    spki = csr.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    ca: DevelopmentCA = signing.app.state.development_ca
    issued = x509.load_der_x509_certificate(
        ca.issue(spki, common_name="Phạm Quốc Dũng", organisation="Trường", role="homeroom_teacher", days=10)
    )
    pem_chain = (issued.public_bytes(Encoding.PEM) + ca.root_pem).decode()

    # Someone else's key: refused.
    other = await signing.client.post(
        "/certificates/import",
        json={"user_id": str(uuid.uuid4()), "role": "homeroom_teacher", "chain_pem": pem_chain},
        headers=admin_headers,
    )
    assert other.status_code == 422
    assert "does not match the key" in other.json()["detail"]
    # A certificate from an unknown CA for the right key: refused.
    stranger = DevelopmentCA.load_or_create(tmp_path / "stranger")
    foreign = x509.load_der_x509_certificate(
        stranger.issue(spki, common_name="X", organisation="Y", role="homeroom_teacher")
    ).public_bytes(Encoding.PEM)
    refused = await signing.client.post(
        "/certificates/import",
        json={"user_id": str(teacher), "role": "homeroom_teacher", "chain_pem": foreign.decode()},
        headers=admin_headers,
    )
    assert refused.status_code == 422
    assert "trusted root" in refused.json()["detail"]
    # Only an admin imports.
    assert (
        await signing.client.post(
            "/certificates/import",
            json={"role": "homeroom_teacher", "chain_pem": pem_chain},
            headers=signing.headers(teacher),
        )
    ).status_code == 403
    imported = await signing.client.post(
        "/certificates/import",
        json={"user_id": str(teacher), "role": "homeroom_teacher", "chain_pem": pem_chain},
        headers=admin_headers,
    )
    assert imported.status_code == 201, imported.text
    status = imported.json()
    assert status["status"] == "valid"
    assert status["expiring_soon"]
    assert status["days_left"] <= 10
    listed = (await signing.client.get("/certificates", headers=admin_headers)).json()
    assert any(c["sha256"] == status["sha256"] for c in listed)
    metrics = (await signing.client.get("/metrics")).text
    line = next(x for x in metrics.splitlines() if x.startswith("hbs_signing_certificates_expiring_soon"))
    assert float(line.split()[-1]) >= 1
    # The soonest expiry in days (the HbsCertificateExpiring alert), and the queues' depth.
    line = next(x for x in metrics.splitlines() if x.startswith("hbs_signing_certificate_min_days_to_expiry"))
    assert 0 < float(line.split()[-1]) <= 11
    assert 'hbs_signing_queue_depth{queue="batch"} 0.0' in metrics
    assert 'hbs_signing_queue_depth{queue="queue"} 0.0' in metrics
    assert 'hbs_signing_requests_total{outcome="failed"}' in metrics
    # Each consumer's lag on its assigned partitions (from the client's last fetch).
    series = r'^hbs_consumer_lag_messages\{consumer="signing.record-requests",[^}]*\} (\S+)$'
    lag = re.search(series, metrics, re.M)
    assert lag is not None
    assert float(lag.group(1)) >= 0


async def test_a_batch_through_the_consumer_is_signed_in_the_background_with_its_progress(
    signing: Harness,
) -> None:
    import asyncio

    from hbs_shared.events.contracts import RecordSigningRequested
    from hbs_signing.samples import year_record_content

    teacher, colleague, overseer, batch_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    headers = signing.headers(teacher, ("homeroom_teacher",))
    await signing.client.put("/signing-pin", json={"pin": "773311"}, headers=headers)
    activation = (
        await signing.client.post(
            "/activations", json={"pin": "773311", "batch_id": str(batch_id)}, headers=headers
        )
    ).json()["activation_id"]
    requests = [
        RecordSigningRequested(
            request_id=uuid.uuid4(),
            activation_id=uuid.UUID(activation),
            batch_id=batch_id,
            signer_user_id=teacher,
            signer_name="Phạm Quốc Dũng",
            signer_role="homeroom_teacher",
            record=year_record_content(name=f"Học sinh {n}"),
        )
        for n in range(4)
    ]
    for request in requests:
        assert await signing.feed(request) == Outcome.applied
    assert await signing.feed(requests[0]) == Outcome.applied  # redelivered with a new event id

    status: dict[str, Any] = {}
    for _ in range(240):
        status = (await signing.client.get(f"/batches/{batch_id}", headers=headers)).json()
        if status["pending"] == 0:
            break
        await asyncio.sleep(0.5)
    assert status == {
        "batch_id": str(batch_id),
        "signer_user_id": str(teacher),
        "total": 4,
        "done": 4,
        "failed": 0,
        "pending": 0,
    }
    for request in requests:
        assert (await signing.handled(request.request_id)).outcome == "completed"
    # The progress events go out on their own topic, through the outbox, to the real broker.
    from hbs_shared.messaging.tables import outbox

    progress: list[Any] = []
    for _ in range(100):
        async with signing.app.state.runtime.db.transaction() as session:
            progress = list(
                (
                    await session.execute(
                        select(outbox.c.topic, outbox.c.sent_at, outbox.c.body).where(
                            outbox.c.event_type == "signing.batch.progress"
                        )
                    )
                ).all()
            )
        mine = [row for row in progress if row.body["payload"]["batch_id"] == str(batch_id)]
        if mine and all(row.sent_at is not None for row in mine):
            break
        await asyncio.sleep(0.2)
    assert mine
    assert {row.topic for row in mine} == {"signing.batches"}
    assert all(row.sent_at is not None for row in mine), "published to the broker"
    assert max(row.body["payload"]["done"] for row in mine) == 4
    overseen = await signing.client.get(
        f"/batches/{batch_id}", headers=signing.headers(overseer, ("principal",))
    )
    assert overseen.json()["done"] == 4
    # Another teacher of the school, an unknown batch, a bad id: the same "not found".
    other = await signing.client.get(f"/batches/{batch_id}", headers=signing.headers(colleague))
    assert other.status_code == 404
    assert other.json()["field"] == "batch_id"
    assert (await signing.client.get(f"/batches/{uuid.uuid4()}", headers=headers)).status_code == 404
    assert (await signing.client.get("/batches/x", headers=headers)).status_code == 422
    assert (await signing.client.get(f"/batches/{batch_id}")).status_code == 401


async def test_a_chain_through_an_intermediate_is_imported_with_it_and_a_broken_one_refused(
    signing: Harness, tmp_path: Any
) -> None:
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    from hbs_signing.devca import DevelopmentCA
    from hbs_signing.models import Certificate

    teacher, admin = uuid.uuid4(), uuid.uuid4()
    signing.accounts[teacher] = ["vice_principal"]
    admin_headers = signing.headers(admin, ("system_admin",))
    csr = x509.load_pem_x509_csr(
        (
            await signing.client.post(
                "/certificates/requests",
                json={"user_id": str(teacher), "role": "vice_principal", "common_name": "Lê Thị Thu Hà"},
                headers=admin_headers,
            )
        ).content
    )
    spki = csr.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    ca: DevelopmentCA = signing.app.state.development_ca
    intermediate = ca.issue_intermediate(tmp_path / "sub", common_name="HBS CA cấp dưới")
    leaf = x509.load_der_x509_certificate(
        intermediate.issue(spki, common_name="Lê Thị Thu Hà", organisation="Trường", role="vice_principal")
    ).public_bytes(Encoding.PEM)
    intermediate_pem = intermediate.root_certificate.public_bytes(Encoding.PEM)

    broken = await signing.client.post(
        "/certificates/import",
        json={"user_id": str(teacher), "role": "vice_principal", "chain_pem": leaf.decode()},
        headers=admin_headers,
    )
    assert broken.status_code == 422
    assert broken.json()["field"] == "chain_pem"
    assert "does not chain to the configured trusted root" in broken.json()["detail"]
    imported = await signing.client.post(
        "/certificates/import",
        json={
            "user_id": str(teacher),
            "role": "vice_principal",
            "chain_pem": (leaf + intermediate_pem + ca.root_pem).decode(),
        },
        headers=admin_headers,
    )
    assert imported.status_code == 201, imported.text
    async with signing.app.state.runtime.db.transaction() as session:
        stored = (
            await session.execute(select(Certificate).where(Certificate.sha256 == imported.json()["sha256"]))
        ).scalar_one()
    # The intermediate is kept to build the chain before each signature; the root is configured.
    assert stored.chain_pem == intermediate_pem.decode()


async def test_the_school_named_on_signatures_is_the_one_identity_announces(signing: Harness) -> None:
    """No setting names the school: identity's `identity.school.changed`, over the real broker, does.
    Its name goes on the certificates signing requests for, its province is where signatures are made."""
    import asyncio
    import io

    from pyhanko.pdf_utils.reader import PdfFileReader

    announced = school_changed(SCHOOL, name="Trường THPT Thử Nghiệm Số 2", province="Ninh Bình")
    envelope = make_envelope(announced, SCHOOL)
    await signing.app.state.runtime.broker.publish(
        envelope.model_dump_json().encode(), topic=announced.topic, key=announced.partition_key().encode()
    )
    admin = signing.headers(uuid.uuid4(), ("system_admin",))
    teacher = uuid.uuid4()
    signing.accounts[teacher] = ["homeroom_teacher"]

    async def organisation() -> str:
        response = await signing.client.post(
            "/certificates/requests",
            json={"user_id": str(teacher), "role": "homeroom_teacher", "common_name": "Lê Văn Học"},
            headers=admin,
        )
        assert response.status_code == 200, response.text
        csr = x509.load_pem_x509_csr(response.content)
        return str(csr.subject.get_attributes_for_oid(x509.oid.NameOID.ORGANIZATION_NAME)[0].value)

    for _ in range(240):
        if await organisation() == announced.name:
            break
        await asyncio.sleep(0.5)
    assert await organisation() == announced.name
    request = await activated_sheet_request(signing, uuid.uuid4(), "Nguyễn Văn Thử")
    assert await signing.feed(request) == Outcome.applied
    handled = await signing.handled(request.request_id)
    assert handled.outcome == "completed", handled.reason
    pdf = (
        await signing.client.get(
            f"/documents/{handled.document_id}/pdf", headers=signing.headers(request.signer_user_id)
        )
    ).content
    [signature] = PdfFileReader(io.BytesIO(pdf)).embedded_signatures
    assert signature.sig_object["/Location"] == "Ninh Bình"
    # Back to the module's school for the tests after this one.
    assert await signing.feed(school_changed(SCHOOL)) is Outcome.applied


async def test_a_school_signing_has_not_heard_of_is_named_not_guessed(signing: Harness) -> None:
    stranger = Account(
        id=uuid.uuid4(),
        school_id="thpt-chua-bao",
        username="admin-x",
        full_name="Quản trị",
        password_hash="x",
        roles=["system_admin"],
    )
    teacher = uuid.uuid4()
    signing.accounts[teacher] = ["homeroom_teacher"]
    answer = await signing.client.post(
        "/certificates/requests",
        json={"user_id": str(teacher), "role": "homeroom_teacher", "common_name": "Lê Văn Học"},
        headers={"authorization": f"Bearer {signing.issuer.issue(stranger)}"},
    )
    assert answer.status_code == 503, answer.text
    assert answer.json()["title"].startswith("Chưa nhận được thông tin của trường")
    assert answer.json()["field"] == "school_id"
