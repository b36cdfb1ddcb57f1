"""The signing service: the only process that touches the PKCS#11 token."""

from __future__ import annotations

import asyncio
import importlib
import os
import secrets
from collections import OrderedDict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography import x509
from fastapi import FastAPI, Request
from fastapi.responses import Response
from prometheus_client import Counter, Gauge
from sqlalchemy.ext.asyncio import AsyncSession

from hbs_shared.events.contracts import (
    GRADES_RECORDS_TOPIC,
    GRADES_SHEETS_TOPIC,
    MinutesSigningRequested,
    RecordRevoked,
    RecordSigningRequested,
    SheetSigningRequested,
    SheetSigningRequestedV2,
)
from hbs_shared.events.envelope import EventEnvelope, EventRegistry, EventRejected
from hbs_shared.events.identity import (
    IDENTITY_ACCOUNTS_TOPIC,
    IDENTITY_STRUCTURE_TOPIC,
    STRUCTURE_EVENTS,
    AccountDisabled,
    AccountFactorReset,
    SchoolChanged,
)
from hbs_shared.logging import get_logger
from hbs_shared.messaging.consumer import EventConsumer
from hbs_shared.openapi import file_response
from hbs_shared.problems import Problem
from hbs_shared.service import ServiceRuntime, create_service_app
from hbs_signing.activations import endpoints as activation_endpoints
from hbs_signing.archive.renewal import ArchiveRenewals, RenewalPolicy
from hbs_signing.batches import endpoints as batch_endpoints
from hbs_signing.batches.repository import BatchItemRepository
from hbs_signing.batches.service import BatchRunner
from hbs_signing.bootstrap import bootstrap
from hbs_signing.certificates import endpoints as certificate_endpoints
from hbs_signing.devca import DevelopmentCA, DevelopmentCAError
from hbs_signing.documents import endpoints as document_endpoints
from hbs_signing.exchange import endpoints as exchange_endpoints
from hbs_signing.exchange.service import ExchangeService
from hbs_signing.machine import endpoints as machine_endpoints
from hbs_signing.requests.rendering import RenderPool
from hbs_signing.requests.repository import QueueRepository
from hbs_signing.requests.runner import RequestRunner
from hbs_signing.settings import SigningSettings
from hbs_signing.status import endpoints as status_endpoints
from hbs_signing.status.lists import StatusLists
from hbs_signing.status.service import DocumentStatuses
from hbs_signing.token import Token, TokenConfig, ensure_softhsm_token
from hbs_signing.verification import endpoints as verification_endpoints
from hbs_signing.verification.bounded import BoundedExaminer, Budget
from hbs_signing.verification.service import RateLimiter, Verifier

MIGRATIONS = Path(__file__).parent / "migrations"
log = get_logger(__name__)
_TSQ = "application/timestamp-query"


def token_config(settings: SigningSettings) -> TokenConfig:
    return TokenConfig(
        module_path=settings.pkcs11_module,
        token_label=settings.token_label,
        pin=settings.token_pin.get_secret_value(),
        so_pin=secrets.token_hex(8),  # only used once, to initialise a SoftHSM token
        softhsm_dir=settings.softhsm_dir,
    )


def trust_roots(settings: SigningSettings, ca: DevelopmentCA | None) -> list[x509.Certificate]:
    roots = [ca.root_certificate] if ca is not None else []
    if settings.trusted_roots_file is not None:
        roots.extend(x509.load_pem_x509_certificates(settings.trusted_roots_file.read_bytes()))
    return roots


def _warm_up(ca: DevelopmentCA | None) -> None:
    importlib.import_module("fpdf")
    from hbs_signing.documents.layout import _prepared_fonts

    _prepared_fonts()
    if ca is not None:
        ca.timestamper()


