"""Events between real processes: the directory of every service follows the gateway, and no
event is lost or applied twice when the consumer or the producer is killed mid-stream."""

from __future__ import annotations

import asyncio

import pytest

from tests.conftest import RunningStack, wait_until
from tests.e2e.helpers import admin_token, create_user, e2e_client, scalar

pytestmark = pytest.mark.e2e

USERS = 30


async def _count(stack: RunningStack, sql: str) -> int:
    return int(await scalar(stack, sql))


async def test_killed_consumer_and_producer_lose_nothing_and_repeat_nothing(
    stack: RunningStack,
) -> None:
    async with e2e_client() as client:
        admin = await admin_token(client, stack)
        created: list[str] = []

        async def make(prefix: str, count: int) -> None:
            for i in range(count):
                user = await create_user(client, stack, admin, f"{prefix}{i}", ["applicant"])
                created.append(user["id"])

        # The consumer (credit) dies by SIGKILL while users are being created.
        maker = asyncio.create_task(make("kill.consumer.", USERS))
        await asyncio.sleep(0.3)
        stack.stack.kill("credit")
        await maker
        stack.stack.restart("credit")

        # The producer (gateway) dies by SIGKILL between two batches; every user whose
        # creation was answered with 201 must still reach every service.
        await make("kill.producer.", USERS // 2)
        stack.stack.kill("gateway")
        stack.stack.restart("gateway")
        admin = await admin_token(client, stack)
        await make("after.restart.", USERS // 2)

    ids = "', '".join(created)
    for schema in ("projects", "credit", "funds", "notify"):

        async def caught_up(schema: str = schema) -> bool:
            known = await _count(
                stack, f"SELECT count(*) FROM {schema}.directory_users WHERE id IN ('{ids}')"
            )
            return known == len(created)

        await wait_until(caught_up, seconds=30)

        # Every gateway event reached the inbox (whose primary key admits each id once):
        # none lost, none applied twice.
        async def all_received(schema: str = schema) -> bool:
            missing = await _count(
                stack,
                f"SELECT count(*) FROM gateway.outbox o LEFT JOIN {schema}.inbox i "
                "ON i.event_id = o.event_id WHERE i.event_id IS NULL",
            )
            return missing == 0

        await wait_until(all_received, seconds=30)
        assert await _count(
            stack, f"SELECT count(*) FROM {schema}.inbox WHERE source = 'gateway'"
        ) == await _count(stack, "SELECT count(*) FROM gateway.outbox")
