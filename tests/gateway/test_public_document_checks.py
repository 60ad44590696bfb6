"""Checking a copy of an issued document is a public write: it passes the gateway without a
login, on an allowance of its own per client address; nothing else under it does."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.gateway.config import GatewaySettings
from services.gateway.main import create_app as gateway_app
from shared.testing.plugin import running_app
from tests.conftest import ROOMY_RATE_LIMITS

PATH = "/api/projects/v1/public/documents/verification"
PDF = {"Content-Type": "application/pdf"}


async def _answered(request: web.Request) -> web.Response:
    return web.json_response({"path": request.path, "bytes": len(await request.read())})


@pytest.fixture
async def projects_url() -> AsyncIterator[str]:
    """A stand-in projects service that answers whatever reaches it."""
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", _answered)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


async def test_copies_are_checked_without_login_on_an_allowance_per_address(
    database_url: str, sessionmaker: async_sessionmaker[AsyncSession], projects_url: str
) -> None:
    settings = GatewaySettings.model_validate(
        {
            "database_url": database_url,
            "environment": "test",
            "consume_events": False,
            "portal_url": "",
            "projects_url": projects_url,
            "rate_limits": ROOMY_RATE_LIMITS,
            "public_document_check_per_address": {"per_minute": 2, "burst": 2},
        }
    )
    subnet = f"10.251.{uuid.uuid4().int % 250}"
    async with running_app(gateway_app(settings), sessionmaker) as app:

        def client(peer: str) -> httpx.AsyncClient:
            transport = httpx.ASGITransport(app=app, client=(peer, 1))
            return httpx.AsyncClient(transport=transport, base_url="http://gateway")

        async with client(f"{subnet}.7") as public, client(f"{subnet}.8") as neighbour:
            answers = [await public.post(PATH, content=b"%PDF-1.3", headers=PDF) for _ in range(3)]
            assert [a.status_code for a in answers] == [200, 200, 429]
            assert answers[0].json() == {"path": "/v1/public/documents/verification", "bytes": 8}
            assert answers[-1].json()["code"] == "document.verification_throttled"
            assert (await neighbour.post(PATH, content=b"%PDF", headers=PDF)).status_code == 200
            # Checking by hash is a read: not counted against the allowance.
            assert (await public.get(PATH, params={"sha256": "0" * 64})).status_code == 200
            # Nothing else about documents is written anonymously.
            for other in (f"{PATH}/x", "/api/projects/v1/projects/x/documents"):
                assert (
                    await neighbour.post(other, content=b"%PDF", headers=PDF)
                ).status_code == 401
