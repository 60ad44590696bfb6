"""The public's one write without an account: a real-name objection to a project in its public
notice passes the gateway anonymously, on a small allowance per client address; every other
anonymous write still needs a login."""

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

OBJECTION = {"name": "赵敏", "contact": "13931012233", "reasons": "申报材料与事实不符。"}


async def _accepted(request: web.Request) -> web.Response:
    return web.json_response({"path": request.path}, status=201)


@pytest.fixture
async def projects_url() -> AsyncIterator[str]:
    """A stand-in projects service that takes whatever reaches it."""
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", _accepted)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


async def test_objections_pass_without_login_a_few_per_address(
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
            "public_objection_per_address": {"per_hour": 2, "burst": 2},
        }
    )
    project = uuid.uuid4()
    path = f"/api/projects/v1/public/projects/{project}/objections"
    subnet = f"10.252.{uuid.uuid4().int % 250}"
    async with running_app(gateway_app(settings), sessionmaker) as app:

        def client(peer: str) -> httpx.AsyncClient:
            transport = httpx.ASGITransport(app=app, client=(peer, 1))
            return httpx.AsyncClient(transport=transport, base_url="http://gateway")

        async with client(f"{subnet}.7") as public, client(f"{subnet}.8") as neighbour:
            answers = [await public.post(path, json=OBJECTION) for _ in range(3)]
            assert [a.status_code for a in answers] == [201, 201, 429]
            assert answers[0].json()["path"] == f"/v1/public/projects/{project}/objections"
            assert answers[-1].json()["code"] == "objection.throttled"
            assert int(answers[-1].headers["Retry-After"]) > 60  # an hourly allowance
            # Another address has its own allowance, and reading is not counted against it.
            assert (await neighbour.post(path, json=OBJECTION)).status_code == 201
            assert (await public.get(path)).status_code == 201

            # Every other anonymous write still needs a login, the objection on the account's
            # route included, and so does anything that only looks like the public one.
            for method, other in (
                ("POST", f"/api/projects/v1/projects/{project}/objections"),
                ("POST", "/api/projects/v1/public/projects/2026-ZDYF-0001/objections"),
                ("POST", f"/api/projects/v1/public/projects/{project}/objections/x"),
                ("PUT", path),
                ("DELETE", path),
            ):
                refused = await neighbour.request(method, other, json=OBJECTION)
                assert refused.status_code == 401, (method, other)