def create_app(settings: SigningSettings) -> FastAPI:
    runtime = ServiceRuntime("signing", settings, migrations=MIGRATIONS)
    config = token_config(settings)
    token = Token(config)
    ca = (
        DevelopmentCA.load_or_create(settings.data_dir / "devca", settings.base_url())
        if settings.development_ca
        else None
    )
    roots = trust_roots(settings, ca)
    signing = bootstrap(settings, token=token, ca=ca, trust_roots=roots)
    store, certificates, activations, requests = (
        signing.store,
        signing.certificates,
        signing.activations,
        signing.requests,
    )

    # The consumers only queue: each request is checked, signed and settled after the consumer's
    # transaction, never holding the database's write lock across a signature (issue 12).
    renderer = RenderPool(settings.render_workers if settings.render_workers >= 0 else (os.cpu_count() or 1))
    queued = RequestRunner(
        runtime.db,
        requests,
        lease_seconds=settings.request_lease_seconds,
        after_commit=runtime.relay.nudge,
        renderer=renderer,
    )

    async def on_sheet(session: Any, envelope: EventEnvelope, event: Any) -> None:
        if isinstance(event, SheetSigningRequestedV2):
            await queued.enqueue_sheet(session, envelope.school_id, event, envelope.occurred_at)
        else:
            await requests.refuse_without_activation(session, envelope.school_id, event)

    async def on_minutes(session: Any, envelope: EventEnvelope, event: Any) -> None:
        await queued.enqueue_minutes(session, envelope.school_id, event, envelope.occurred_at)

    def after_sheet() -> None:
        runtime.relay.nudge()
        queued.nudge()

    batches = BatchRunner(
        runtime.db,
        requests,
        config,
        workers=settings.batch_workers or os.cpu_count() or 1,
        after_commit=runtime.relay.nudge,
    )

    async def on_record(session: Any, envelope: EventEnvelope, event: Any) -> None:
        if event.batch_id is not None:
            # Many records for one activated signer: queued, signed together by the workers.
            await batches.enqueue(session, envelope.school_id, event, envelope.occurred_at)
        else:
            await queued.enqueue_record(session, envelope.school_id, event, envelope.occurred_at)

    statuses = DocumentStatuses()

    async def on_revoked(session: Any, envelope: EventEnvelope, event: Any) -> None:
        # Grades decided it (the record's lifecycle); signing keeps the documents' public status.
        await statuses.apply_revoked(session, envelope.school_id, event)

    def after_record() -> None:
        runtime.relay.nudge()
        batches.nudge()
        queued.nudge()

    runtime.add_consumer(
        EventConsumer(
            "signing.sheet-requests",
            GRADES_SHEETS_TOPIC,
            runtime.db,
            EventRegistry(SheetSigningRequested, SheetSigningRequestedV2, MinutesSigningRequested),
            # One handler per event type: it dispatches on the version's payload class.
            {
                SheetSigningRequested: on_sheet,
                SheetSigningRequestedV2: on_sheet,
                MinutesSigningRequested: on_minutes,
            },
            after_commit=after_sheet,
        )
    )
    school = requests.school

    async def on_school(session: Any, envelope: EventEnvelope, event: Any) -> None:
        if event.school_id != envelope.school_id:
            # Applied to the envelope's school or not at all: never to another school's facts.
            raise EventRejected("the school's facts name another school than the envelope")
        await school.apply(session, event, envelope.occurred_at)

    runtime.add_consumer(
        EventConsumer(
            "signing.identity-structure",
            IDENTITY_STRUCTURE_TOPIC,
            runtime.db,
            EventRegistry(*STRUCTURE_EVENTS),
            {SchoolChanged: on_school},
        )
    )
    runtime.add_consumer(
        EventConsumer(
            "signing.record-requests",
            GRADES_RECORDS_TOPIC,
            runtime.db,
            EventRegistry(RecordSigningRequested, RecordRevoked),
            {RecordSigningRequested: on_record, RecordRevoked: on_revoked},
            after_commit=after_record,
            prepare=batches.prepare_enqueue,
        )
    )

    async def on_factor_reset(session: Any, envelope: EventEnvelope, event: Any) -> None:
        await activations.on_factor_reset(session, envelope.school_id, event)

    runtime.add_consumer(
        EventConsumer(
            "signing.identity-accounts",
            IDENTITY_ACCOUNTS_TOPIC,
            runtime.db,
            # Disabled accounts are acknowledged and skipped (a disabled user's token is refused anyway).
            EventRegistry(AccountFactorReset, AccountDisabled),
            {AccountFactorReset: on_factor_reset},
        )
    )

    renewals = ArchiveRenewals(
        runtime.db,
        store,
        requests,
        RenewalPolicy(
            horizon=timedelta(days=settings.archive_renewal_horizon_days),
            max_age=timedelta(days=settings.archive_renewal_max_age_days)
            if settings.archive_renewal_max_age_days
            else None,
        ),
    )
    warm_up: list[asyncio.Task[object]] = []

    async def open_token(_rt: ServiceRuntime) -> None:
        if config.softhsm_dir is not None:
            await asyncio.to_thread(ensure_softhsm_token, config)
        await token.open()
        # Load the PDF renderer, cut the fonts and make the development TSA's key in the
        # background, so the first signing request does not wait for them (readiness does not).
        warm_up.append(asyncio.create_task(asyncio.to_thread(_warm_up, ca)))
        warm_up.append(asyncio.create_task(watch_expiry()))
        warm_up.append(asyncio.create_task(batches.run_forever()))
        warm_up.append(asyncio.create_task(queued.run_forever()))
        warm_up.append(asyncio.create_task(renderer.start()))
        warm_up.append(
            asyncio.create_task(
                renewals.run_forever(timedelta(hours=settings.archive_renewal_interval_hours))
            )
        )

    async def close_token(_rt: ServiceRuntime) -> None:
        for task in warm_up:
            task.cancel()
        renderer.close()
        await token.close()

    async def watch_expiry() -> None:
        # The 30-day warning as a metric, refreshed every 10 minutes (first after start-up).
        from sqlalchemy import select

        from hbs_signing.certificates.endpoints import certificate_status, record_expiry
        from hbs_signing.models import Certificate

        await asyncio.sleep(5)
        while True:
            try:
                async with runtime.db.transaction() as session:
                    found = list((await session.execute(select(Certificate))).scalars())
                now = datetime.now(UTC)
                record_expiry(app.state, [certificate_status(c, ca, now) for c in found], now)
            except Exception as error:  # a metric must never stop the service
                log.warning("certificate expiry check failed", error=str(error))
            await asyncio.sleep(600)

    app = create_service_app(
        runtime,
        title="HBS signing",
        routers=[
            document_endpoints.router,
            activation_endpoints.router,
            batch_endpoints.router,
            certificate_endpoints.router,
            verification_endpoints.router,
            status_endpoints.router,
            machine_endpoints.router,
            exchange_endpoints.router,
        ],
        on_startup=[open_token],
        on_shutdown=[close_token],
    )
    app.state.document_store = store
    app.state.activations = activations
    app.state.certificates = certificates
    app.state.development_ca = ca
    app.state.trust_roots = roots
    app.state.expiry_gauge = Gauge(
        "hbs_signing_certificates_expiring_soon",
        "Valid signing certificates that expire within 30 days (the renewal warning)",
        registry=runtime.metrics.registry,
    )
    app.state.days_left_gauge = Gauge(
        "hbs_signing_certificate_min_days_to_expiry",
        "Days until the first valid signing certificate (a signer's or the seal's) expires",
        registry=runtime.metrics.registry,
    )
    outcomes = Counter(
        "hbs_signing_requests",
        "Signing requests decided: completed (signed version stored) or failed (refused or an error)",
        ["outcome"],
        registry=runtime.metrics.registry,
    )
    for outcome in ("completed", "failed"):
        outcomes.labels(outcome)
    requests.on_outcome = lambda outcome: outcomes.labels(outcome).inc()
    queue_depth = Gauge(
        "hbs_signing_queue_depth",
        "Signing requests waiting: single requests (queue) and batch items not yet settled (batch)",
        ["queue"],
        registry=runtime.metrics.registry,
    )
    waiting, batch_items = QueueRepository(), BatchItemRepository()

    async def scrape_queues(session: AsyncSession) -> None:
        queue_depth.labels("queue").set(await waiting.count(session))
        queue_depth.labels("batch").set(await batch_items.count_pending(session))

    runtime.scrapes.append(scrape_queues)
    app.state.verifier_service = Verifier(store, roots, ca)
    app.state.upload_examiner = BoundedExaminer(
        app.state.verifier_service.roots_der,
        Budget(cpu_seconds=settings.verify_cpu_seconds, concurrency=settings.verify_concurrency),
    )
    app.state.verify_max_upload = settings.verify_max_upload_mb * 1024 * 1024
    app.state.stored_examinations = OrderedDict()
    app.state.rate_limiter = RateLimiter(settings.verify_requests_per_minute)
    app.state.verify_batch_max_codes = settings.verify_batch_max_codes
    app.state.verify_batch_max_files = settings.verify_batch_max_files
    app.state.status_lists = StatusLists(
        runtime.db, statuses, requests, token, timedelta(seconds=settings.status_list_max_age_seconds)
    )
    app.state.signing_requests = requests
    app.state.exchange = ExchangeService(requests)
    app.state.batches = batches
    app.state.queued_requests = queued
    app.state.archive_renewals = renewals

    if ca is not None:

        @app.get(
            "/dev-ca/root.pem",
            tags=["development CA"],
            response_class=Response,
            responses=file_response("application/x-pem-file", "The development root certificate (PEM)"),
        )
        async def development_root() -> Response:
            """The DEVELOPMENT root certificate (not for production) that tests trust."""
            return Response(ca.root_pem, media_type="application/x-pem-file")

        @app.get(
            "/dev-ca/crl",
            tags=["development CA"],
            response_class=Response,
            responses=file_response("application/pkix-crl", "The current CRL (DER)"),
        )
        async def development_crl() -> Response:
            """The DEVELOPMENT CA's current CRL (DER), as its certificates' CRL distribution point."""
            return Response(
                await asyncio.to_thread(ca.crl_der),
                media_type="application/pkix-crl",
                headers={"Cache-Control": "max-age=60"},
            )

        @app.post(
            "/dev-ca/tsa",
            tags=["development CA"],
            response_class=Response,
            responses=file_response("application/timestamp-reply", "An RFC 3161 timestamp reply"),
            openapi_extra={
                "requestBody": {
                    "required": True,
                    "content": {_TSQ: {"schema": {"type": "string", "format": "binary"}}},
                }
            },
        )
        async def development_tsa(request: Request) -> Response:
            """The DEVELOPMENT RFC 3161 timestamp authority (application/timestamp-query)."""
            if request.headers.get("content-type", "").split(";")[0].strip() != _TSQ:
                raise Problem(415, "Sai định dạng yêu cầu", f"send {_TSQ}", field="content-type")
            body = await request.body()
            if len(body) > 10_000:
                raise Problem(413, "Yêu cầu quá lớn", "a timestamp request is small")
            try:
                reply = await asyncio.to_thread(ca.timestamp_reply, body)
            except DevelopmentCAError as error:
                raise Problem(400, "Yêu cầu không hợp lệ", str(error)) from None
            return Response(reply, media_type="application/timestamp-reply")

    return app
