"""Prometheus metrics of one service: requests by route and status, the database pool, the
event consumers' lag, the events they parked (dead letters) and the outbox backlog of each
reader of this service's feed.

Each app has its own registry (tests run several apps in one process). Gauges that describe
state (pool, lag, backlog) are read when Prometheus scrapes, not kept up to date per request.
`GET /metrics` answers only to `Authorization: Bearer <metrics_token>` (setting
`SCIPLAN_<SERVICE>_METRICS_TOKEN`): route names and traffic are not for the public, and the
gateway forwards any path to the services.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, FastAPI, Request, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.types import Scope

from shared.errors import AppError, Text
from shared.events.consumer import EventConsumer
from shared.events.outbox import parse_position
from shared.events.tables import UNRESOLVED, EventTables

METRICS_PATH = "/metrics"
_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class MetricsUnauthorized(AppError):
    status = 401
    code = "metrics.unauthorized"
    title = Text("需要监控令牌", "The metrics token is required")


class ServiceMetrics:
    def __init__(self, service: str) -> None:
        self.service = service
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "sciplan_http_requests",
            "HTTP requests answered, by route template and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "sciplan_http_request_duration_seconds",
            "Time to answer an HTTP request, by route template",
            ["method", "route"],
            buckets=_BUCKETS,
            registry=self.registry,
        )

        self.outbox_backlog = Gauge(
            "sciplan_outbox_backlog_events",
            "Events of this service's feed not yet read by a consumer (counted up to 10,001)",
            ["consumer"],
            registry=self.registry,
        )
        self.dead_letters = Gauge(
            "sciplan_event_dead_letters",
            "Events this service parked and nobody resolved yet, by source and status "
            "(failed: tried and failed; waiting: behind a failed one of their aggregate)",
            ["source", "status"],
            registry=self.registry,
        )
        # Async work before each scrape (database counts); gauges read in memory use collect_with.
        self.refreshers: list[Callable[[], Awaitable[None]]] = []
        # The two labelled series of each (method, route, status), found once: `labels()`
        # checks its arguments and takes a lock every time, 2% of the gateway's CPU per request.
        self._series: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        series = self._series.get((method, route, status))
        if series is None:
            series = (
                self.requests.labels(method, route, str(status)),
                self.latency.labels(method, route),
            )
            self._series[(method, route, status)] = series
        requests, latency = series
        requests.inc()
        latency.observe(seconds)

    def collect_with(self, collect: Callable[[], Iterator[Metric]]) -> None:
        """Adds gauges computed at scrape time."""
        self.registry.register(_Callback(collect))


class _Callback(Collector):
    def __init__(self, collect: Callable[[], Iterator[Metric]]) -> None:
        self._collect = collect

    def collect(self) -> Iterator[Metric]:
        return self._collect()


def route_label(scope: Scope) -> str:
    """The route template (`/v1/records/{record_id}`), never the raw path: bounded labels."""
    route = scope.get("route")
    template = getattr(route, "path", None)
    if not isinstance(template, str):
        return "unmatched"
    if template == "/api/{service}/{path:path}":  # the gateway's proxy: one label per service
        service = scope.get("path_params", {}).get("service", "")
        return f"/api/{service}/..." if service.isidentifier() else "unmatched"
    return template


def pool_gauges(engine_pool: Any) -> Iterator[Metric]:
    """SQLAlchemy's queue pool: its size and the connections lent out (waits show in latency)."""
    size = GaugeMetricFamily("sciplan_db_pool_size", "Connections the pool keeps")
    size.add_metric([], float(engine_pool.size()))
    used = GaugeMetricFamily("sciplan_db_pool_checked_out", "Connections in use by requests")
    used.add_metric([], float(engine_pool.checkedout()))
    yield size
    yield used


def metrics_router(token: Callable[[], str | None]) -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get(
        METRICS_PATH,
        summary="Prometheus metrics (bearer: the metrics token)",
        response_class=Response,
        include_in_schema=False,
    )
    async def metrics(request: Request) -> Response:
        expected = token()
        given = request.headers.get("authorization", "")
        if not expected or not hmac.compare_digest(given.encode(), f"Bearer {expected}".encode()):
            raise MetricsUnauthorized()
        service_metrics: ServiceMetrics = request.app.state.metrics
        for refresh in service_metrics.refreshers:
            await refresh()
        body = generate_latest(service_metrics.registry)
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    return router


