"""Traces (OpenTelemetry) across the gateway, the services and the events between them.

A process traces when its settings name an OTLP/HTTP collector (`<prefix>OTLP_ENDPOINT`).
Then FastAPI's own telemetry makes a server span for each request, in the trace the caller's
`traceparent` names; the outgoing HTTP calls (`shared/http.py`, and the gateway's forwarding
in `services/gateway/proxy/upstream.py`) make client spans and pass the context on; a published
event keeps the context in its outbox row, and the consumer applies it in a span of that same
trace. Without an endpoint nothing is set up: FastAPI sees no provider
and skips its telemetry, and the rest checks for an active span and finds none.

The SDK and the exporter are imported only when a process traces (they take about half a
second to import).
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Mapping, MutableMapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import aiohttp
from fastapi.telemetry import TelemetryConfig
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Span, SpanKind, StatusCode, Tracer
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from shared.contracts.feed import EventV1, EventV2
from shared.settings import ServiceSettings

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider

# Where a caller's trace context arrives. Only W3C Trace Context is read and written (not the
# process-wide propagators): baggage from the public is never passed on.
TRACE_HEADERS = frozenset({"traceparent", "tracestate", "baggage"})
_PROPAGATOR = TraceContextTextMapPropagator()
# Probes, scrapes and the event feeds' polls, each several times a second: not worth a trace.
UNTRACED_PATHS = frozenset({"/healthz", "/readyz", "/metrics", "/internal/v1/events"})


@dataclass
class Tracing:
    """One process's traces: the provider that FastAPI's server spans and ours share, and
    where its spans are exported (a batch at a time, from a thread of the SDK)."""

    provider: TracerProvider
    endpoint: str

    def tracer(self, name: str) -> Tracer:
        return self.provider.get_tracer(name)

    def start(self) -> None:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        exporter = OTLPSpanExporter(endpoint=f"{self.endpoint}/v1/traces")
        self.provider.add_span_processor(BatchSpanProcessor(exporter))

    async def stop(self) -> None:
        """Exports what is left, off the event loop (it blocks on the collector)."""
        await asyncio.to_thread(self.provider.shutdown)


def tracing_for(settings: ServiceSettings, *, edge: bool = False) -> Tracing | None:
    """The process's tracing, None unless an OTLP endpoint is configured. At the `edge` (the
    gateway, which the public calls) a caller's trace may be joined but never decides what is
    kept: the sample ratio does; behind it, a service keeps what its caller kept."""
    if settings.otlp_endpoint is None:
        return None
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

    ratio = TraceIdRatioBased(settings.trace_sample_ratio)
    sampler = (
        ParentBased(ratio, remote_parent_sampled=ratio, remote_parent_not_sampled=ratio)
        if edge
        else ParentBased(ratio)
    )
    resource = Resource.create(
        {
            "service.name": settings.service_name,
            "service.namespace": "sciplan",
            "service.instance.id": f"{socket.gethostname()}:{os.getpid()}",
            "deployment.environment.name": settings.environment,
        }
    )
    provider = TracerProvider(sampler=sampler, resource=resource, shutdown_on_exit=False)
    return Tracing(provider=provider, endpoint=settings.otlp_endpoint)


def _untraced(scope: MutableMapping[str, Any]) -> bool:
    return scope.get("path") in UNTRACED_PATHS


def telemetry(tracing: Tracing | None) -> TelemetryConfig:
    """`FastAPI(telemetry=...)`: server spans from this process's provider, or nothing at all.

    FastAPI's request metrics and logs stay off: Prometheus counts requests
    (`shared/metrics.py`) and the JSON log records failures. Its spans for each dependency,
    endpoint and serialization stay off too: they would triple the spans of every request."""
    return {
        "tracer_provider": tracing.provider if tracing is not None else None,
        "tracing": tracing is not None,
        "metrics": False,
        "logs": False,
        "operation_spans": False,
        "auto_configure": False,
        "exclude": _untraced,
    }


def _in_a_trace() -> bool:
    return trace.get_current_span().get_span_context().is_valid


def current_trace_context() -> dict[str, str] | None:
    """The current span's W3C context (`traceparent`, `tracestate`); None outside a trace."""
    if not _in_a_trace():
        return None
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier)
    return carrier


