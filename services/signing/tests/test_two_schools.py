"""Two schools in one signing service (issue 14): each school's year records are signed by its own
people and sealed with its own seal (a key and certificate naming that school), each status list
holds only its school's documents, and nothing of school A is found, used or changed through
school B: not by B's people (with B's ids, or ids that happen to be A's), not by the province, not
by requests or events whose envelope names B."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from io import BytesIO
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from cryptography.x509.oid import NameOID
from fastapi import FastAPI
from pyhanko.pdf_utils.reader import PdfFileReader
from sqlalchemy import select

from hbs_identity.models import Account
from hbs_identity.tokens.keys import TokenIssuer
from hbs_shared.auth import JwksVerifier
from hbs_shared.events.contracts import RecordRevoked, RecordSigningRequested
from hbs_shared.events.envelope import EventPayload, make_envelope
from hbs_shared.events.identity import AccountFactorReset
from hbs_shared.messaging.consumer import Outcome
from hbs_shared.schools import PROVINCE_SCOPE
from hbs_signing.activations.service import ActivationError
from hbs_signing.app import create_app
from hbs_signing.certificates.service import NoUsableCertificate
from hbs_signing.models import Certificate, ExchangePackage, SignedDocument, SigningPin, SigningRequest
from hbs_signing.requests.service import SEAL_ROLE, seal_user_id
from hbs_signing.samples import year_record_content
from hbs_signing.settings import SigningSettings
from hbs_signing.token import TokenConfig

from .conftest import school_changed

pytestmark = [pytest.mark.db, pytest.mark.broker, pytest.mark.hsm]
A, B = "thpt-hai-a", "thpt-hai-b"
NAMES = {A: "Trường THPT Hải An", B: "Trường THPT Hải Bình"}
PIN = "864209"
ROLES = ("homeroom_teacher", "vice_principal", "principal")


@dataclass
class School:
    school_id: str
    people: dict[str, uuid.UUID] = field(default_factory=lambda: {role: uuid.uuid4() for role in ROLES})
    office: uuid.UUID = field(default_factory=uuid.uuid4)
    record_id: uuid.UUID | None = None
    student_id: uuid.UUID | None = None
    documents: list[SignedDocument] = field(default_factory=list)
    """Each version of its year record, the sealed one last."""
    batch_id: uuid.UUID = field(default_factory=uuid.uuid4)

    @property
    def name(self) -> str:
        return NAMES[self.school_id]


@dataclass
class Harness:
    app: FastAPI
    client: httpx.AsyncClient
    issuer: TokenIssuer
    a: School
    b: School
    package_id: uuid.UUID = field(default_factory=uuid.uuid4)

    def headers(self, user: uuid.UUID, roles: tuple[str, ...], school_id: str) -> dict[str, str]:
        account = Account(
            id=user,
            school_id=school_id,
            username=f"u{user.hex[:8]}",
            full_name="Người dùng",
            password_hash="x",
            roles=list(roles),
        )
        return {"authorization": f"Bearer {self.issuer.issue(account)}"}

    async def feed(self, payload: EventPayload, school_id: str) -> Outcome:
        raw = json.dumps(make_envelope(payload, school_id).model_dump(mode="json")).encode()
        consumer = next(c for c in self.app.state.runtime.consumers if c.topic == payload.topic)
        outcome: Outcome = await consumer.process(raw)
        return outcome

    async def handled(self, request_id: uuid.UUID) -> SigningRequest:
        for _ in range(600):
            async with self.app.state.runtime.db.transaction() as session:
                found = await session.get(SigningRequest, request_id)
            if isinstance(found, SigningRequest):
                return found
            await asyncio.sleep(0.05)
        raise AssertionError("the request was not settled in time")

    async def activation(self, school: School, role: str, **scope: Any) -> uuid.UUID:
        headers = self.headers(school.people[role], (role,), school.school_id)
        status = (await self.client.get("/signing-pin", headers=headers)).json()
        if not status["set"]:
            assert (
                await self.client.put("/signing-pin", json={"pin": PIN}, headers=headers)
            ).status_code == 204
        made = await self.client.post("/activations", json={"pin": PIN, **scope}, headers=headers)
        assert made.status_code == 201, made.text
        return uuid.UUID(made.json()["activation_id"])

    async def document(self, document_id: uuid.UUID | None) -> SignedDocument:
        async with self.app.state.runtime.db.transaction() as session:
            found = await session.get(SignedDocument, document_id)
        assert isinstance(found, SignedDocument)
        return found


async def _sign_year_record(h: Harness, school: School) -> None:
    """Steps 2–4 and the seal, each request through the consumer with the school's envelope; the
    homeroom teacher's in a batch (so the school has a batch too)."""
    content = year_record_content(name=f"Học sinh {school.school_id}").model_copy(
        update={"school_name": school.name}
    )
    school.record_id, school.student_id = content.record_id, content.student.student_id
    base: uuid.UUID | None = None
    for role in ROLES:
        batch = school.batch_id if role == "homeroom_teacher" else None
        scope = {"batch_id": str(batch)} if batch else {"subject_ids": [str(content.record_id)]}
        request = RecordSigningRequested(
            request_id=uuid.uuid4(),
            activation_id=await h.activation(school, role, **scope),
            batch_id=batch,
            signer_user_id=school.people[role],
            signer_name=f"{role} {school.school_id}",
            signer_role=role,
            base_document_id=base,
            record=content,
        )
        assert await h.feed(request, school.school_id) is Outcome.applied
        handled = await h.handled(request.request_id)
        assert handled.outcome == "completed", handled.reason
        school.documents.append(await h.document(handled.document_id))
        base = handled.document_id
    assert school.documents[-1].sealed