def outbox_backlog_query(outbox: sa.Table, after_txid: int, after_id: int) -> sa.Select[Any]:
    """Events of the feed after a reader's position (at most 10,001 counted: enough to alert)."""
    newer = (
        sa.select(outbox.c.id)
        .where(sa.tuple_(outbox.c.txid, outbox.c.id) > sa.tuple_(after_txid, after_id))
        .limit(10_001)
        .subquery()
    )
    return sa.select(sa.func.count()).select_from(newer)


def dead_letters_query(letters: sa.Table) -> sa.Select[Any]:
    return (
        sa.select(letters.c.source, letters.c.status, sa.func.count().label("count"))
        .where(letters.c.status.in_(UNRESOLVED))
        .group_by(letters.c.source, letters.c.status)
    )


def install_metrics(app: FastAPI, service: str, token: Callable[[], str | None]) -> ServiceMetrics:
    """Request metrics (observed by `shared.middleware`), `/metrics`, and the gauges every
    service has: its database pool, its event consumers (`app.state.consumers`), the events it
    parked, and the backlog of each reader of its feed (`app.state.feed_readers`: subject ->
    last position asked, kept by the feed route)."""
    metrics = ServiceMetrics(service)
    app.state.metrics = metrics
    app.state.feed_readers = {}
    app.state.consumers = []

    def gauges() -> Iterator[Metric]:
        db = getattr(app.state, "db", None)
        if db is not None:
            yield from pool_gauges(db.engine.pool)
        yield from consumer_gauges(app.state.consumers)

    async def from_database() -> None:
        db = getattr(app.state, "db", None)
        tables: EventTables | None = getattr(app.state, "event_tables", None)
        if db is None or tables is None:
            return
        async with db.sessionmaker() as session:
            for reader, position in list(app.state.feed_readers.items()):
                txid, row_id = parse_position(position)
                count = await session.scalar(outbox_backlog_query(tables.outbox, txid, row_id))
                metrics.outbox_backlog.labels(reader).set(count or 0)
            parked = await session.execute(dead_letters_query(tables.dead_letters))
            counts = {(row.source, row.status): row.count for row in parked}
        metrics.dead_letters.clear()
        sources = {source for source, _ in counts} | set(getattr(app.state, "event_sources", {}))
        for source in sorted(sources):
            for status in UNRESOLVED:
                metrics.dead_letters.labels(source, status).set(counts.get((source, status), 0))

    metrics.collect_with(gauges)
    metrics.refreshers.append(from_database)
    app.include_router(metrics_router(token))
    return metrics


def consumer_gauges(consumers: list[EventConsumer]) -> Iterator[Metric]:
    consumed = CounterMetricFamily(
        "sciplan_events_consumed", "Events read from another service's feed", labels=["source"]
    )
    failures = CounterMetricFamily(
        "sciplan_event_consumer_failures", "Polls of a feed that failed", labels=["source"]
    )
    parked = CounterMetricFamily(
        "sciplan_events_parked",
        "Events of another service's feed parked as dead letters by this process",
        labels=["source"],
    )
    lag = GaugeMetricFamily(
        "sciplan_event_consumer_lag_seconds",
        "Seconds since the consumer last read its source's feed to the end",
        labels=["source"],
    )
    now = time.monotonic()
    for consumer in consumers:
        consumed.add_metric([consumer.source], float(consumer.consumed))
        failures.add_metric([consumer.source], float(consumer.failures))
        parked.add_metric([consumer.source], float(consumer.parked))
        # Never caught up yet (just started, or failing since the start): no number to give.
        caught_up = consumer.caught_up_at
        behind = now - caught_up if caught_up is not None else float("nan")
        lag.add_metric([consumer.source], behind)
    yield consumed
    yield failures
    yield parked
    yield lag
