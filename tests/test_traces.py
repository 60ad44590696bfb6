"""Traces across the gateway, a service and the events between them, exported over OTLP.

The gateway and the credit service run in this process, each served on loopback by uvicorn with
its real lifespan, on a database of their own (the feed hands out committed events only), and
export to a collector in the test (`shared.testing.otlp_sink`). The caller sends a
`traceparent`, so the test knows which trace to look for.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
import uvicorn
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import create_async_engine

from sciplan.stack import API_SERVICES, SERVICES
from sciplan.stack import Stack as ProcessStack
from services.credit.config import CreditSettings
from services.credit.main import create_app as credit_app
from services.gateway import operations
from services.gateway.config import GatewaySettings
from services.gateway.main import create_app as gateway_app
from services.gateway.service_accounts import SERVICE_AUDIENCES
from shared.db import async_url
from shared.testing.otlp_sink import OtlpSink, ReceivedSpan, otlp_sink
from shared.testing.plugin import migrated_database
from tests.conftest import ROOMY_RATE_LIMITS, bearer, free_ports, wait_until

ADMIN_PASSWORD = "traces-admin-password"
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER_SPAN = "00f067aa0ba902b7"
TRACEPARENT = f"00-{TRACE_ID}-{CALLER_SPAN}-01"


@pytest.fixture(scope="module")
def traces_database(postgres_server_url: str) -> Iterator[tuple[str, str]]:
    """A migrated database with the admin and the credit service's account: (url, secret)."""
    with migrated_database(postgres_server_url, f"sciplan_traces_{os.getpid()}") as url:
        settings = GatewaySettings(database_url=SecretStr(url))
        secret = secrets.token_urlsafe(16)

        async def accounts() -> None:
            await operations.ensure_admin(settings, "admin", ADMIN_PASSWORD)
            audiences = list(SERVICE_AUDIENCES["credit"])
            await operations.register_client(settings, "credit", secret, audiences)

        asyncio.run(accounts())
        yield url, secret


@contextlib.asynccontextmanager
async def served(app: FastAPI, port: int) -> AsyncIterator[None]:
    """The app on 127.0.0.1:`port` with its lifespan, as `sciplan.serve` runs it."""
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="on")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    await wait_until(lambda: _started(server, task), seconds=30)
    try:
        yield
    finally:
        server.should_exit = True
        await task


async def _started(server: uvicorn.Server, task: asyncio.Task[None]) -> bool:
    if task.done():
        task.result()  # raises what stopped it
        raise AssertionError("the server stopped at start")
    return server.started


@dataclass
class Stack:
    gateway: httpx.AsyncClient
    gateway_url: str
    database_url: str

    async def admin_token(self) -> str:
        form = {"username": "admin", "password": ADMIN_PASSWORD}
        response = await self.gateway.post("/auth/token", data=form)
        assert response.status_code == 200, response.text
        token: str = response.json()["access_token"]
        return token

    async def sql(self, query: str, **params: Any) -> list[sa.Row[Any]]:
        engine = create_async_engine(async_url(self.database_url))
        try:
            async with engine.connect() as conn:
                return list((await conn.execute(sa.text(query), params)).all())
        finally:
            await engine.dispose()


@contextlib.asynccontextmanager
async def gateway_and_credit(
    database: tuple[str, str], otlp_endpoint: str | None
) -> AsyncIterator[Stack]:
    """The gateway in front of the credit service, which reads the gateway's events; tracing
    when `otlp_endpoint` is given. Both have exported everything once this exits."""
    url, secret = database
    gateway_port, credit_port, nowhere = free_ports(3)
    gateway_url = f"http://127.0.0.1:{gateway_port}"
    gateway = gateway_app(
        GatewaySettings.model_validate(
            {
                "database_url": url,
                "environment": "test",
                "cheap_password_hashing": True,
                "consume_events": False,
                "portal_url": "",
                "rate_limits": ROOMY_RATE_LIMITS,
                "credit_url": f"http://127.0.0.1:{credit_port}",
                "otlp_endpoint": otlp_endpoint,
            }
        )
    )
    credit = credit_app(
        CreditSettings.model_validate(
            {
                "database_url": url,
                "environment": "test",
                "gateway_url": gateway_url,
                "client_id": "credit",
                "client_secret": secret,
                "event_poll_seconds": 0.2,
                # Feeds nobody serves here: polled in vain, and never part of a trace.
                "projects_url": f"http://127.0.0.1:{nowhere}",
                "funds_url": f"http://127.0.0.1:{nowhere}",
                "otlp_endpoint": otlp_endpoint,
            }
        )
    )
    async with (
        served(gateway, gateway_port),
        served(credit, credit_port),
        httpx.AsyncClient(base_url=gateway_url, timeout=30) as client,
    ):
        yield Stack(gateway=client, gateway_url=gateway_url, database_url=url)


def _in_trace(sink: OtlpSink, trace_id: str) -> list[ReceivedSpan]:
    return [span for span in sink.spans if span.trace_id == trace_id]


