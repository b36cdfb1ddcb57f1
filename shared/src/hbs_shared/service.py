"""The one wiring point every service goes through: app, database, broker, outbox, health."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import re
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Literal

import uvicorn
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from faststream.kafka import KafkaBroker
from faststream.kafka.prometheus import KafkaPrometheusMiddleware
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from hbs_shared.auth import JwksVerifier
from hbs_shared.db import Database
from hbs_shared.logging import configure_logging, correlation_id, get_logger, new_correlation_id
from hbs_shared.messaging.consumer import EventConsumer
from hbs_shared.messaging.outbox import OutboxRelay, OutboxRepository, kafka_publisher
from hbs_shared.messaging.partitions import school_partitioner
from hbs_shared.messaging.quiet import BROKER_CLIENT_LOGGERS, quiet_repeats
from hbs_shared.messaging.security import BrokerConnectionFailed, explain_connection_failure
from hbs_shared.metrics import MetricsMiddleware, ServiceMetrics
from hbs_shared.migrations import upgrade_to_head
from hbs_shared.openapi import install_openapi, operation_id
from hbs_shared.problems import PROBLEM_JSON, install_problem_handlers
from hbs_shared.settings import ServiceSettings

log = get_logger(__name__)

_CORRELATION_RE = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


class ConcurrentKafkaBroker(KafkaBroker):
    """A KafkaBroker whose consumers join their groups at once, not one after the other.

    Each join waits about half the session timeout on the broker (5 s by default): a service
    with four consumers took 20 s to start serially, 5 s this way."""

    async def start(self) -> None:
        await self.connect()
        await asyncio.gather(*(subscriber.start() for subscriber in self.subscribers))
        for publisher in self.publishers:
            await publisher.start()
        self.running = True


class ServiceRuntime:
    """Everything a service's handlers need, built once per process (Cosmic Python's bootstrap)."""

    def __init__(self, name: str, settings: ServiceSettings, *, migrations: Path | None) -> None:
        self.name = name
        self.settings = settings
        self.migrations = migrations
        self.db = Database(settings.sqlalchemy_url(name), pool=settings.database_pool())
        self.metrics = ServiceMetrics(name)
        self.kafka_servers = [s.strip() for s in settings.kafka_bootstrap.split(",")]
        self.kafka_login = settings.kafka_login()
        self.broker = ConcurrentKafkaBroker(
            self.kafka_servers,
            enable_idempotence=settings.kafka_idempotence,
            client_id=f"hbs-{name}",
            # One login for the producer, every consumer and the admin client (the outbox relay
            # publishes and asks the cluster id through them).
            security=self.kafka_login.security(),
            # A school's events on one partition, in order; the schools spread over the partitions.
            partitioner=school_partitioner,
            middlewares=[KafkaPrometheusMiddleware(registry=self.metrics.registry, app_name=name)],
            graceful_timeout=10.0,
            # Our logger, so the broker's lines come out as the same JSON as everything else.
            logger=logging.getLogger(f"hbs.{name}.broker"),
        )
        # A broker that is away makes its clients repeat the same errors many times a second.
        quiet_repeats((*BROKER_CLIENT_LOGGERS, f"hbs.{name}.broker"))
        self.outbox = OutboxRepository()
        self.relay = OutboxRelay(
            self.db, kafka_publisher(self.broker), poll_seconds=settings.outbox_poll_seconds
        )
        self.verifier = JwksVerifier(settings.identity_url)
        self.consumers: list[EventConsumer] = []
        self.scrapes: list[Callable[[AsyncSession], Awaitable[None]]] = []
        """Run at each /metrics scrape in its one read transaction: a service's own gauges."""
        self._rejoining = asyncio.Lock()
        self.stop_timeouts: list[str] = []
        """The stop steps that ran out of time (logged; tests surface them as warnings)."""
        self.relay.on_broker_change(self._rejoin_consumers)

    def add_consumer(self, consumer: EventConsumer) -> None:
        consumer.attach(self.broker, session_timeout_ms=self.settings.kafka_session_timeout_ms)
        consumer.on_dead_letter = self.metrics.dead_letters.labels(
            self.name, consumer.name, consumer.topic
        ).inc
        self.consumers.append(consumer)

    async def start(self) -> None:
        """The broker clients (consumers join their groups) and the outbox relay. A broker that
        cannot be reached or refuses the login stops the start with the reason (not a hang)."""
        try:
            await self.broker.start()
        except Exception as error:
            reason = await explain_connection_failure(self.kafka_servers, self.kafka_login)
            log.error("cannot connect to Kafka", reason=reason, login=self.kafka_login.describe())
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.broker.stop(), 5.0)  # the clients that did start
            raise BrokerConnectionFailed(reason) from error
        self.relay.start()
        # What start-up built lives as long as the process: out of the collector's way, a full
        # collection no longer walks ~200k objects and pauses every request in flight (the
        # grades save bench: 4.7 s of collections over 300 saves, 1.8 s frozen).
        gc.freeze()

    async def stop(self) -> None:
        """Each part gets a bounded time: a step that hangs (seen: the grades test app on
        PostgreSQL never finished stopping) is logged by name and the stop goes on."""
        for name, step, seconds in (
            ("outbox relay", self.relay.stop, 10.0),
            ("broker", self.broker.stop, 20.0),
        ):
            try:
                await asyncio.wait_for(step(), seconds)
            except TimeoutError:
                self.stop_timeouts.append(name)
                log.error("stop step timed out", step=name, seconds=seconds)

    async def _rejoin_consumers(self, previous: str | None, current: str) -> None:
        """The broker changed under us (its cluster id): every consumer leaves and joins the new
        one, reading it from the start; retried while the broker is unreachable.

        One rejoin at a time: two overlapping ones (a second restart during the first rejoin)
        left a client of the first in the group, holding partitions it never read."""
        async with self._rejoining:
            if self.relay.broker_id != current:  # changed again: the rejoin queued behind covers it
                return
            await self._rejoin_all(previous, current)

    async def _rejoin_all(self, previous: str | None, current: str) -> None:
        log.warning("broker changed; consumers rejoin", previous=previous, current=current)
        pending = list(self.consumers)
        backoff = 0.5
        while pending:
            if self.relay.broker_id != current:
                log.info("broker changed again during the rejoin", current=self.relay.broker_id)
                return
            results = await asyncio.gather(*(c.rejoin() for c in pending), return_exceptions=True)
            # BaseException: a CancelledError raised inside a rejoin (not this task's) is a failure too.
            failed = [(c, r) for c, r in zip(pending, results, strict=True) if isinstance(r, BaseException)]
            if not failed:
                break
            log.warning(
                "consumers could not rejoin; will retry",
                consumers=[c.name for c, _ in failed],
                error=f"{type(failed[0][1]).__name__}: {failed[0][1]}",
                retry_in=backoff,
            )
            pending = [c for c, _ in failed]
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 10.0)
        log.info("consumers rejoined", current=current, consumers=len(self.consumers))