@pytest.fixture(scope="module")
async def signing(
    databases: Any, kafka: Any, token_config: TokenConfig, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Harness]:
    settings = SigningSettings(
        database_url=databases.new("signing"),
        kafka_bootstrap=kafka.bootstrap,
        data_dir=tmp_path_factory.mktemp("signing-two"),
        environment="test",
        softhsm_dir=token_config.softhsm_dir,
        token_label=token_config.token_label,
        token_pin=token_config.pin,
    )
    assert os.environ.get("SOFTHSM2_CONF")
    app = create_app(settings)
    issuer = TokenIssuer(Ed25519PrivateKey.generate(), 300)
    app.state.verifier = JwksVerifier("http://identity", static_jwks=issuer.jwks())
    async with (
        LifespanManager(app, startup_timeout=90, shutdown_timeout=30),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://signing") as client,
    ):
        h = Harness(app, client, issuer, School(A), School(B))
        for school in (h.a, h.b):
            assert await h.feed(school_changed(school.school_id, name=school.name), school.school_id) is (
                Outcome.applied
            )
        for school in (h.a, h.b):
            await _sign_year_record(h, school)
        async with app.state.runtime.db.transaction() as session:
            session.add(
                ExchangePackage(
                    id=h.package_id, school_id=A, direction="exported", reason="transferred",
                    student_id=h.a.student_id, sha256=h.a.documents[-1].sha256, size=1, records=1,
                    sender_school_id=A, sender_school_name=NAMES[A], sender_package_id=h.package_id,
                    actor_id=h.a.office, created_at=datetime.now(UTC),
                )
            )  # fmt: skip
        yield h


def _seal_certificate(pdf: bytes) -> x509.Certificate:
    """The certificate of the document's fourth signature, the school seal's (Sig4_DauTruong)."""
    signature = PdfFileReader(BytesIO(pdf)).embedded_signatures[3]
    assert signature.field_name == "Sig4_DauTruong"
    return x509.load_der_x509_certificate(signature.signer_cert.dump())


def _organisation(certificate: x509.Certificate) -> str:
    return str(certificate.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value)


async def test_each_school_seals_with_its_own_seal_key_and_certificate(signing: Harness) -> None:
    store = signing.app.state.document_store
    seals: dict[str, x509.Certificate] = {}
    for school in (signing.a, signing.b):
        sealed = school.documents[-1]
        certificate = _seal_certificate(store.get(sealed.sha256))
        assert _organisation(certificate) == school.name
        async with signing.app.state.runtime.db.transaction() as session:
            held = (
                await session.execute(
                    select(Certificate).where(
                        Certificate.sha256
                        == hashlib.sha256(certificate.public_bytes(Encoding.DER)).hexdigest()
                    )
                )
            ).scalar_one()
        assert (held.school_id, held.user_id, held.role) == (
            school.school_id,
            seal_user_id(school.school_id),
            SEAL_ROLE,
        )
        # Every signature of the school's record is made with a certificate of that school.
        assert {d.school_id for d in school.documents} == {school.school_id}
        seals[school.school_id] = certificate
    keys = {
        school_id: c.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
        for school_id, c in seals.items()
    }
    assert keys[A] != keys[B], "each school's seal has its own key"


