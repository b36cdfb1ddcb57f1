"""The grades app in-process on a real database and broker, with tokens from a test issuer."""

from __future__ import annotations

import json
import uuid
import warnings
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

import httpx
import pytest
from asgi_lifespan import LifespanManager
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import FastAPI

from hbs_grades.app import MIGRATIONS, create_app
from hbs_grades.settings import GradesSettings
from hbs_identity.models import Account
from hbs_identity.tokens.keys import TokenIssuer
from hbs_shared.auth import JwksVerifier
from hbs_shared.events.envelope import EventPayload, make_envelope
from hbs_shared.events.identity import AssignmentChanged, CurrentYear, SchoolChanged, StudentEnrolled
from hbs_shared.messaging.consumer import Outcome

SCHOOL = "thpt-chuyen-thai-binh"
YEAR = "2026-2027"


PRINCIPAL = "Trần Văn Hiệu"


def school_changed(school_id: str = SCHOOL, **changes: Any) -> SchoolChanged:
    """Identity's announcement of the school's facts, as a fresh identity makes it."""
    facts: dict[str, Any] = {
        "school_id": school_id,
        "name": "Trường THPT Chuyên Thái Bình",
        "authority": "Sở GD&ĐT Hưng Yên",
        "province": "Hưng Yên",
        "principal_name": PRINCIPAL,
        "current_year": CurrentYear(
            name=YEAR,
            semester1_start=date(2026, 9, 5),
            semester1_end=date(2027, 1, 16),
            semester2_start=date(2027, 1, 18),
            semester2_end=date(2027, 5, 31),
        ),
    }
    return SchoolChanged(**{**facts, **changes})


def _scope(school_id: str) -> str:
    """The test school's ids stay as they were; another school's differ (as identity's uuid4 do)."""
    return "" if school_id == SCHOOL else f"{school_id}/"


def class_uuid(class_name: str, school_id: str = SCHOOL) -> uuid.UUID:
    """The class id the harness's events give a class of that name in that school."""
    return uuid.uuid5(uuid.NAMESPACE_URL, f"{_scope(school_id)}{class_name}")


@dataclass
class GradesHarness:
    app: FastAPI
    client: httpx.AsyncClient
    issuer: TokenIssuer

    def headers(
        self,
        user_id: uuid.UUID,
        name: str = "Giáo viên",
        roles: tuple[str, ...] = ("subject_teacher",),
        school_id: str = SCHOOL,
    ) -> dict[str, str]:
        account = Account(
            id=user_id,
            school_id=school_id,
            username=f"u{user_id.hex[:8]}",
            full_name=name,
            password_hash="x",
            roles=list(roles),
        )
        return {"authorization": f"Bearer {self.issuer.issue(account)}"}

    async def feed(self, payload: EventPayload, school_id: str = SCHOOL) -> Outcome:
        """Deliver an event through the app's real consumer of its topic (inbox included)."""
        raw = json.dumps(make_envelope(payload, school_id).model_dump(mode="json")).encode()
        consumer = next(c for c in self.app.state.runtime.consumers if c.topic == payload.topic)
        outcome: Outcome = await consumer.process(raw)
        return outcome

    async def enrol(
        self,
        class_name: str,
        names: list[str],
        class_id: uuid.UUID | None = None,
        *,
        school_id: str = SCHOOL,
    ) -> list[uuid.UUID]:
        class_id = class_id or class_uuid(class_name, school_id)
        ids = []
        for index, name in enumerate(names):
            student_id = uuid.uuid5(uuid.NAMESPACE_URL, f"{_scope(school_id)}{class_name}/{name}")
            await self.feed(
                StudentEnrolled(
                    student_id=student_id,
                    national_id=f"0340{index:08d}",
                    full_name=name,
                    date_of_birth=date(2011, 1, 1),
                    gender="female",
                    class_id=class_id,
                    class_name=class_name,
                    grade_level=10,
                    school_year=YEAR,
                    enrolled_on=date(2026, 9, 5),
                ),
                school_id,
            )
            ids.append(student_id)
        return ids

    async def assign(
        self,
        teacher_id: uuid.UUID,
        class_name: str,
        subject_code: str | None,
        *,
        kind: Literal["subject_teacher", "homeroom_teacher"] = "subject_teacher",
        active: bool = True,
        assignment_id: uuid.UUID | None = None,
        teacher_name: str = "Giáo viên",
        school_id: str = SCHOOL,
    ) -> Outcome:
        return await self.feed(
            AssignmentChanged(
                assignment_id=assignment_id or uuid.uuid4(),
                kind=kind,
                teacher_id=teacher_id,
                teacher_name=teacher_name,
                class_id=class_uuid(class_name, school_id),
                class_name=class_name,
                grade_level=10,
                subject_code=subject_code,
                school_year=YEAR,
                active=active,
            ),
            school_id,
        )


async def verify_class(h: GradesHarness, class_name: str, homeroom: dict[str, str]) -> None:
    """Đ6.1 through the API, as the class's homeroom teacher: every student's front page checked."""
    listed = await h.client.get(f"/review/classes/{class_name}/personal-data", headers=homeroom)
    assert listed.status_code == 200, listed.text
    for line in listed.json():
        if line["status"] == "verified":
            continue
        checked = await h.client.put(
            f"/review/students/{line['student_id']}/personal-data",
            headers=homeroom,
            json={"state": "verified", "fields": list(line["data"]), "note": ""},
        )
        assert checked.status_code == 200, checked.text


async def pass_sample(h: GradesHarness, class_name: str, board: dict[str, str]) -> dict[str, Any]:
    """Đ4.2 through the API, as the vice-principal: a sample drawn and every record marked correct."""
    drawn = await h.client.post(f"/review/classes/{class_name}/samples", headers=board)
    assert drawn.status_code == 201, drawn.text
    sample: dict[str, Any] = drawn.json()
    for item in sample["items"]:
        marked = await h.client.post(
            f"/review/samples/{sample['id']}/records/{item['record_id']}/verdict",
            headers=board,
            json={"verdict": "correct"},
        )
        assert marked.status_code == 200, marked.text
        sample = marked.json()
    assert sample["state"] == "passed"
    return sample


@pytest.fixture(scope="module")
async def grades(
    databases: Any, kafka: Any, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[GradesHarness]:
    """One app per test module (starting the broker's consumers costs seconds): tests use their
    own classes and teachers so they do not see each other's data."""
    tmp_path = tmp_path_factory.mktemp("grades")
    settings = GradesSettings(
        database_url=databases.migrated("grades", MIGRATIONS),  # root conftest.py
        kafka_bootstrap=kafka.bootstrap,
        data_dir=tmp_path,
        seed_demo=True,
        environment="test",
        school_id=SCHOOL,
    )
    app = create_app(settings)
    issuer = TokenIssuer(Ed25519PrivateKey.generate(), 300)
    app.state.verifier = JwksVerifier("http://identity", static_jwks=issuer.jwks())
    # A module's app once took ~30 s to stop on PostgreSQL in CI (the cause is open).
    async with (
        LifespanManager(app, startup_timeout=90, shutdown_timeout=60),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://grades") as client,
    ):
        harness = GradesHarness(app, client, issuer)
        assert await harness.feed(school_changed()) is Outcome.applied
        yield harness
    # Seen on PostgreSQL in CI: the app never finished stopping; name the step in the summary.
    if app.state.runtime.stop_timeouts:
        warnings.warn(f"grades stop steps timed out: {app.state.runtime.stop_timeouts}", stacklevel=1)