Hook = Callable[[ServiceRuntime], Awaitable[None]]


class CorrelationMiddleware:
    """Takes X-Correlation-ID from the caller (or makes one) and returns it on the response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope.get("headers", [])).get(b"x-correlation-id", b"").decode("latin-1")
        value = incoming if _CORRELATION_RE.match(incoming) else new_correlation_id()
        token = correlation_id.set(value)

        async def with_header(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-correlation-id", value.encode())]
            await send(message)

        try:
            await self.app(scope, receive, with_header)
        finally:
            correlation_id.reset(token)


class Liveness(BaseModel):
    status: Literal["alive"]
    service: str


class Readiness(BaseModel):
    status: Literal["ready"]
    service: str
    checks: dict[str, str]
    """`database`, `broker`: `ok` or why not."""


def _health_router(runtime: ServiceRuntime) -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get("/healthz", response_model=Liveness)
    async def healthz() -> dict[str, str]:
        return {"status": "alive", "service": runtime.name}

    @router.get(
        "/readyz",
        response_model=Readiness,
        responses={
            503: {
                "description": "Not ready",
                "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
            }
        },
    )
    async def readyz() -> JSONResponse:
        checks: dict[str, str] = {}
        try:
            await runtime.db.ping()
            checks["database"] = "ok"
        except Exception as error:
            checks["database"] = f"unreachable: {type(error).__name__}"
        checks["broker"] = "ok" if await runtime.broker.ping(timeout=2.0) else "unreachable"
        ready = all(value == "ok" for value in checks.values())
        body: dict[str, Any] = {"service": runtime.name, "checks": checks}
        if ready:
            return JSONResponse({"status": "ready", **body})
        return JSONResponse(
            {
                "type": "about:blank",
                "title": "Dịch vụ chưa sẵn sàng",
                "status": 503,
                "detail": ", ".join(f"{k}: {v}" for k, v in checks.items() if v != "ok"),
                **body,
            },
            status_code=503,
            media_type=PROBLEM_JSON,
        )

    @router.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        async with runtime.db.transaction() as session:
            pending = await runtime.outbox.count_pending(session)
            for scrape in runtime.scrapes:
                await scrape(session)
        runtime.metrics.outbox_pending.labels(runtime.name).set(pending)
        for consumer in runtime.consumers:
            lag = await consumer.lag()
            if lag is not None:
                runtime.metrics.consumer_lag.labels(runtime.name, consumer.name, consumer.topic).set(lag)
        return Response(generate_latest(runtime.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return router


def create_service_app(
    runtime: ServiceRuntime,
    *,
    title: str,
    routers: Sequence[APIRouter] = (),
    on_startup: Sequence[Hook] = (),
    on_shutdown: Sequence[Hook] = (),
) -> FastAPI:
    """A FastAPI app whose lifespan owns the database, the broker and the outbox relay."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if runtime.migrations is not None and runtime.settings.auto_migrate:
            await upgrade_to_head(runtime.db.engine, runtime.migrations)
        for hook in on_startup:
            await hook(runtime)
        await runtime.start()
        log.info("service started", url=runtime.settings.base_url())
        try:
            yield
        finally:
            await runtime.stop()
            for hook in on_shutdown:
                try:
                    await asyncio.wait_for(hook(runtime), 10.0)
                except TimeoutError:
                    runtime.stop_timeouts.append(getattr(hook, "__name__", "shutdown hook"))
                    log.error("stop step timed out", step=getattr(hook, "__name__", "hook"), seconds=10.0)
            try:
                await asyncio.wait_for(runtime.db.dispose(), 10.0)
            except TimeoutError:
                runtime.stop_timeouts.append("database")
                log.error("stop step timed out", step="database", seconds=10.0)
            log.info("service stopped")

    app = FastAPI(title=title, lifespan=lifespan, generate_unique_id_function=operation_id)
    install_openapi(app, identity_url=runtime.settings.identity_url, server_url=runtime.settings.base_url())
    app.state.runtime = runtime
    app.state.verifier = runtime.verifier
    install_problem_handlers(app)
    app.include_router(_health_router(runtime))
    for router in routers:
        app.include_router(router)
    app.add_middleware(MetricsMiddleware, metrics=runtime.metrics, router_app=app.router)
    app.add_middleware(CorrelationMiddleware)
    trust_forwarded_for(app, runtime.settings.trusted_proxies)
    return app


def trust_forwarded_for(app: FastAPI, trusted_proxies: Sequence[str]) -> None:
    """Believe X-Forwarded-For only from these peers (none when empty). Added last, so outermost:
    everything inside (limits, lockout, audit, logs) sees the real client's address."""
    app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=list(trusted_proxies))


def runtime_of(request: Request) -> ServiceRuntime:
    runtime: ServiceRuntime = request.app.state.runtime
    return runtime


def serve(app: FastAPI, settings: ServiceSettings, service: str) -> None:
    """Run one service as its own process (the embedded default and production alike)."""
    configure_logging(service, settings.log_level)
    server = uvicorn.Server(server_config(app, settings.host, settings.port))
    server.run()
    if not server.started:
        sys.exit(3)  # as uvicorn.run does when the app failed to start


def server_config(app: FastAPI, host: str, port: int) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=10,
        # Forwarded headers are believed by the app's own middleware, from TRUSTED_PROXIES only
        # (uvicorn's default would believe any 127.0.0.1 peer).
        proxy_headers=False,
    )