async def test_each_status_list_lists_only_its_own_schools_documents(signing: Harness) -> None:
    for school, other in ((signing.a, signing.b), (signing.b, signing.a)):
        answer = await signing.client.get(f"/status/{school.school_id}/list.json")
        assert answer.status_code == 200, answer.text
        listed = answer.json()
        assert listed["school_id"] == school.school_id
        digests = {entry["sha256"] for entry in listed["entries"]}
        assert {d.sha256 for d in school.documents} <= digests
        assert not digests & {d.sha256 for d in other.documents}


def _callers(h: Harness) -> dict[str, dict[str, str]]:
    b, a = h.b, h.a
    return {
        "b_principal": h.headers(b.people["principal"], ("principal",), B),
        "b_office": h.headers(b.office, ("system_admin", "office_admin"), B),
        "b_homeroom": h.headers(b.people["homeroom_teacher"], ("homeroom_teacher",), B),
        "a_ids_in_b_principal": h.headers(a.people["principal"], ("principal",), B),
        "a_ids_in_b_homeroom": h.headers(a.people["homeroom_teacher"], ("homeroom_teacher",), B),
        "a_ids_in_b_office": h.headers(a.office, ("system_admin", "office_admin"), B),
        "province": h.headers(uuid.uuid4(), ("province_admin", "province_officer"), PROVINCE_SCOPE),
    }


async def test_nothing_of_school_a_is_found_by_school_b_or_the_province(signing: Harness) -> None:
    a = signing.a
    async with signing.app.state.runtime.db.transaction() as session:
        certificates = list(
            (await session.execute(select(Certificate.id).where(Certificate.school_id == A))).scalars()
        )
    assert certificates
    by_id: list[tuple[str, str, dict[str, Any] | None]] = [
        *(("GET", f"/documents/{d.id}", None) for d in a.documents),
        *(("GET", f"/documents/{d.id}/pdf", None) for d in a.documents),
        ("GET", f"/batches/{a.batch_id}", None),
        *(("POST", f"/certificates/{c}/revoke", {"reason": "key_compromise"}) for c in certificates),
        ("GET", f"/exchange/packages/{signing.package_id}", None),
        ("GET", f"/exchange/packages/{signing.package_id}/pdf", None),
        ("GET", f"/exchange/packages/{signing.package_id}/receipt", None),
        ("GET", f"/exchange/packages/{signing.package_id}/files/identity.json", None),
        ("POST", f"/exchange/packages/{signing.package_id}/verify", None),
    ]
    lists = [
        f"/documents/students/{a.student_id}/records",
        f"/exchange/students/{a.student_id}/packages",
        "/certificates",
    ]
    secrets = [
        str(a.record_id),
        str(a.student_id),
        *(str(d.id) for d in a.documents),
        *(d.sha256 for d in a.documents),
        *map(str, certificates),
        str(signing.package_id),
    ]
    wrong: list[str] = []
    for who, headers in _callers(signing).items():
        for method, path, body in by_id:
            answer = await signing.client.request(method, path, headers=headers, json=body)
            if answer.status_code not in (403, 404):
                wrong.append(f"{who} {method} {path} → {answer.status_code} {answer.text[:160]}")
        for path in lists:
            answer = await signing.client.get(path, headers=headers)
            shown = [s for s in secrets if s in answer.text] if answer.status_code < 400 else []
            if answer.status_code >= 500 or shown:
                wrong.append(f"{who} GET {path} → {answer.status_code} shows {shown}")
    assert not wrong, "\n".join(wrong)
    # School A's own people find them (the refusals above are about the school, not the ids).
    own = signing.headers(a.people["principal"], ("principal",), A)
    assert (await signing.client.get(f"/documents/{a.documents[-1].id}", headers=own)).status_code == 200
    assert (
        await signing.client.get(f"/exchange/packages/{signing.package_id}", headers=own)
    ).status_code == 200
    assert (await signing.client.get(f"/batches/{a.batch_id}", headers=own)).status_code == 200


