"""Unit tests of the rules that accept or refuse a signing request (Đ7.2, Đ8 Steps 2–4), wired by
`bootstrap()` with in-memory repositories, outbox and activations: no database, broker or token.
The same rules run for real in test_signing_flow.py, test_batches.py and the whole-system tests."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from hbs_shared.events.contracts import (
    MinutesSigningRequested,
    RecordSigningRequested,
    SheetSigningRequested,
    SigningFailed,
    SigningFailedV2,
)
from hbs_shared.school_facts import SchoolFacts
from hbs_signing.activations.service import ActivationError
from hbs_signing.bootstrap import Signing, bootstrap
from hbs_signing.models import SignedDocument, SigningRequest
from hbs_signing.samples import minutes_content, year_record_content
from hbs_signing.settings import SigningSettings
from hbs_signing.token import Token, TokenConfig

SCHOOL = "thpt-test"
NOW = datetime(2027, 5, 20, 8, 0, tzinfo=UTC)
SESSION: Any = None
"""The fakes keep everything in memory: the service's session argument is never used."""


class FakeRequests:
    def __init__(self) -> None:
        self.rows: dict[uuid.UUID, SigningRequest] = {}

    async def get(self, _session: Any, request_id: uuid.UUID) -> SigningRequest | None:
        return self.rows.get(request_id)

    def add(self, _session: Any, request: SigningRequest) -> None:
        self.rows[request.request_id] = request


class FakeDocuments:
    def __init__(self) -> None:
        self.rows: list[SignedDocument] = []

    async def get(self, _session: Any, school_id: str, document_id: uuid.UUID) -> SignedDocument | None:
        return next((d for d in self.rows if d.id == document_id and d.school_id == school_id), None)

    async def current_for(
        self, _session: Any, school_id: str, subject_id: uuid.UUID
    ) -> SignedDocument | None:
        mine = [d for d in self.rows if d.school_id == school_id and d.subject_id == subject_id]
        return mine[-1] if mine else None


class FakeOutbox:
    def __init__(self) -> None:
        self.sent: list[Any] = []

    async def add(self, _session: Any, event: Any, _school_id: str) -> None:
        self.sent.append(event)


class FakeActivations:
    def __init__(self, refusal: ActivationError | None = None) -> None:
        self.refusal = refusal

    async def check(self, _session: Any, **_scope: Any) -> None:
        if self.refusal is not None:
            raise self.refusal


class FakeSchool:
    """The school's facts as identity announced them (a table in the real service)."""

    async def get(self, _session: Any, school_id: str) -> SchoolFacts:
        return SchoolFacts(
            school_id=school_id,
            name="Trường THPT Chuyên Thái Bình",
            authority="Sở Giáo dục và Đào tạo Thái Bình",
            province="Thái Bình",
            principal_name="Trần Văn Minh",
            school_year="2026-2027",
        )

    async def require(self, session: Any, school_id: str) -> SchoolFacts:
        return await self.get(session, school_id)


class Wired:
    def __init__(self, tmp_path: Path, activations: FakeActivations | None = None) -> None:
        self.requests, self.documents, self.outbox = FakeRequests(), FakeDocuments(), FakeOutbox()
        settings = SigningSettings(data_dir=tmp_path, environment="test")
        # Never opened: these rules refuse before anything reaches the token.
        token = Token(
            TokenConfig(module_path="/nonexistent.so", token_label="t", pin="x", so_pin="y", softhsm_dir=None)
        )
        self.signing: Signing = bootstrap(
            settings,
            token=token,
            activations=activations or FakeActivations(),  # type: ignore[arg-type]
            signing_requests=self.requests,
            documents=self.documents,
            outbox=self.outbox,
            school=FakeSchool(),  # type: ignore[arg-type]
        )

    def failure(self) -> SigningFailed:
        assert len(self.outbox.sent) == 1, self.outbox.sent
        event = self.outbox.sent[0]
        assert isinstance(event, SigningFailed)
        return event


def record_request(role: str, base: uuid.UUID | None = None, record_id: uuid.UUID | None = None) -> Any:
    record = year_record_content().model_copy(update={"record_id": record_id or uuid.uuid4()})
    return RecordSigningRequested(
        request_id=uuid.uuid4(),
        activation_id=uuid.uuid4(),
        signer_user_id=uuid.uuid4(),
        signer_name="Trần Văn Minh",
        signer_role=role,
        base_document_id=base,
        record=record,
    )


def document(subject_id: uuid.UUID, *, signatures: int, sealed: bool = False) -> SignedDocument:
    return SignedDocument(
        id=uuid.uuid4(),
        school_id=SCHOOL,
        sha256="0" * 64,
        size=1,
        kind="year_record",
        subject_id=subject_id,
        request_id=uuid.uuid4(),
        signer_user_id=uuid.uuid4(),
        signer_role="homeroom_teacher",
        certificate_sha256="0" * 64,
        verification_code=uuid.uuid4().hex[:10],
        signature_count=signatures,
        sealed=sealed,
    )