def _one(spans: list[ReceivedSpan], service: str, kind: str, name: str) -> ReceivedSpan:
    found = [s for s in spans if (s.service, s.kind, s.name) == (service, kind, name)]
    assert len(found) == 1, f"{service} {kind} {name!r} in {[(s.service, s.name) for s in spans]}"
    return found[0]


async def test_a_request_through_the_gateway_is_one_trace_across_the_services(
    traces_database: tuple[str, str],
) -> None:
    with otlp_sink() as sink:
        async with gateway_and_credit(traces_database, sink.url) as stack:
            token = await stack.admin_token()
            response = await stack.gateway.get(
                "/api/credit/v1/me", headers=bearer(token) | {"traceparent": TRACEPARENT}
            )
            assert response.status_code == 200, response.text
        spans = _in_trace(sink, TRACE_ID)

    # The gateway joined the caller's trace, and sent its own client span's context on.
    at_gateway = _one(spans, "gateway", "server", "GET /api/{service}/{path}")
    assert at_gateway.parent_span_id == CALLER_SPAN
    assert at_gateway.attributes["url.path"] == "/api/credit/v1/me"
    forwarded = _one(spans, "gateway", "client", "GET credit")
    assert forwarded.parent_span_id == at_gateway.span_id
    assert forwarded.attributes["http.response.status_code"] == 200
    at_credit = _one(spans, "credit", "server", "GET /v1/me")
    assert at_credit.parent_span_id == forwarded.span_id
    # Service to service: credit fetched the gateway's keys to check the token, in the trace.
    asked = _one(spans, "credit", "client", "GET")
    assert asked.parent_span_id == at_credit.span_id
    keys = _one(spans, "gateway", "server", "GET /.well-known/jwks.json")
    assert keys.parent_span_id == asked.span_id
    assert not any(span.error for span in spans)


async def test_an_event_is_applied_in_the_trace_of_the_request_that_published_it(
    traces_database: tuple[str, str],
) -> None:
    with otlp_sink() as sink:
        async with gateway_and_credit(traces_database, sink.url) as stack:
            token = await stack.admin_token()
            user = await _create_user(stack, token, "traced.person")
            [event] = await stack.sql(
                "SELECT event_id, trace_context FROM gateway.outbox"
                " WHERE event_type = 'user.created' AND aggregate_id = :user",
                user=user,
            )
            await _wait_applied(stack, event.event_id)
        spans = _in_trace(sink, TRACE_ID)

    assert event.trace_context["traceparent"].split("-")[1] == TRACE_ID
    published_in = _one(spans, "gateway", "server", "POST /admin/v1/users")
    applied = _one(spans, "credit", "consumer", "apply user.created")
    assert applied.parent_span_id == published_in.span_id
    assert applied.attributes["messaging.message.id"] == str(event.event_id)
    assert applied.attributes["messaging.destination.name"] == "gateway"
    assert applied.attributes["sciplan.event.outcome"] == "applied"
    # Nobody's polls of the feeds were traced.
    assert not [span for span in sink.spans if "/internal/v1/events" in span.name]


async def test_without_an_endpoint_nothing_is_traced(
    traces_database: tuple[str, str],
) -> None:
    with otlp_sink() as sink:
        async with gateway_and_credit(traces_database, None) as stack:
            token = await stack.admin_token()
            response = await stack.gateway.get(
                "/api/credit/v1/me", headers=bearer(token) | {"traceparent": TRACEPARENT}
            )
            assert response.status_code == 200, response.text
            user = await _create_user(stack, token, "untraced.person")
            [event] = await stack.sql(
                "SELECT event_id, trace_context FROM gateway.outbox"
                " WHERE event_type = 'user.created' AND aggregate_id = :user",
                user=user,
            )
            await _wait_applied(stack, event.event_id)
        assert sink.exports == 0
    assert event.trace_context is None


async def _create_user(stack: Stack, token: str, username: str) -> str:
    response = await stack.gateway.post(
        "/admin/v1/users",
        content=json.dumps(
            {"username": username, "password": "a-long-password", "display_name": "追踪"}
        ),
        headers=bearer(token) | {"traceparent": TRACEPARENT, "Content-Type": "application/json"},
    )
    assert response.status_code == 201, response.text
    user_id: str = response.json()["id"]
    return user_id


async def _wait_applied(stack: Stack, event_id: Any) -> None:
    async def applied() -> bool:
        query = "SELECT 1 FROM credit.inbox WHERE event_id = :event"
        return bool(await stack.sql(query, event=event_id))

    await wait_until(applied, seconds=30)


def test_one_variable_sends_the_whole_stack_s_traces_to_one_collector(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SCIPLAN_OTLP_ENDPOINT", "http://127.0.0.1:4318")
    monkeypatch.setenv("SCIPLAN_CREDIT_OTLP_ENDPOINT", "http://elsewhere:4318")
    stack = ProcessStack(
        database_url="postgresql://x", client_secrets=dict.fromkeys(API_SERVICES, "")
    )
    endpoints = {s: stack.env_for(s)[f"SCIPLAN_{s.upper()}_OTLP_ENDPOINT"] for s in SERVICES}
    assert endpoints.pop("credit") == "http://elsewhere:4318"  # one service's own setting wins
    assert set(endpoints.values()) == {"http://127.0.0.1:4318"}
