"""Outside systems in signing (issue 13 §6): `GET /v1/status/{sha256}` answers a client holding
`verify` whether a file is the issued version in force (no personal data), a person's token or
another scope is refused, a revoked client is refused at its next request, and `records.read`
opens no student's records while a student's consent is not modelled. Identity and signing
in-process on real databases, the real broker and SoftHSM2; the clients registered through
identity's own endpoints."""

from __future__ import annotations

import base64
import hashlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from hbs_devtools.demo import DEMO_PASSWORD
from hbs_identity.app import create_app as create_identity
from hbs_identity.settings import IdentitySettings
from hbs_signing.app import create_app as create_signing
from hbs_signing.models import SignedDocument
from hbs_signing.settings import SigningSettings
from hbs_signing.token import TokenConfig

pytestmark = [pytest.mark.db, pytest.mark.broker, pytest.mark.hsm]
SCHOOL = "thpt-chuyen-thai-binh"


@dataclass
class Systems:
    identity: httpx.AsyncClient
    signing: httpx.AsyncClient
    signing_app: FastAPI
    admin: dict[str, str]

    async def client(self, scopes: list[str]) -> tuple[dict[str, Any], dict[str, str]]:
        """A registered client and the headers of a token it obtained."""
        made = await self.identity.post(
            "/oauth/clients", json={"name": "Sở GD&ĐT Hưng Yên", "scopes": scopes}, headers=self.admin
        )
        assert made.status_code == 201, made.text
        body = made.json()
        basic = base64.b64encode(f"{body['client_id']}:{body['client_secret']}".encode()).decode()
        issued = await self.identity.post(
            "/v1/oauth/token",
            content="grant_type=client_credentials",
            headers={"authorization": f"Basic {basic}", "content-type": "application/x-www-form-urlencoded"},
        )
        assert issued.status_code == 200, issued.text
        return body, {"authorization": f"Bearer {issued.json()['access_token']}"}


@pytest.fixture(scope="module")
async def systems(
    databases: Any, kafka: Any, token_config: TokenConfig, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Systems]:
    tmp = tmp_path_factory.mktemp("machine")
    identity_app = create_identity(
        IdentitySettings(
            database_url=databases.new("identity"),
            kafka_bootstrap=kafka.bootstrap,
            data_dir=tmp / "identity",
            seed_demo=True,
            demo_size="small",
            environment="test",
            password_hash_cost="test",
        )
    )
    signing_app = create_signing(
        SigningSettings(
            database_url=databases.new("signing"),
            kafka_bootstrap=kafka.bootstrap,
            data_dir=tmp / "signing",
            environment="test",
            softhsm_dir=token_config.softhsm_dir,
            token_label=token_config.token_label,
            token_pin=token_config.pin,
        )
    )
    async with (
        LifespanManager(identity_app, startup_timeout=90, shutdown_timeout=60),
        LifespanManager(signing_app, startup_timeout=90, shutdown_timeout=30),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=identity_app), base_url="http://identity") as ic,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=signing_app), base_url="http://signing") as sc,
    ):
        # Identity's verifier asks identity in-process whether a client is still registered.
        signing_app.state.verifier = identity_app.state.verifier
        signed_in = await ic.post("/auth/token", json={"username": "quantri", "password": DEMO_PASSWORD})
        assert signed_in.status_code == 200, signed_in.text
        admin = {"authorization": f"Bearer {signed_in.json()['access_token']}"}
        yield Systems(ic, sc, signing_app, admin)