def inject_trace_context(headers: MutableMapping[str, str]) -> None:
    """Adds the current trace context to outgoing headers (nothing outside a trace)."""
    if _in_a_trace():
        _PROPAGATOR.inject(headers)


def start_client_span(
    tracer: Tracer, method: str, *, host: str, port: int, url: str, peer: str | None
) -> tuple[Span, dict[str, str]] | None:
    """A client span for a call made within a trace, and the headers that pass its context on;
    None outside a trace (the feeds' polls, token refreshes at start). `url` without its query;
    `peer` names what the call reaches ("credit")."""
    if not _in_a_trace():
        return None
    attributes: dict[str, Any] = {
        "http.request.method": method,
        "server.address": host,
        "server.port": port,
        "url.full": url,
    }
    if peer:
        attributes["peer.service"] = peer
    span = tracer.start_span(
        f"{method} {peer}" if peer else method, kind=SpanKind.CLIENT, attributes=attributes
    )
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier, context=trace.set_span_in_context(span))
    return span, carrier


def end_client_span(span: Span, status: int) -> None:
    span.set_attribute("http.response.status_code", status)
    if status >= 500:
        span.set_attribute("error.type", str(status))
        span.set_status(StatusCode.ERROR)
    span.end()


def fail_client_span(span: Span, exception: BaseException) -> None:
    span.set_attribute("error.type", type(exception).__qualname__)
    span.set_status(StatusCode.ERROR)
    span.end()


def client_tracing(tracer: Tracer) -> aiohttp.TraceConfig:
    """Client spans for an aiohttp session's calls made within a trace, their context sent
    along. A call may name what it reaches: `trace_request_ctx={"peer": "credit"}`."""

    async def started(
        session: aiohttp.ClientSession,
        context: SimpleNamespace,
        params: aiohttp.TraceRequestStartParams,
    ) -> None:
        url = params.url
        context.span = None
        traced = start_client_span(
            tracer,
            params.method,
            host=url.host or "",
            port=url.port or 0,
            url=str(url.with_query(None)),
            peer=(context.trace_request_ctx or {}).get("peer"),
        )
        if traced is not None:
            context.span, carrier = traced
            params.headers.update(carrier)

    async def ended(
        session: aiohttp.ClientSession,
        context: SimpleNamespace,
        params: aiohttp.TraceRequestEndParams,
    ) -> None:
        if context.span is not None:
            end_client_span(context.span, params.response.status)

    async def failed(
        session: aiohttp.ClientSession,
        context: SimpleNamespace,
        params: aiohttp.TraceRequestExceptionParams,
    ) -> None:
        if context.span is not None:
            fail_client_span(context.span, params.exception)

    config = aiohttp.TraceConfig()
    config.on_request_start.append(started)
    config.on_request_end.append(ended)
    config.on_request_exception.append(failed)
    return config


def _producer_context(event: EventV1) -> Context:
    carrier: Mapping[str, str] | None = event.trace_context if isinstance(event, EventV2) else None
    # Without the producer's context the event starts a trace of its own, never the
    # context of whatever runs the consumer.
    return _PROPAGATOR.extract(carrier) if carrier else Context()


def applying(
    tracer: Tracer | None, source: str, event: EventV1
) -> AbstractContextManager[Span | None]:
    """The span of applying one event from `source`'s feed, in the trace it was published in
    (a nullcontext without a tracer)."""
    if tracer is None:
        return nullcontext()
    return tracer.start_as_current_span(
        f"apply {event.event_type}",
        context=_producer_context(event),
        kind=SpanKind.CONSUMER,
        attributes={
            "messaging.system": "sciplan.outbox",
            "messaging.operation.type": "process",
            "messaging.destination.name": source,
            "messaging.message.id": str(event.event_id),
            "sciplan.event.type": event.event_type,
            "sciplan.aggregate": f"{event.aggregate_type}:{event.aggregate_id}",
        },
    )


def record_outcome(span: Span | None, outcome: str, error: str | None) -> None:
    """What became of the event (`applied`, `duplicate`, `failed` and parked, ...)."""
    if span is None:
        return
    span.set_attribute("sciplan.event.outcome", outcome)
    if error is not None:
        span.set_status(StatusCode.ERROR, error[:200])
