"""The grades service: score sheets and (later) the Thông tư 22 results engine."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from hbs_grades.settings import GradesSettings
from hbs_grades.sheets import endpoints as sheet_endpoints
from hbs_grades.sheets.service import ScoreSheetService
from hbs_shared.events.contracts import SIGNING_DOCUMENTS_TOPIC, SigningCompleted, SigningFailed
from hbs_shared.events.envelope import EventEnvelope, EventRegistry
from hbs_shared.logging import get_logger
from hbs_shared.messaging.consumer import EventConsumer
from hbs_shared.service import ServiceRuntime, create_service_app
from hbs_shared.settings import Environment

MIGRATIONS = Path(__file__).parent / "migrations"
log = get_logger(__name__)


def create_app(settings: GradesSettings) -> FastAPI:
    runtime = ServiceRuntime("grades", settings, migrations=MIGRATIONS)
    sheets = ScoreSheetService()

    async def completed(session: AsyncSession, _env: EventEnvelope, event: Any) -> None:
        await sheets.on_signing_completed(session, event)

    async def failed(session: AsyncSession, _env: EventEnvelope, event: Any) -> None:
        await sheets.on_signing_failed(session, event)

    runtime.add_consumer(
        EventConsumer(
            "grades.signing-results",
            SIGNING_DOCUMENTS_TOPIC,
            runtime.db,
            EventRegistry(SigningCompleted, SigningFailed),
            {SigningCompleted: completed, SigningFailed: failed},
        )
    )

    async def seed(rt: ServiceRuntime) -> None:
        if not settings.seed_demo:
            return
        if settings.environment is Environment.production:
            raise SystemExit("HBS_GRADES_SEED_DEMO: demo data is refused in production")
        async with rt.db.transaction() as session:
            created = await sheets.seed_demo(session, settings.school_id, settings.school_year)
        log.info("demo score sheets seeded", created=created)

    return create_service_app(
        runtime, title="HBS grades", routers=[sheet_endpoints.router], on_startup=[seed]
    )