async def test_a_v1_sheet_request_from_the_bus_is_refused_without_an_activation_once(tmp_path: Path) -> None:
    wired = Wired(tmp_path)
    request = SheetSigningRequested(
        request_id=uuid.uuid4(),
        sheet_id=uuid.uuid4(),
        sheet_version=1,
        signer_user_id=uuid.uuid4(),
        signer_name="Nguyễn Thị Hoa",
        signer_role="subject_teacher",
        class_name="10A1",
        subject="Toán",
        term="Học kỳ I",
        school_year="2026-2027",
    )
    service = wired.signing.requests
    await service.refuse_without_activation(SESSION, SCHOOL, request)
    assert "chưa kích hoạt ký bằng mã PIN" in wired.failure().reason
    assert wired.requests.rows[request.request_id].outcome == "failed"
    # Redelivered: already handled, nothing sent twice.
    await service.refuse_without_activation(SESSION, SCHOOL, request)
    assert len(wired.outbox.sent) == 1


async def test_a_refused_activation_fails_the_request_with_its_reason(tmp_path: Path) -> None:
    refusal = ActivationError("expired", "phiên kích hoạt đã hết hạn")
    wired = Wired(tmp_path, FakeActivations(refusal))
    await wired.signing.requests.sign_record(SESSION, SCHOOL, record_request("homeroom_teacher"), NOW)
    assert wired.failure().reason == "phiên kích hoạt đã hết hạn"


@pytest.mark.parametrize(
    ("role", "reason"),
    [
        ("vice_principal", "is added to the earlier signed document"),
        ("principal", "is added to the earlier signed document"),
        ("subject_teacher", "does not sign a year record"),
    ],
)
async def test_a_later_step_needs_the_earlier_signed_document(tmp_path: Path, role: str, reason: str) -> None:
    wired = Wired(tmp_path)
    await wired.signing.requests.sign_record(SESSION, SCHOOL, record_request(role), NOW)
    assert reason in wired.failure().reason


async def test_the_principal_cannot_sign_before_the_vice_principal(tmp_path: Path) -> None:
    wired = Wired(tmp_path)
    record_id = uuid.uuid4()
    homeroom = document(record_id, signatures=1)
    wired.documents.rows.append(homeroom)
    await wired.signing.requests.sign_record(
        SESSION, SCHOOL, record_request("principal", homeroom.id, record_id), NOW
    )
    assert "must be number 3" in wired.failure().reason


@pytest.mark.parametrize(
    ("sealed", "newer", "reason"), [(True, False, "sealed"), (False, True, "superseded")]
)
async def test_a_sealed_or_superseded_document_takes_no_further_signature(
    tmp_path: Path, sealed: bool, newer: bool, reason: str
) -> None:
    wired = Wired(tmp_path)
    record_id = uuid.uuid4()
    base = document(record_id, signatures=1, sealed=sealed)
    wired.documents.rows.append(base)
    if newer:
        wired.documents.rows.append(document(record_id, signatures=1))
    await wired.signing.requests.sign_record(
        SESSION, SCHOOL, record_request("vice_principal", base.id, record_id), NOW
    )
    assert reason in wired.failure().reason


async def test_a_base_document_of_another_record_is_refused(tmp_path: Path) -> None:
    wired = Wired(tmp_path)
    elsewhere = document(uuid.uuid4(), signatures=1)
    wired.documents.rows.append(elsewhere)
    await wired.signing.requests.sign_record(
        SESSION, SCHOOL, record_request("vice_principal", elsewhere.id), NOW
    )
    assert "not a signed version of this record" in wired.failure().reason


@pytest.mark.parametrize("role", ["subject_teacher", "homeroom_teacher", "seal"])
async def test_only_a_board_member_signs_minutes(tmp_path: Path, role: str) -> None:
    wired = Wired(tmp_path)
    content = minutes_content()
    request = MinutesSigningRequested(
        request_id=uuid.uuid4(),
        activation_id=uuid.uuid4(),
        signer_user_id=uuid.uuid4(),
        signer_name="Nguyễn Thị Hoa",
        signer_role=role,  # type: ignore[arg-type]
        minutes=content,
    )
    await wired.signing.requests.sign_minutes(SESSION, SCHOOL, request, NOW)
    failure = wired.failure()
    assert isinstance(failure, SigningFailedV2)
    assert (failure.subject_kind, failure.subject_id) == ("minutes", content.correction_id)
    assert "chỉ do Hiệu trưởng hoặc Phó Hiệu trưởng ký" in failure.reason
    # Redelivered: already answered, nothing sent twice.
    await wired.signing.requests.sign_minutes(SESSION, SCHOOL, request, NOW)
    assert len(wired.outbox.sent) == 1
