"""PostgreSQL stops for a few seconds under the running product: every service answers 503
problem+json at once instead of hanging, readiness says so, and all recover by themselves.

The stack runs on a PostgreSQL server of its own, so stopping it leaves other tests alone.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from sciplan.stack import SERVICES
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
    for service in SERVICES:
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

        outage.server.stop()

        for service in SERVICES:
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
