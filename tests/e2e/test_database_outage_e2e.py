"""PostgreSQL stops for a few seconds under the running product: every service answers 503
problem+json at once instead of hanging, readiness says so, and all recover by themselves.

The stack runs on a PostgreSQL server of its own, so stopping it leaves other tests alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from shared.devdb import EmbeddedPostgres
from shared.testing.plugin import migrated_database
from tests.conftest import RunningStack, bearer, running_stack, wait_until
from tests.e2e.helpers import admin_token, e2e_client

# Short on purpose: a request that hangs on the dead database fails the test instead of waiting.
PATIENCE = httpx.Timeout(10.0)


def _problem(response: httpx.Response, status: int) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")


async def _all_ready(client: httpx.AsyncClient, running: RunningStack) -> bool:
    for service in running.stack.services:
        try:
            reply = await client.get(f"{running.stack.url(service)}/readyz")
        except httpx.HTTPError:
            return False
        if reply.status_code != 200:
            return False
    return True


@dataclass
class Outage:
    server: EmbeddedPostgres
    running: RunningStack


@pytest.fixture
def outage(tmp_path: Path) -> Iterator[Outage]:
    # Unix socket paths are short (107 bytes): keep the data directory near the root.
    embedded = EmbeddedPostgres(Path(f"/tmp/sciplan-outage-{os.getpid()}"))
    server = embedded.start()
    try:
        with (
            migrated_database(server, "sciplan_outage") as url,
            running_stack(url, tmp_path / "logs") as running,
        ):
            yield Outage(server=embedded, running=running)
    finally:
        embedded.stop()


async def test_a_database_outage_gives_quick_503s_and_heals_by_itself(outage: Outage) -> None:
    running = outage.running
    async with e2e_client() as client:
        client.timeout = PATIENCE
        token = await admin_token(client, running)
        rules = f"{running.url}/api/credit/v1/rules"
        assert (await client.get(rules, headers=bearer(token))).status_code == 200

        # Requests keep coming while PostgreSQL shuts down (fast): each one answers, and none
        # with a 500 (the gateway's rate limiter once raised "cannot switch to state 12").
        statuses: list[int] = []
        stopping = asyncio.Event()

        async def keep_asking() -> None:
            while not stopping.is_set():
                for url in (rules, f"{running.url}/admin/v1/users"):
                    with contextlib.suppress(httpx.TransportError):
                        statuses.append((await client.get(url, headers=bearer(token))).status_code)

        traffic = asyncio.create_task(keep_asking())
        await asyncio.sleep(0.3)
        await asyncio.to_thread(outage.server.stop)
        await asyncio.sleep(1)
        stopping.set()
        await traffic
        assert statuses
        assert set(statuses) <= {200, 503}, statuses

        for service in running.stack.services:
            _problem(await client.get(f"{running.stack.url(service)}/readyz"), 503)
        # Through the gateway: the token still verifies (keys are cached), the service's
        # database is gone.
        down = await client.get(rules, headers=bearer(token))
        _problem(down, 503)
        assert down.json()["code"] == "service.unavailable"
        login = await client.post(
            f"{running.url}/auth/token",
            data={"username": "admin", "password": running.admin_password},
        )
        _problem(login, 503)

        outage.server.start()

        await wait_until(lambda: _all_ready(client, running), seconds=30)
        assert (await client.get(rules, headers=bearer(token))).status_code == 200
        assert await admin_token(client, running)
