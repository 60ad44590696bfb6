"""The services start, and serve a person through the gateway, while other work keeps every core
of the machine busy (a loaded CI box, a laptop compiling something): the start waits for them
instead of giving up.

Only the gateway and credit start, on a database of their own: enough for an authenticated
request through the gateway, and seconds, not minutes. The busy processes end by themselves
after SPIN_SECONDS at most, or when this process goes away, and are killed at the end anyway.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from shared.testing.plugin import migrated_database
from tests.conftest import RunningStack, bearer, running_stack
from tests.e2e.helpers import admin_token, e2e_client

pytestmark = pytest.mark.e2e

SPIN_SECONDS = 120
SPIN = """
import os, sys, time
parent, end = os.getppid(), time.monotonic() + float(sys.argv[1])
while time.monotonic() < end and os.getppid() == parent:
    pass
"""


@contextmanager
def every_core_busy() -> Iterator[None]:
    spinners = [
        subprocess.Popen([sys.executable, "-c", SPIN, str(SPIN_SECONDS)])
        for _ in os.sched_getaffinity(0)
    ]
    try:
        yield
    finally:
        for spinner in spinners:
            spinner.kill()
            spinner.wait()


@pytest.fixture
def started_while_busy(postgres_server_url: str, tmp_path: Path) -> Iterator[RunningStack]:
    with (
        migrated_database(postgres_server_url, f"sciplan_busy_{os.getpid()}") as url,
        every_core_busy(),
        running_stack(url, tmp_path / "logs", services=("gateway", "credit")) as running,
    ):
        yield running  # the cores stay busy during the test too


async def test_the_services_start_while_every_core_is_busy(
    started_while_busy: RunningStack,
) -> None:
    running = started_while_busy
    async with e2e_client() as client:
        token = await admin_token(client, running)
        me = await client.get(f"{running.url}/api/credit/v1/me", headers=bearer(token))
    assert me.status_code == 200, me.text
    assert me.json()["service"] == "credit"
    assert me.json()["username"] == "admin"
