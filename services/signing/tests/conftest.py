"""Shared fixtures: ONE SoftHSM token per test session (the PKCS#11 library loads once per process)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from hbs_shared.db import Database
from hbs_shared.events.identity import SchoolChanged
from hbs_shared.migrations import upgrade_to_head
from hbs_shared.school_facts import SchoolFactsStore
from hbs_signing.app import MIGRATIONS
from hbs_signing.devca import DevelopmentCA
from hbs_signing.documents.render import render_placeholder_sheet
from hbs_signing.documents.store import DocumentStore
from hbs_signing.requests.service import SigningRequestService
from hbs_signing.token import Token, TokenConfig, ensure_softhsm_token

SOFTHSM_MODULE = "/usr/lib/softhsm/libsofthsm2.so"
SIGNER = "Nguyễn Thị Hằng"
REASON = "Giáo viên bộ môn ký sổ điểm Ngữ văn lớp 10A1"
LOCATION = "Hưng Yên"
FIELD = "Sig1_GVBM"
KEY_LABEL = "u-test-teacher"

SHEET_FIELDS = {
    "school_name": "Trường THPT Chuyên Thái Bình",
    "class_name": "10A1",
    "subject": "Ngữ văn",
    "term": "Học kỳ I",
    "school_year": "2025–2026",
    "teacher_name": SIGNER,
    "verification_code": "7KQ2M9XH4P",
}


@dataclass(frozen=True)
class SignedSample:
    original: bytes
    signed: bytes
    certificate_der: bytes
    key_label: str = KEY_LABEL
    field_name: str = FIELD
    signer_name: str = SIGNER
    reason: str = REASON
    location: str = LOCATION


@pytest.fixture(scope="session")
def sheet_fields() -> dict[str, str]:
    return dict(SHEET_FIELDS)


@pytest.fixture(scope="session")
def token_config(tmp_path_factory: pytest.TempPathFactory) -> TokenConfig:
    config = TokenConfig(
        module_path=SOFTHSM_MODULE,
        token_label="hbs-test",
        pin="test-pin-1234",
        so_pin="test-so-pin-5678",
        softhsm_dir=tmp_path_factory.mktemp("softhsm"),
    )
    # Sets SOFTHSM2_CONF before any test loads the library.
    ensure_softhsm_token(config)
    return config


@pytest.fixture(scope="session")
async def token(token_config: TokenConfig) -> AsyncIterator[Token]:
    opened = Token(token_config)
    await opened.open()
    yield opened
    await opened.close()


@pytest.fixture(scope="session")
def dev_ca(tmp_path_factory: pytest.TempPathFactory) -> DevelopmentCA:
    return DevelopmentCA.load_or_create(tmp_path_factory.mktemp("devca"), "http://127.0.0.1:8003")


@pytest.fixture(scope="session")
def sheet_pdf() -> bytes:
    return render_placeholder_sheet(**SHEET_FIELDS)


@pytest.fixture(scope="session")
async def signed_sample(token: Token, dev_ca: DevelopmentCA, sheet_pdf: bytes) -> SignedSample:
    public_key = await token.ensure_rsa_key(KEY_LABEL)
    certificate = dev_ca.issue(
        public_key,
        common_name=SIGNER,
        organisation=SHEET_FIELDS["school_name"],
        role="Giáo viên bộ môn",
    )
    signed = await token.sign_pdf(
        sheet_pdf,
        key_label=KEY_LABEL,
        signing_cert_der=certificate,
        chain_der=[dev_ca.root_der],
        field_name=FIELD,
        signer_name=SIGNER,
        reason=REASON,
        location=LOCATION,
    )
    return SignedSample(original=sheet_pdf, signed=signed, certificate_der=certificate)


# --- the service level: a real database, the session's token and development CA ---------------

SCHOOL = "thpt-test"
SCHOOL_NAME = "Trường THPT Chuyên Thái Bình"


def school_changed(school_id: str, name: str = SCHOOL_NAME, province: str = LOCATION) -> SchoolChanged:
    """Identity's announcement of a school's facts (`identity.school.changed`)."""
    return SchoolChanged(school_id=school_id, name=name, province=province, principal_name="Trần Văn Minh")


async def announce_school(db: Database, school_id: str) -> None:
    """What signing's consumer of identity.structure keeps: the school's name and province."""
    async with db.transaction() as session:
        await SchoolFactsStore().apply(session, school_changed(school_id), datetime.now(UTC))


@pytest.fixture
async def signing_db(databases: Any) -> AsyncIterator[Database]:
    db = Database(databases.migrated("signing", MIGRATIONS))  # root conftest.py
    await upgrade_to_head(db.engine, MIGRATIONS)  # at head already: nothing to do
    for school_id in (SCHOOL, "thpt-pki"):  # test_production_pki's school
        await announce_school(db, school_id)
    yield db
    await db.dispose()


@pytest.fixture
def signing_service(token: Token, dev_ca: DevelopmentCA, tmp_path: Path) -> SigningRequestService:
    from datetime import timedelta

    from hbs_signing.activations.service import ActivationService
    from hbs_signing.certificates.service import CertificateService

    return SigningRequestService(
        token,
        CertificateService(token, dev_ca),
        DocumentStore(tmp_path / "documents"),
        dev_ca,
        portal_url="https://hocba.example.vn",
        activations=ActivationService(lifetime=timedelta(minutes=5)),
    )