async def _versions(app: FastAPI, count: int) -> list[SignedDocument]:
    """`count` issued versions of one score sheet, oldest first (as the batch signer stores them)."""
    subject = uuid.uuid4()
    start = datetime.now(UTC) - timedelta(days=count)
    versions = []
    for n in range(count):
        content = f"version {n} of {subject}".encode()
        versions.append(
            SignedDocument(
                school_id=SCHOOL,
                sha256=hashlib.sha256(content).hexdigest(),
                size=len(content),
                kind="score_sheet",
                subject_id=subject,
                request_id=uuid.uuid4(),
                signer_user_id=uuid.uuid4(),
                signer_role="subject_teacher",
                certificate_sha256="c" * 64,
                verification_code=uuid.uuid4().hex[:10].upper(),
                created_at=start + timedelta(days=n),
            )
        )
    async with app.state.runtime.db.transaction() as session:
        session.add_all(versions)
    return versions


async def test_a_client_with_verify_learns_whether_a_file_is_the_version_in_force(systems: Systems) -> None:
    old, new = await _versions(systems.signing_app, 2)
    _, headers = await systems.client(["verify"])
    current = await systems.signing.get(f"/v1/status/{new.sha256}", headers=headers)
    assert current.status_code == 200, current.text
    assert current.json()["status"] == "current"
    assert current.json()["superseded_by"] is None
    superseded = (await systems.signing.get(f"/v1/status/{old.sha256}", headers=headers)).json()
    assert superseded["status"] == "superseded"
    assert superseded["superseded_by"]["sha256"] == new.sha256
    assert superseded["superseded_by"]["verification_code"] == new.verification_code
    assert superseded["signatures"] == 1
    assert superseded["kind"] == "score_sheet"
    # No personal data: ids of people and of the sheet stay inside.
    text = str(superseded)
    assert str(old.signer_user_id) not in text
    assert str(old.subject_id) not in text
    unknown = await systems.signing.get(f"/v1/status/{'0' * 64}", headers=headers)
    assert unknown.status_code == 404
    assert unknown.headers["content-type"].startswith("application/problem+json")
    assert (await systems.signing.get("/v1/status/not-a-digest", headers=headers)).status_code == 422


async def test_status_refuses_people_other_scopes_and_no_token(systems: Systems) -> None:
    (document,) = await _versions(systems.signing_app, 1)
    path = f"/v1/status/{document.sha256}"
    assert (await systems.signing.get(path)).status_code == 401
    assert (await systems.signing.get(path, headers=systems.admin)).status_code == 403
    _, export_only = await systems.client(["national.export"])
    refused = await systems.signing.get(path, headers=export_only)
    assert refused.status_code == 403
    assert (refused.json()["error"], refused.json()["scope"]) == ("insufficient_scope", "verify")


async def test_a_revoked_client_is_refused_at_its_next_request(systems: Systems) -> None:
    (document,) = await _versions(systems.signing_app, 1)
    path = f"/v1/status/{document.sha256}"
    registered, headers = await systems.client(["verify"])
    assert (await systems.signing.get(path, headers=headers)).status_code == 200
    revoked = await systems.identity.post(f"/oauth/clients/{registered['id']}/revoke", headers=systems.admin)
    assert revoked.status_code == 200
    refused = await systems.signing.get(path, headers=headers)
    assert refused.status_code == 401
    assert refused.json()["error"] == "invalid_token"


async def test_records_read_opens_no_students_records_without_modelled_consent(systems: Systems) -> None:
    (document,) = await _versions(systems.signing_app, 1)
    _, headers = await systems.client(["records.read"])
    for path in (f"/documents/students/{uuid.uuid4()}/records", f"/documents/{document.id}/pdf"):
        refused = await systems.signing.get(path, headers=headers)
        assert refused.status_code == 403, (path, refused.text)
        assert "consent" in refused.json()["detail"]
    # A client token opens nothing written for people either.
    _, verify = await systems.client(["verify"])
    assert (await systems.signing.get(f"/documents/{document.id}", headers=verify)).status_code == 403


async def test_the_public_verification_answers_under_v1_as_well(systems: Systems) -> None:
    for path in ("/verify/ZZZZ9999", "/v1/verify/ZZZZ9999"):
        missing = await systems.signing.get(path)
        assert missing.status_code == 404
        assert missing.json()["field"] == "code"