async def test_requests_of_school_b_never_use_school_a_activation_document_or_key(signing: Harness) -> None:
    a, b = signing.a, signing.b
    assert a.record_id is not None
    content = year_record_content(name="Học sinh B").model_copy(
        update={"school_name": NAMES[B], "record_id": a.record_id}
    )
    # A's principal's activation for A's record, named by a request with B's envelope.
    stolen = await signing.activation(a, "principal", subject_ids=[str(a.record_id)])
    with_a_activation = RecordSigningRequested(
        request_id=uuid.uuid4(),
        activation_id=stolen,
        signer_user_id=a.people["principal"],
        signer_name="Hiệu trưởng",
        signer_role="principal",
        base_document_id=a.documents[1].id,
        record=content,
    )
    # B's own vice-principal, activated in B, building on A's homeroom-signed document.
    own = await signing.activation(b, "vice_principal", subject_ids=[str(a.record_id)])
    on_a_document = RecordSigningRequested(
        request_id=uuid.uuid4(),
        activation_id=own,
        signer_user_id=b.people["vice_principal"],
        signer_name="Phó hiệu trưởng",
        signer_role="vice_principal",
        base_document_id=a.documents[0].id,
        record=content,
    )
    reasons = {}
    for name, request in (("activation", with_a_activation), ("document", on_a_document)):
        assert await signing.feed(request, B) is Outcome.applied
        handled = await signing.handled(request.request_id)
        assert handled.outcome == "failed", (name, handled)
        assert handled.document_id is None
        reasons[name] = handled.reason or ""
    assert "activation" in reasons["activation"]
    assert "base document" in reasons["document"]
    async with signing.app.state.runtime.db.transaction() as session:
        b_documents = (
            await session.execute(select(SignedDocument).where(SignedDocument.school_id == B))
        ).scalars()
        assert {d.subject_id for d in b_documents} == {b.record_id}
        # A signer id of A's can hold no PIN and no key in B: the token's key is named by the id.
        activations = signing.app.state.activations
        with pytest.raises(ActivationError):
            await activations.set_pin(session, B, a.people["principal"], "135792", PIN)
        certificates = signing.app.state.certificates
        with pytest.raises(NoUsableCertificate):
            await certificates.for_signer(
                session, B, a.people["principal"], "Kẻ mạo danh", "principal", NAMES[B]
            )


async def test_events_of_school_b_never_change_school_a(signing: Harness) -> None:
    a = signing.a
    principal = a.people["principal"]
    reset = AccountFactorReset(
        user_id=principal,
        factor="signing_pin",
        reset_id=uuid.uuid4(),
        requested_by=uuid.uuid4(),
        approved_by=uuid.uuid4(),
        approved_at=datetime.now(UTC),
    )
    assert await signing.feed(reset, B) is Outcome.applied
    assert a.record_id is not None
    revoked = RecordRevoked(
        record_id=a.record_id,
        document_id=a.documents[-1].id,
        minutes_number="09/BB",
        minutes_date=date(2026, 12, 5),
        reason="Thu hồi",
        revoked_by=signing.b.people["principal"],
        revoked_by_role="principal",
        revoked_at=datetime.now(UTC),
    )
    assert await signing.feed(revoked, B) is Outcome.applied
    renamed = await signing.feed(school_changed(A, name="Trường Bị Đổi Tên"), B)
    async with signing.app.state.runtime.db.transaction() as session:
        pin = (await session.execute(select(SigningPin).where(SigningPin.user_id == principal))).scalar_one()
        facts = await signing.app.state.signing_requests.school.get(session, A)
    listed = (await signing.client.get(f"/status/{A}/list.json")).json()
    sealed = next(e for e in listed["entries"] if e["sha256"] == a.documents[-1].sha256)
    changed = {
        "pin": (pin.school_id, pin.reset_required, pin.pin_hash is not None),
        "facts": facts.name,
        "status": sealed["status"],
        "renamed": renamed,
    }
    assert changed == {
        "pin": (A, False, True),
        "facts": NAMES[A],
        "status": "current",
        "renamed": Outcome.dead_lettered,
    }
