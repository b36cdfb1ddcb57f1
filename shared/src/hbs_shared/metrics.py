"""Prometheus metrics: HTTP requests by route template, the process (CPU, memory, open files), dead
letters and consumer lag; the broker's own via FastStream."""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, ProcessCollector
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class ServiceMetrics:
    """One registry per service instance, so several apps can live in one test process."""

    def __init__(self, service: str) -> None:
        self.registry = CollectorRegistry()
        # process_cpu_seconds_total, process_resident_memory_bytes, process_open_fds, … (Linux).
        ProcessCollector(registry=self.registry)
        self.requests = Counter(
            "hbs_http_requests",
            "HTTP requests handled",
            ["service", "method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "hbs_http_request_duration_seconds",
            "HTTP request latency",
            ["service", "method", "route"],
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1, 2.5, 5, 10),
        )
        self.outbox_pending = Gauge(
            "hbs_outbox_pending",
            "Outbox rows not yet published",
            ["service"],
            registry=self.registry,
        )
        self.dead_letters = Counter(
            "hbs_events_dead_lettered",
            "Events a consumer could never process, sent to <topic>.dlq",
            ["service", "consumer", "topic"],
            registry=self.registry,
        )
        self.consumer_lag = Gauge(
            "hbs_consumer_lag_messages",
            "Messages on the broker this replica's consumer has not read yet (its assigned partitions)",
            ["service", "consumer", "topic"],
            registry=self.registry,
        )
        self.service = service


def _route_template(app: ASGIApp, scope: Scope) -> str:
    # Label by template (/sheets/{sheet_id}), never by raw path: ids would explode cardinality.
    matched = scope.get("route")
    if matched is not None and hasattr(matched, "path"):
        return str(matched.path)
    for route in getattr(app, "routes", []):
        match, _ = route.matches(scope)
        if match is Match.FULL:
            return str(getattr(route, "path", "unmatched"))
    return "unmatched"


class MetricsMiddleware:
    def __init__(self, app: ASGIApp, metrics: ServiceMetrics, router_app: ASGIApp) -> None:
        self.app = app
        self.metrics = metrics
        self.router_app = router_app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            route = _route_template(self.router_app, scope)
            method = str(scope.get("method", ""))
            self.metrics.requests.labels(self.metrics.service, method, route, str(status)).inc()
            self.metrics.latency.labels(self.metrics.service, method, route).observe(
                time.perf_counter() - started
            )
