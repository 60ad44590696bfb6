"""Issuing a voucher with the credit service slow: the funds service holds no lock and no open
transaction while it waits, and other requests go through meanwhile.

Funds and credit run in-process on a database of this module's own, each on its own pool
(every request commits), as in a deployment; credit answers after 5 seconds unless the test
lets it answer earlier.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from shared.db import async_url
from shared.testing.plugin import migrated_database
from tests.funds.conftest import _funds_app
from tests.funds.vouchers.conftest import World, _world
from tests.slow_credit import SlowCredit, while_credit_thinks


@pytest.fixture(scope="module")
def own_database(postgres_server_url: str) -> Iterator[str]:
    with migrated_database(postgres_server_url, f"sciplan_slow_vouchers_{os.getpid()}") as url:
        yield url


@pytest.fixture
async def own_engine(own_database: str) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(async_url(own_database))
    yield engine
    await engine.dispose()


@pytest.fixture
async def world(
    own_database: str, gateway: FastAPI, gateway_client: httpx.AsyncClient
) -> AsyncIterator[World]:
    async with (
        _funds_app(own_database, gateway, gateway_client, None) as funds,
        _world(funds, own_database, gateway, gateway_client, None) as world,
    ):
        yield world


async def test_issuing_a_voucher_waiting_for_credit_holds_nothing(
    world: World, own_engine: AsyncEngine
) -> None:
    program = await world.program()
    await world.enterprise("enterprise")
    credit = SlowCredit(world.funds.app.state.credit_client)
    world.funds.app.state.credit_client = credit

    issued, listed = await while_credit_thinks(
        credit,
        own_engine,
        "funds",
        world.voucher(program, "enterprise", 300_000),
        lambda: world.call("GET", "/v1/vouchers", "enterprise"),
    )

    assert listed.status_code == 200, listed.text
    assert listed.json()["items"] == []
    assert issued.status_code == 201, issued.text
    assert issued.json()["available_fen"] == 300_000


async def test_a_retried_issue_is_answered_without_asking_credit_again(world: World) -> None:
    program = await world.program()
    await world.enterprise("enterprise")
    body = {"id": "0193a5c0-0000-7000-8000-00000000f00d", "amount_fen": 300_000}
    path = f"/v1/voucher-programs/{program['id']}/vouchers"
    first = await world.call("POST", path, "enterprise", json=body)
    assert first.status_code == 201, first.text
    credit = SlowCredit(world.funds.app.state.credit_client)
    credit.slow = True
    world.funds.app.state.credit_client = credit

    again = await world.call("POST", path, "enterprise", json=body)

    assert again.status_code == 200, again.text
    assert again.json()["id"] == first.json()["id"]
    assert not credit.asked.is_set()
