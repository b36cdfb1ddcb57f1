"""The signing service: the only process that touches the PKCS#11 token."""

from __future__ import annotations

import asyncio
import importlib
import secrets
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from hbs_shared.events.contracts import GRADES_SHEETS_TOPIC, SheetSigningRequested
from hbs_shared.events.envelope import EventEnvelope, EventRegistry
from hbs_shared.messaging.consumer import EventConsumer
from hbs_shared.service import ServiceRuntime, create_service_app
from hbs_signing.certificates.service import CertificateService
from hbs_signing.devca import DevelopmentCA
from hbs_signing.documents import endpoints as document_endpoints
from hbs_signing.documents.store import DocumentStore
from hbs_signing.requests.service import SigningRequestService
from hbs_signing.settings import SigningSettings
from hbs_signing.token import Token, TokenConfig, ensure_softhsm_token

MIGRATIONS = Path(__file__).parent / "migrations"


def token_config(settings: SigningSettings) -> TokenConfig:
    return TokenConfig(
        module_path=settings.pkcs11_module,
        token_label=settings.token_label,
        pin=settings.token_pin.get_secret_value(),
        so_pin=secrets.token_hex(8),  # only used once, to initialise a SoftHSM token
        softhsm_dir=settings.softhsm_dir,
    )


def create_app(settings: SigningSettings) -> FastAPI:
    runtime = ServiceRuntime("signing", settings, migrations=MIGRATIONS)
    config = token_config(settings)
    token = Token(config)
    ca = DevelopmentCA.load_or_create(settings.data_dir / "devca") if settings.development_ca else None
    store = DocumentStore(settings.data_dir / "documents")
    certificates = CertificateService(token, ca, settings.school_name)
    requests = SigningRequestService(
        token,
        certificates,
        store,
        ca,
        school_name=settings.school_name,
        location=settings.school_location,
    )

    async def on_sheet(session: AsyncSession, envelope: EventEnvelope, event: Any) -> None:
        await requests.sign_sheet(session, envelope.school_id, event)

    runtime.add_consumer(
        EventConsumer(
            "signing.sheet-requests",
            GRADES_SHEETS_TOPIC,
            runtime.db,
            EventRegistry(SheetSigningRequested),
            {SheetSigningRequested: on_sheet},
            after_commit=runtime.relay.nudge,
        )
    )

    warm_up: list[asyncio.Task[object]] = []

    async def open_token(_rt: ServiceRuntime) -> None:
        if config.softhsm_dir is not None:
            await asyncio.to_thread(ensure_softhsm_token, config)
        await token.open()
        # Load the PDF renderer in the background, so the first request does not wait for it.
        warm_up.append(asyncio.create_task(asyncio.to_thread(importlib.import_module, "fpdf")))

    async def close_token(_rt: ServiceRuntime) -> None:
        await token.close()

    app = create_service_app(
        runtime,
        title="HBS signing",
        routers=[document_endpoints.router],
        on_startup=[open_token],
        on_shutdown=[close_token],
    )
    app.state.document_store = store

    if ca is not None:

        @app.get("/dev-ca/root.pem", tags=["development CA"])
        async def development_root() -> Response:
            """The DEVELOPMENT root certificate (not for production) that tests trust."""
            return Response(ca.root_pem, media_type="application/x-pem-file")

    return app
