"""Prometheus metrics: requests by route template and status, the database pool, the feed's
readers' backlog; `/metrics` only for the holder of the metrics token."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any, ClassVar

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.credit.config import CreditSettings
from services.credit.inbound import credit_handlers
from services.credit.main import create_app as credit_app
from services.credit.models import events
from services.gateway.config import GatewaySettings
from services.gateway.main import create_app as gateway_app
from shared.auth.roles import Role
from shared.contracts.base import EventContract
from shared.events.outbox import Event, publish
from shared.events.parking import apply_batch
from shared.ids import uuid7
from shared.testing.plugin import running_app
from tests.conftest import ROOMY_RATE_LIMITS, bearer

TOKEN = "scrape-" + "x" * 24


class HappenedV1(EventContract):
    event_type: ClassVar[str] = "test.happened"
    aggregate_type: ClassVar[str] = "test"
    aggregate_field: ClassVar[str | None] = None


def sample(text: str, name: str, **labels: str) -> float | None:
    """The value of one sample in Prometheus' text format, or None when absent."""
    wanted = ",".join(f'{key}="{value}"' for key, value in sorted(labels.items()))
    for line in text.splitlines():
        match = re.fullmatch(r"([a-z_]+)(?:\{(.*)\})? (\S+)", line)
        if match and match[1] == name:
            found = ",".join(sorted((match[2] or "").split(","))) if match[2] else ""
            if found == wanted:
                return float(match[3])
    return None


@pytest.fixture
async def credit(
    database_url: str,
    sessionmaker: async_sessionmaker[AsyncSession],
    gateway_client: httpx.AsyncClient,
) -> AsyncIterator[httpx.AsyncClient]:
    async def jwks() -> dict[str, Any]:
        document: dict[str, Any] = (await gateway_client.get("/.well-known/jwks.json")).json()
        return document

    settings = CreditSettings(
        database_url=SecretStr(database_url),
        rating_sweep_seconds=3600,
        metrics_token=SecretStr(TOKEN),
    )
    app = credit_app(settings, jwks_fetch=jwks)
    async with (
        running_app(app, sessionmaker),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://c") as client,
    ):
        yield client


async def test_metrics_need_the_metrics_token(credit: httpx.AsyncClient) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
        response = await credit.get("/metrics", headers=headers)
        assert response.status_code == 401
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["code"] == "metrics.unauthorized"


async def test_requests_are_counted_by_route_template_and_status(
    credit: httpx.AsyncClient, gateway: FastAPI
) -> None:
    issuer = gateway.state.token_issuer
    token, _ = await issuer.access_token(
        subject="someone", audience=["sciplan-credit"], roles=[Role.auditor.value], extra={}
    )
    for _ in range(3):
        assert (await credit.get("/healthz")).status_code == 200
    missing = "/v1/subjects/0193a5c0-0000-7000-8000-0000000000aa/rating"
    assert (await credit.get(missing, headers=bearer(token))).status_code == 404
    assert (await credit.get("/no/such/path")).status_code == 404

    text = (await credit.get("/metrics", headers=bearer(TOKEN))).text

    total = "sciplan_http_requests_total"
    assert sample(text, total, method="GET", route="/healthz", status="200") == 3.0
    rating = "/v1/subjects/{subject_id}/rating"
    assert sample(text, total, method="GET", route=rating, status="404") == 1.0
    # Unknown paths share one label: a scanner cannot blow up the number of series.
    assert sample(text, total, method="GET", route="unmatched", status="404") == 1.0
    assert "0193a5c0" not in text
    count = "sciplan_http_request_duration_seconds_count"
    assert sample(text, count, method="GET", route="/healthz") == 3.0
    assert sample(text, "sciplan_db_pool_size") == 10.0
    assert sample(text, "sciplan_db_pool_checked_out") is not None


async def test_the_feed_backlog_of_each_reader_is_reported(
    credit: httpx.AsyncClient, gateway: FastAPI, session: AsyncSession
) -> None:
    for n in range(2):
        await publish(session, events, HappenedV1(), aggregate_id=str(n))
    await session.commit()
    outbox = events.outbox
    held = await session.scalar(sa.select(sa.func.count()).select_from(outbox))
    last = (
        await session.execute(
            sa.select(outbox.c.txid, outbox.c.id).order_by(outbox.c.txid.desc(), outbox.c.id.desc())
        )
    ).first()
    assert held is not None
    assert held >= 2
    assert last is not None
    issuer = gateway.state.token_issuer
    token, _ = await issuer.access_token(
        subject="svc:funds", audience=["sciplan-credit"], roles=[Role.service.value], extra={}
    )

    async def backlog_after(position: str) -> float | None:
        asked = await credit.get(
            "/internal/v1/events", params={"after": position}, headers=bearer(token)
        )
        assert asked.status_code == 200
        text = (await credit.get("/metrics", headers=bearer(TOKEN))).text
        return sample(text, "sciplan_outbox_backlog_events", consumer="svc:funds")

    # A reader at the start is behind by every event; one at the newest is behind by none.
    assert await backlog_after("") == held
    assert await backlog_after(f"{last.txid}:{last.id}") == 0.0


async def test_the_gateway_serves_metrics_for_the_static_token(
    database_url: str, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    settings = GatewaySettings.model_validate(
        {
            "database_url": database_url,
            "environment": "test",
            "consume_events": False,
            "rate_limits": ROOMY_RATE_LIMITS,
            "metrics_token": TOKEN,
        }
    )
    async with running_app(gateway_app(settings), sessionmaker) as app:
        transport = httpx.ASGITransport(app=app, client=("10.1.2.3", 5000))
        async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
            assert (await client.get("/healthz")).status_code == 200
            assert (await client.get("/metrics")).status_code == 401
            # Not a JWT: the gateway's guard leaves /metrics to its own check.
            text = (await client.get("/metrics", headers=bearer(TOKEN))).text
    total = "sciplan_http_requests_total"
    assert sample(text, total, method="GET", route="/healthz", status="200") == 1.0
    assert sample(text, total, method="GET", route="/metrics", status="401") == 1.0


async def test_events_credit_parked_are_counted_by_source_and_status(
    credit: httpx.AsyncClient, session: AsyncSession
) -> None:
    project = str(uuid7())
    garbled = [
        Event(
            event_id=uuid7(),
            event_type="project.terminated",
            aggregate_type="project",
            aggregate_id=project,
            payload={"project_id": project},
            occurred_at=datetime(2026, 5, 6, tzinfo=UTC),
            position=f"9:{n}",
        )
        for n in range(2)
    ]
    handlers = credit_handlers(CreditSettings())
    await apply_batch(session, events, source="projects", handlers=handlers, events=garbled)
    await session.commit()

    text = (await credit.get("/metrics", headers=bearer(TOKEN))).text
    parked = "sciplan_event_dead_letters"
    assert sample(text, parked, source="projects", status="failed") == 1.0
    assert sample(text, parked, source="projects", status="waiting") == 1.0
    assert sample(text, parked, source="funds", status="failed") == 0.0
