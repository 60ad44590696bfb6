"""Rate limits hold across several gateway processes: the buckets live in PostgreSQL."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator

import pytest

from sciplan.stack import Stack
from tests.conftest import RunningStack, bearer, free_ports
from tests.e2e.helpers import admin_token, create_user, e2e_client

pytestmark = pytest.mark.e2e

BURST = 5
TIGHT = {
    "api": {
        "user": {"per_minute": 30, "burst": BURST},
        "address": {"per_minute": 6000, "burst": 1000},
    }
}


@pytest.fixture
def two_gateways(stack: RunningStack) -> Iterator[list[str]]:
    """Two more gateway processes on the same database, with tight per-user limits."""
    ports = free_ports(2)
    processes = []
    try:
        for port in ports:
            env = stack.stack.env_for("gateway") | {
                "SCIPLAN_GATEWAY_PORT": str(port),
                "SCIPLAN_GATEWAY_RATE_LIMITS": json.dumps(TIGHT),
                "SCIPLAN_GATEWAY_LOG_LEVEL": "WARNING",
            }
            processes.append(
                subprocess.Popen([sys.executable, "-m", "sciplan.serve", "gateway"], env=env)
            )
        extra = Stack(database_url=stack.stack.database_url, ports={"gateway": ports[0]})
        extra.wait_ready(("gateway",))
        extra.ports["gateway"] = ports[1]
        extra.wait_ready(("gateway",))
        yield [f"http://127.0.0.1:{port}" for port in ports]
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=10)


async def test_a_user_limit_is_shared_by_every_gateway_process(
    stack: RunningStack, two_gateways: list[str]
) -> None:
    async with e2e_client() as client:
        admin = await admin_token(client, stack)
        await create_user(client, stack, admin, "rate.limited", ["applicant"])
        login = await client.post(
            f"{stack.url}/auth/token",
            data={"username": "rate.limited", "password": "e2e-user-password"},
        )
        headers = bearer(login.json()["access_token"])
        statuses = []
        refusals = []
        for i in range(4 * BURST):
            response = await client.get(
                f"{two_gateways[i % 2]}/api/credit/healthz", headers=headers
            )
            statuses.append(response.status_code)
            if response.status_code == 429:
                refusals.append(response)
    allowed = statuses.count(200)
    # One process alone would let BURST through; two independent ones twice that. Shared
    # buckets let BURST through, plus what refills (0.5 per second) while the test runs.
    assert BURST <= allowed <= BURST + 2, statuses
    assert set(statuses) == {200, 429}
    refusal = refusals[0]
    assert refusal.headers["content-type"] == "application/problem+json"
    assert refusal.json()["code"] == "rate_limited"
    assert int(refusal.headers["Retry-After"]) >= 1
