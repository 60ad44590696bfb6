"""The pieces of tracing each process shares: the setting, outgoing calls, the log line."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from pydantic import ValidationError

from services.credit.config import CreditSettings
from shared.http import client_session
from shared.logging import JsonFormatter
from shared.tracing import tracing_for


def test_an_empty_endpoint_leaves_tracing_off_and_a_bad_one_is_refused() -> None:
    assert tracing_for(CreditSettings(otlp_endpoint="")) is None
    assert tracing_for(CreditSettings()) is None
    on = tracing_for(CreditSettings(otlp_endpoint="http://jaeger:4318/"))
    assert on is not None
    assert on.endpoint == "http://jaeger:4318"
    assert on.provider.resource.attributes["service.name"] == "credit"
    with pytest.raises(ValidationError, match="otlp_endpoint"):
        CreditSettings(otlp_endpoint="jaeger:4318")
    with pytest.raises(ValidationError):
        CreditSettings(trace_sample_ratio=1.5)


@pytest.fixture
async def echo() -> AsyncIterator[str]:
    async def headers(request: web.Request) -> web.Response:
        return web.json_response({k.lower(): v for k, v in request.headers.items()})

    app = web.Application()
    app.router.add_get("/", headers)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}/"
    finally:
        await runner.cleanup()


async def test_calls_within_a_trace_pass_it_on_and_calls_outside_pass_nothing(echo: str) -> None:
    exported = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exported))
    tracer = provider.get_tracer("test")
    session = client_session(5, tracer=tracer)
    try:
        async with session.get(echo) as response:
            outside = await response.json()
        with tracer.start_as_current_span("request") as request_span:
            async with session.get(echo, trace_request_ctx={"peer": "echo"}) as response:
                inside = await response.json()
    finally:
        await session.close()

    assert "traceparent" not in outside
    request, call = sorted(exported.get_finished_spans(), key=lambda span: span.name != "request")
    assert (call.name, call.kind) == ("GET echo", SpanKind.CLIENT)
    assert call.parent is not None
    assert call.parent.span_id == request.context.span_id
    trace_id = format(request_span.get_span_context().trace_id, "032x")
    _version, sent_trace, parent, flags = inside["traceparent"].split("-")
    assert (sent_trace, parent) == (trace_id, f"{call.context.span_id:016x}")
    assert int(flags, 16) & 1  # sampled


def test_a_log_line_within_a_trace_names_it() -> None:
    provider = TracerProvider()
    formatter = JsonFormatter("credit")
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "hello", (), None)
    assert "trace_id" not in json.loads(formatter.format(record))
    with provider.get_tracer("test").start_as_current_span("request") as span:
        line = json.loads(formatter.format(record))
    assert line["trace_id"] == format(span.get_span_context().trace_id, "032x")
